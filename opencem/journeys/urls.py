"""The journey pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.journeys import views

urlpatterns: list[URLPattern] = [
    path("journeys/", views.journey_list, name="journey_list"),
    path("journeys/new/", views.journey_create, name="journey_create"),
    path("journeys/import/", views.journey_import, name="journey_import"),
    path("journeys/<int:journey_id>/", views.journey_map, name="journey_map"),
    path("journeys/<int:journey_id>/export.json", views.journey_json, name="journey_json"),
    path("journeys/<int:journey_id>/paths/", views.journey_paths, name="journey_paths"),
    path("journeys/<int:journey_id>/design/", views.journey_design, name="journey_design"),
    path("journeys/<int:journey_id>/design/rename/", views.journey_rename,
         name="journey_rename"),
    path("journeys/<int:journey_id>/stages/", views.stage_add, name="journey_stage_add"),
    path("journeys/stages/<int:stage_id>/rename/", views.stage_rename,
         name="journey_stage_rename"),
    path("journeys/stages/<int:stage_id>/move/", views.stage_move, name="journey_stage_move"),
    path("journeys/stages/<int:stage_id>/delete/", views.stage_delete,
         name="journey_stage_delete"),
    path("journeys/stages/<int:stage_id>/touchpoints/", views.touchpoint_add,
         name="journey_touchpoint_add"),
    path("journeys/touchpoints/<int:touchpoint_id>/", views.touchpoint_edit,
         name="journey_touchpoint_edit"),
    path("journeys/touchpoints/<int:touchpoint_id>/move/", views.touchpoint_move,
         name="journey_touchpoint_move"),
    path("journeys/touchpoints/<int:touchpoint_id>/delete/", views.touchpoint_delete,
         name="journey_touchpoint_delete"),
]
