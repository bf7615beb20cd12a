"""The survey builder's pages, under ``/surveys/``; they need a signed-in member of staff."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.surveys import views_builder, views_builder_questions, views_preview

urlpatterns: list[URLPattern] = [
    path("surveys/", views_builder.survey_list, name="survey_list"),
    path("surveys/new/", views_builder.survey_new, name="survey_new"),
    path("surveys/import/", views_builder.survey_import, name="survey_import"),
    path("surveys/<int:survey_id>/", views_builder.survey_builder, name="survey_builder"),
    path("surveys/<int:survey_id>/texts/", views_builder.survey_texts, name="survey_texts"),
    path("surveys/<int:survey_id>/publish/", views_builder.survey_publish,
         name="survey_publish"),
    path("surveys/<int:survey_id>/anonymous-link/", views_builder.survey_anonymous_link,
         name="survey_anonymous_link"),
    path("surveys/<int:survey_id>/export/", views_builder.survey_export, name="survey_export"),
    path("surveys/<int:survey_id>/preview", views_preview.survey_preview,
         name="survey_preview"),
    path("surveys/<int:survey_id>/add-question/", views_builder_questions.question_new,
         name="survey_question_new"),
    path("surveys/<int:survey_id>/questions/<str:question_id>/",
         views_builder_questions.question_edit, name="survey_question_edit"),
    path("surveys/<int:survey_id>/questions/<str:question_id>/move/",
         views_builder_questions.question_move_view, name="survey_question_move"),
    path("surveys/<int:survey_id>/questions/<str:question_id>/remove/",
         views_builder_questions.question_remove_view, name="survey_question_remove"),
]
