"""Closed-loop pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.closedloop import views

urlpatterns: list[URLPattern] = [
    path("cases/", views.case_inbox, name="case_inbox"),
    path("cases/reports/", views.reports, name="case_reports"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/status", views.case_status, name="case_status"),
    path("cases/<int:case_id>/notes", views.case_note, name="case_note"),
    path("cases/<int:case_id>/messages", views.case_message, name="case_message"),
    path("cases/<int:case_id>/take", views.case_take, name="case_take"),
    path("alerts/rules/", views.rule_list, name="alert_rule_list"),
    path("alerts/rules/new/", views.rule_create, name="alert_rule_create"),
    path("alerts/rules/preview", views.rule_preview, name="alert_rule_preview"),
    path("alerts/rules/<int:rule_id>/", views.rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:rule_id>/delete", views.rule_delete, name="alert_rule_delete"),
    path("customers/<int:customer_id>/card/", views.customer_card, name="customer_card"),
]
