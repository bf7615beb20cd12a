"""The respondent's URLs: the hosted survey pages. They need no account."""

from __future__ import annotations

from django.urls import path

from opencem.surveys import public

urlpatterns = [
    path("s/p/<slug:slug>", public.anonymous_survey_page, name="survey_anonymous"),
    path("s/p/<slug:slug>/thanks", public.anonymous_thanks, name="survey_anonymous_thanks"),
    path("s/<str:token>", public.invitation_survey, name="survey_invitation"),
    path("s/<str:token>/thanks", public.invitation_thanks, name="survey_invitation_thanks"),
]
