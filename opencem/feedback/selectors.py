"""Reads of responses and feedback, always through a Scope.

The lists, the pages and the CSV exports share one set of filters (``ResponseFilter``,
``FeedbackFilter``), so an export holds exactly the rows its page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from opencem.accounts.selectors import Scope
from opencem.core.errors import invalid
from opencem.core.pagination import Page, keyset_page
from opencem.feedback.choices import BAND_RANGES, FeedbackKind, ScoreBand
from opencem.feedback.models import FeedbackItem, Response

if TYPE_CHECKING:
    from opencem.accounts.models import Unit


@dataclass(frozen=True)
class ResponseFilter:
    """Which responses to list; ``unit`` takes its whole subtree, ``band`` a ``ScoreBand``."""

    survey_id: int | None = None
    unit: Unit | None = None
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    band: str | None = None
    completed: bool | None = None


@dataclass(frozen=True)
class FeedbackFilter:
    """Which feedback items to list; ``unit`` takes its whole subtree, ratings are inclusive."""

    kind: str | None = None
    source: str | None = None
    unit: Unit | None = None
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    rating_from: int | None = None
    rating_to: int | None = None


def responses_visible(*, scope: Scope) -> QuerySet[Response]:
    qs = Response.objects.all()
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def feedback_visible(*, scope: Scope) -> QuerySet[FeedbackItem]:
    qs = FeedbackItem.objects.all()
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def responses_filtered(*, scope: Scope, filters: ResponseFilter) -> QuerySet[Response]:
    """Responses in scope matching the filters (unordered), with what a list shows of each:
    survey, unit, version and the respondent's comments."""
    qs = responses_visible(scope=scope).select_related("unit", "survey", "survey_version",
                                                       "customer")
    qs = qs.prefetch_related(Prefetch("feedback_items",
                                      queryset=FeedbackItem.objects.order_by("id")))
    if filters.survey_id is not None:
        qs = qs.filter(survey_id=filters.survey_id)
    if filters.unit is not None:
        qs = qs.filter(unit__path__startswith=filters.unit.path)
    if filters.customer_id is not None:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.since:
        qs = qs.filter(started_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(started_at__lt=filters.until)
    if filters.band:
        if filters.band not in BAND_RANGES:
            raise invalid(["band"], f"must be one of {', '.join(ScoreBand.values)}")
        column, low, high = BAND_RANGES[filters.band]
        qs = qs.filter(**{f"{column}__gte": low, f"{column}__lte": high})
    if filters.completed is not None:
        qs = qs.filter(completed=filters.completed)
    return qs


def response_list(*, scope: Scope, filters: ResponseFilter | None = None,
                  cursor: str | None = None, limit: int = 50) -> Page[Response]:
    """Responses in scope, newest first, one page at a time."""
    qs = responses_filtered(scope=scope, filters=filters or ResponseFilter())
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="started_at")


def feedback_filtered(*, scope: Scope, filters: FeedbackFilter) -> QuerySet[FeedbackItem]:
    """Feedback in scope matching the filters (unordered)."""
    qs = feedback_visible(scope=scope).select_related("unit", "customer")
    if filters.kind:
        if filters.kind not in FeedbackKind.values:
            raise invalid(["kind"], f"must be one of {', '.join(FeedbackKind.values)}")
        qs = qs.filter(kind=filters.kind)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.unit is not None:
        qs = qs.filter(unit__path__startswith=filters.unit.path)
    if filters.customer_id is not None:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.since:
        qs = qs.filter(occurred_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(occurred_at__lt=filters.until)
    if filters.rating_from is not None:
        qs = qs.filter(rating__gte=filters.rating_from)
    if filters.rating_to is not None:
        qs = qs.filter(rating__lte=filters.rating_to)
    return qs


def feedback_list(*, scope: Scope, filters: FeedbackFilter | None = None,
                  cursor: str | None = None, limit: int = 50) -> Page[FeedbackItem]:
    """Feedback in scope, newest first, one page at a time."""
    qs = feedback_filtered(scope=scope, filters=filters or FeedbackFilter())
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="occurred_at")

