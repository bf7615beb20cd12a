"""Feedback for the text analytics tests, stored the way the API stores it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from opencem.accounts.selectors import WHOLE_ORGANISATION
from opencem.customers.services import CustomerInput
from opencem.feedback.services import (
    FeedbackInput,
    ResponseInput,
    feedback_ingest,
    responses_record,
)

_ids = itertools.count(1)

WHEN = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def feedback(text: str, *, unit: str = "STORE-A", kind: str = "complaint",
             when: datetime = WHEN, email: str | None = None) -> int:
    customer = CustomerInput(identities=(("email", email),)) if email else None
    (recorded,) = feedback_ingest(items=[FeedbackInput(
        kind=kind, text=text, source="tests", occurred_at=when, unit=unit,
        customer=customer)], scope=WHOLE_ORGANISATION, actor=None)
    return recorded.id


def respond(version, unit, *, count: int, nps: int, csat: int, at: datetime,
            comment: str | None = None) -> None:
    """Store ``count`` completed responses alike, each with its comment."""
    answers: dict[str, object] = {"nps": nps, "csat": csat}
    comments: tuple[tuple[str, str], ...] = ()
    if comment is not None:
        answers["reason"] = comment
        comments = (("reason", comment),)
    responses_record(items=[ResponseInput(
        survey_id=version.survey_id, version_id=version.pk, default_unit=unit,
        default_language="en", answers=answers, nps=nps, csat=csat, comments=comments,
        complete=True, unit=unit.code, started_at=at, submitted_at=at, source="tests",
        external_id=f"T-{next(_ids)}") for _ in range(count)],
        scope=WHOLE_ORGANISATION, actor=None)
