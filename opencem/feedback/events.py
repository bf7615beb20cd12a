"""The events a response write records, and its comments as feedback items.

Shared by the ORM writes of ``services`` and the one-statement submission of
``submission``, so both record exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opencem.core.services import outbox_emit_many
from opencem.feedback.choices import FeedbackKind, Topic
from opencem.feedback.models import FeedbackItem, Response


def headline(values: dict[str, int | None]) -> tuple[int | None, int | None]:
    """The score a response's comments carry as their rating, and its top: NPS, else CSAT,
    else CES."""
    for kind, top in (("nps", 10), ("csat", 5), ("ces", 7)):
        if values[kind] is not None:
            return values[kind], top
    return None, None


def response_payload(response: Response) -> dict[str, Any]:
    return {"response_id": response.pk, "survey_id": response.survey_id,
            "version": response.survey_version_id, "unit_id": response.unit_id,
            "customer_id": response.customer_id, "nps": response.nps,
            "csat": response.csat, "ces": response.ces}


_FEEDBACK_FACTS = ("kind", "unit_id", "customer_id", "response_id", "rating", "rating_max")


def feedback_payload(item: FeedbackItem) -> dict[str, Any]:
    return {"feedback_id": item.pk, **{name: getattr(item, name) for name in _FEEDBACK_FACTS}}


def comment_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """``feedback_payload`` of a comment row not inserted yet (its ids still unknown)."""
    return {"feedback_id": None, **{name: row.get(name) for name in _FEEDBACK_FACTS},
            "response_id": None}


def response_topics(response: Response, *, created: bool) -> list[str]:
    """The events of a response just created (``created``) and/or completed."""
    topics: list[str] = []
    if created:
        topics.append(Topic.RESPONSE_CREATED)
    if response.completed:
        topics.append(Topic.RESPONSE_COMPLETED)
    return topics


def comment_rows(response: Response, comments: tuple[tuple[str, str], ...]
                 ) -> list[dict[str, Any]]:
    """A completed response's free-text answers as feedback items (field values by
    attribute name), in order."""
    rating, top = headline({"nps": response.nps, "csat": response.csat, "ces": response.ces})
    shared = {"kind": FeedbackKind.SURVEY.value, "rating": rating, "rating_max": top,
              "customer_id": response.customer_id, "unit_id": response.unit_id,
              "touchpoint": response.touchpoint, "channel": response.channel,
              "occurred_at": response.submitted_at or response.started_at,
              "language": response.language, "response_id": response.pk,
              "source": response.source}
    return [{**shared, "text": text, "question_id": question_id}
            for question_id, text in comments]


def record_events(response: Response, comments: tuple[tuple[str, str], ...], *,
                  created: bool) -> None:
    """The events of a response just created (``created``) and/or completed, and its
    comments as feedback items with their events: one insert per table, however many."""
    payload = response_payload(response)
    events: list[tuple[str, dict[str, Any]]] = [
        (topic, payload) for topic in response_topics(response, created=created)]
    rows = comment_rows(response, comments)
    items = FeedbackItem.objects.bulk_create([FeedbackItem(**row) for row in rows]) \
        if rows else []
    events += [(Topic.FEEDBACK_CREATED, feedback_payload(item)) for item in items]
    outbox_emit_many(events=events)
