"""The settings pages: your API keys, and for administrators the units and users."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.accounts import views

urlpatterns: list[URLPattern] = [
    path("settings/api-keys/", views.apikey_list, name="apikey_list"),
    path("settings/api-keys/<int:key_id>/revoke/", views.apikey_revoke, name="apikey_revoke"),
    path("settings/units/", views.unit_list, name="unit_list"),
    path("settings/units/<int:unit_id>/", views.unit_edit, name="unit_edit"),
    path("settings/users/", views.user_list, name="user_list"),
    path("settings/users/<int:user_id>/", views.user_detail, name="user_detail"),
    path("settings/users/<int:user_id>/active/", views.user_set_active, name="user_set_active"),
    path("settings/users/<int:user_id>/memberships/<int:membership_id>/revoke/",
         views.membership_revoke, name="membership_revoke"),
]
