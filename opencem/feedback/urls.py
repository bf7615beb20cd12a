"""The feedback stream page and its export."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.feedback import views

urlpatterns: list[URLPattern] = [
    path("feedback/", views.feedback_list, name="feedback_list"),
    path("feedback/export.csv", views.feedback_export, name="feedback_export"),
]
