"""Reads of surveys, limited to what the viewer's scope covers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from opencem.accounts.selectors import Scope, unit_list
from opencem.core.errors import NotFound
from opencem.core.statements import fetch
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


@dataclass(frozen=True)
class OpenVersion:
    """The live version of a survey open to anyone, as the widget answers it."""

    survey_id: int
    unit_id: int
    version_id: int
    definition: SurveyDefinition


# What each process keeps of what respondents answer. A published version never changes, and
# the id of a version once committed is never given to another, so an entry read from
# committed data never goes stale. Only what was read outside a transaction is kept: a row
# read inside one may vanish with its rollback, and its id be given again.
_definitions: dict[int, SurveyDefinition] = {}
_open: dict[str, OpenVersion] = {}
MAX_KEPT = 1000


def _keep(store: dict[Any, Any], key: Any, value: Any) -> None:
    if connection.in_atomic_block:
        return
    if len(store) >= MAX_KEPT:
        store.pop(next(iter(store)))
    store[key] = value


def version_definitions(version_ids: Iterable[int]) -> dict[int, SurveyDefinition]:
    """The parsed definitions of these versions (those that exist), by version id, read in
    one query at most: a published one comes from the process's memory once read."""
    found: dict[int, SurveyDefinition] = {}
    missing: list[int] = []
    for version_id in set(version_ids):
        definition = _definitions.get(version_id)
        if definition is None:
            missing.append(version_id)
        else:
            found[version_id] = definition
    if not missing:
        return found
    for version_id, data, published_at in (SurveyVersion.objects.filter(pk__in=missing)
                                           .values_list("id", "definition", "published_at")):
        definition = SurveyDefinition.model_validate(data)
        found[version_id] = definition
        if published_at is not None:
            _keep(_definitions, version_id, definition)
    return found


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


def _tables() -> tuple[str, str]:
    qn = connection.ops.quote_name
    return qn(Survey._meta.db_table), qn(SurveyVersion._meta.db_table)


def open_version(slug: str, *, fresh: bool = False) -> OpenVersion | None:
    """What ``anonymous_survey`` finds, for a submission that needs only the ids and the
    questions.

    Unless ``fresh``, the answer may come from the process's memory and be out of date (the
    link closed, a newer version published since): a caller must then store the response
    with ``live_check(found, slug)``, which refuses a stale answer, and ask again ``fresh``.
    A fresh answer is one indexed query, with the definition from ``version_definitions``.
    """
    if not fresh and (kept := _open.get(slug)) is not None:
        return kept
    survey, version = _tables()
    # Table names come from the models, never from input.
    sql = (f"SELECT s.id, s.unit_id, v.id FROM {survey} s "  # noqa: S608
           f"JOIN {version} v ON v.survey_id = s.id "
           "WHERE s.slug = %s AND s.anonymous_link = %s AND s.archived_at IS NULL "
           "AND v.published_at IS NOT NULL ORDER BY v.number DESC LIMIT 1")
    rows = fetch(sql, [slug[:80], True])
    definition = version_definitions([rows[0][2]]).get(rows[0][2]) if rows else None
    if definition is None:  # closed, or deleted since the query
        _open.pop(slug, None)
        return None
    survey_id, unit_id, version_id = rows[0]
    found = OpenVersion(survey_id, unit_id, version_id, definition)
    _keep(_open, slug, found)
    return found


def live_check(found: OpenVersion, slug: str) -> tuple[str, list[Any]]:
    """A query giving ``found``'s version id while it is still what ``open_version(slug,
    fresh=True)`` would answer, and no row once it is not: the condition a response stored
    against a remembered answer is written under."""
    survey, version = _tables()
    # Table names come from the models, never from input.
    sql = (f"SELECT v.id FROM {survey} s JOIN {version} v ON v.survey_id = s.id "  # noqa: S608
           "WHERE v.id = %s AND s.id = %s AND s.unit_id = %s AND s.slug = %s "
           "AND s.anonymous_link = %s AND s.archived_at IS NULL "
           "AND v.published_at IS NOT NULL AND NOT EXISTS ("
           f"SELECT 1 FROM {version} w WHERE w.survey_id = s.id "
           "AND w.published_at IS NOT NULL AND w.number > v.number)")
    return sql, [found.version_id, found.survey_id, found.unit_id, slug[:80], True]


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
