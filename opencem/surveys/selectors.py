"""Reads of surveys, limited to what the viewer's scope covers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from opencem.accounts.selectors import Scope, unit_list
from opencem.core.errors import NotFound
from opencem.feedback.selectors import responses_visible
from opencem.surveys.definition import SurveyDefinition
from opencem.surveys.models import Invitation, Survey, SurveyVersion

if TYPE_CHECKING:
    from opencem.accounts.models import Unit


def surveys_visible(*, scope: Scope) -> QuerySet[Survey]:
    qs = Survey.objects.select_related("unit").order_by("name")
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def surveys_answered(*, scope: Scope) -> QuerySet[Survey]:
    """Surveys whose responses the scope reads: its own, and those answered at its units
    (a store manager reads the company survey's answers from their store)."""
    qs = Survey.objects.select_related("unit").order_by("name")
    if scope.unit_ids is None:
        return qs
    answered = responses_visible(scope=scope).filter(survey_id=OuterRef("pk"))
    return qs.filter(Q(unit_id__in=scope.unit_ids) | Exists(answered))


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


def version_by_id(version_id: int) -> SurveyVersion | None:
    """A version by its id, whatever survey it belongs to (a respondent's saved progress)."""
    return SurveyVersion.objects.filter(pk=version_id).first()


def anonymous_survey(slug: str) -> tuple[Survey, SurveyVersion] | None:
    """The survey open to anyone at ``/s/p/<slug>`` and its live version, if there is one."""
    # One query, not two: every widget submission and page of the open link asks this.
    version = (SurveyVersion.objects.select_related("survey__unit")
               .filter(survey__slug=slug[:80], survey__anonymous_link=True,
                       survey__archived_at__isnull=True, published_at__isnull=False)
               .order_by("-number").first())
    return (version.survey, version) if version is not None else None


def version_get(survey: Survey, number: int) -> SurveyVersion:
    version = survey.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"Survey {survey.pk} has no version {number}.")
    return version


def survey_versions(survey: Survey) -> QuerySet[SurveyVersion]:
    """Every version of a survey, newest first, with who published it."""
    return survey.versions.select_related("published_by").order_by("-number")


def design_units(*, scope: Scope) -> QuerySet[Unit]:
    """Units whose surveys the scope may design, in tree order."""
    units = unit_list(scope=scope)
    return units if scope.design_unit_ids is None else units.filter(
        id__in=scope.design_unit_ids)


@dataclass(frozen=True)
class SurveyRow:
    """One survey in the list: its state, and what the viewer may do with it."""

    survey: Survey
    latest_number: int
    live_number: int | None
    responses: int
    can_design: bool

    @property
    def has_draft(self) -> bool:
        return self.live_number != self.latest_number


def survey_rows(*, scope: Scope) -> list[SurveyRow]:
    """The surveys in scope with their versions and completed responses (in scope), in three
    queries however many surveys there are."""
    surveys = list(surveys_visible(scope=scope))
    ids = [s.pk for s in surveys]
    versions = {row["survey_id"]: row for row in SurveyVersion.objects.filter(survey_id__in=ids)
                .values("survey_id").annotate(
                    latest=Max("number"),
                    live=Max("number", filter=Q(published_at__isnull=False))).order_by()}
    responses = {row["survey_id"]: row["n"] for row in responses_visible(scope=scope)
                 .filter(survey_id__in=ids, completed=True).values("survey_id")
                 .annotate(n=Count("id")).order_by()}
    return [SurveyRow(survey=s, latest_number=versions.get(s.pk, {}).get("latest") or 0,
                      live_number=versions.get(s.pk, {}).get("live"),
                      responses=responses.get(s.pk, 0), can_design=scope.designs_unit(s.unit_id))
            for s in surveys]


def invitations_visible(*, scope: Scope) -> QuerySet[Invitation]:
    """Invitations sent for units the scope sees (the response rate counts them)."""
    qs = Invitation.objects.all()
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)
