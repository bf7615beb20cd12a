"""Reads of surveys, limited to what the viewer's scope covers."""

from __future__ import annotations

from django.db.models import QuerySet

from opencem.accounts.selectors import Scope
from opencem.core.errors import NotFound
from opencem.surveys.definition import SurveyDefinition
from opencem.surveys.models import Survey, SurveyVersion


def surveys_visible(*, scope: Scope) -> QuerySet[Survey]:
    qs = Survey.objects.select_related("unit").order_by("name")
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def survey_get(*, scope: Scope, survey_id: int) -> Survey:
    survey = surveys_visible(scope=scope).filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(f"No survey {survey_id}.")
    return survey


def latest_version(survey: Survey) -> SurveyVersion:
    version = survey.versions.order_by("-number").first()
    if version is None:
        raise NotFound(f"Survey {survey.pk} has no versions.")
    return version


def live_version(survey: Survey) -> SurveyVersion | None:
    """The newest published version: the one new respondents answer."""
    return (survey.versions.filter(published_at__isnull=False).order_by("-number").first())


def version_definition(version: SurveyVersion) -> SurveyDefinition:
    return SurveyDefinition.model_validate(version.definition)
