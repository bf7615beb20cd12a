from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from opencem.accounts.views import RateLimitedLoginView, RateLimitedPasswordResetView
from opencem.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("login/", RateLimitedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("", include("opencem.core.urls")),
    path("", include("opencem.accounts.urls")),
    path("", include("opencem.customers.urls")),
    path("", include("opencem.surveys.urls_builder")),
    path("", include("opencem.surveys.urls_distribution")),
    path("", include("opencem.surveys.urls_staff")),
    path("", include("opencem.feedback.urls")),
    path("", include("opencem.textanalytics.urls")),
    path("", include("opencem.dashboards.urls")),
    path("", include("opencem.journeys.urls")),
    path("", include("opencem.closedloop.urls")),
    path("", include("opencem.integrations.urls")),
    path("", include("opencem.surveys.urls_public")),
]
