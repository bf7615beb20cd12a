"""Webhook pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.integrations import views

urlpatterns: list[URLPattern] = [
    path("integrations/webhooks/", views.endpoint_list, name="webhook_list"),
    path("integrations/webhooks/<int:endpoint_id>/", views.endpoint_detail,
         name="webhook_detail"),
    path("integrations/webhooks/<int:endpoint_id>/rotate", views.endpoint_rotate,
         name="webhook_rotate"),
    path("integrations/webhooks/<int:endpoint_id>/delete", views.endpoint_delete,
         name="webhook_delete"),
    path("integrations/deliveries/<int:delivery_id>/redeliver", views.redeliver,
         name="webhook_redeliver"),
]
