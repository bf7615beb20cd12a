from __future__ import annotations

from django.urls import URLPattern, path

from opencem.textanalytics import views

urlpatterns: list[URLPattern] = [
    path("text/", views.text_explorer, name="text_explorer"),
    path("text/insight/", views.insight, name="text_insight"),
    path("text/taxonomy/", views.taxonomy, name="text_taxonomy"),
    path("text/taxonomy/categories/", views.category_new, name="text_category_new"),
    path("text/taxonomy/themes/", views.theme_new, name="text_theme_new"),
    path("text/taxonomy/themes/<int:theme_id>/", views.theme_edit, name="text_theme_edit"),
    path("text/reanalyze/", views.reanalyze, name="text_reanalyze"),
    path("text/proposals/discover/", views.proposals_discover, name="text_discover"),
    path("text/proposals/<int:proposal_id>/", views.proposal_decide, name="text_proposal"),
]
