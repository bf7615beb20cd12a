from __future__ import annotations

from django.urls import path

from opencem.surveys import views_distribution

app_name = "surveys"

urlpatterns = [
    path("unsubscribe/<str:token>/", views_distribution.unsubscribe, name="unsubscribe"),
]
