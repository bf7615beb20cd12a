from __future__ import annotations

from django.urls import path

from opencem.customers import views

urlpatterns = [
    path("", views.home, name="home"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path("interactions/export.csv", views.interaction_export, name="interaction_export"),
]
