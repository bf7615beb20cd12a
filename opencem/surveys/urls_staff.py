"""The staff pages of the surveys app: distribution, contact rules and responses."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.surveys import views_distribution, views_responses

urlpatterns: list[URLPattern] = [
    path("surveys/<int:survey_id>/distribution/", views_distribution.survey_distribution,
         name="survey_distribution"),
    path("surveys/<int:survey_id>/distribution/triggers/", views_distribution.trigger_create,
         name="trigger_create"),
    path("surveys/<int:survey_id>/distribution/send/", views_distribution.invitations_send,
         name="invitations_send"),
    path("surveys/<int:survey_id>/distribution/personal-links.csv",
         views_distribution.personal_links, name="personal_links"),
    path("surveys/triggers/<int:trigger_id>/", views_distribution.trigger_edit,
         name="trigger_edit"),
    path("surveys/triggers/<int:trigger_id>/delete/", views_distribution.trigger_delete,
         name="trigger_delete"),
    path("settings/contact-rules/", views_distribution.contact_rule_list,
         name="contact_rule_list"),
    path("settings/contact-rules/<int:rule_id>/", views_distribution.contact_rule_edit,
         name="contact_rule_edit"),
    path("settings/contact-rules/<int:rule_id>/delete/", views_distribution.contact_rule_delete,
         name="contact_rule_delete"),
    path("responses/", views_responses.response_list, name="response_list"),
    path("responses/export.csv", views_responses.response_export, name="response_export"),
]
