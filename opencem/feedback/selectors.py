"""Reads of responses and feedback, always through a Scope."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from opencem.accounts.selectors import Scope
from opencem.core.pagination import Page, keyset_page
from opencem.feedback.models import FeedbackItem, Response


def responses_visible(*, scope: Scope) -> QuerySet[Response]:
    qs = Response.objects.all()
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def feedback_visible(*, scope: Scope) -> QuerySet[FeedbackItem]:
    qs = FeedbackItem.objects.all()
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def response_list(*, scope: Scope, survey_id: int | None = None, unit_id: int | None = None,
                  customer_id: int | None = None, since: datetime | None = None,
                  until: datetime | None = None, cursor: str | None = None,
                  limit: int = 50) -> Page[Response]:
    qs = responses_visible(scope=scope).select_related("unit", "survey_version")
    if survey_id is not None:
        qs = qs.filter(survey_id=survey_id)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if since:
        qs = qs.filter(started_at__gte=since)
    if until:
        qs = qs.filter(started_at__lt=until)
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="started_at")


def feedback_list(*, scope: Scope, kind: str | None = None, unit_id: int | None = None,
                  customer_id: int | None = None, since: datetime | None = None,
                  until: datetime | None = None, cursor: str | None = None,
                  limit: int = 50) -> Page[FeedbackItem]:
    qs = feedback_visible(scope=scope).select_related("unit")
    if kind:
        qs = qs.filter(kind=kind)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="occurred_at")
