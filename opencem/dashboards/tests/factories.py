"""Responses, comments and interactions for the dashboards' tests, written through the real
services (so the metric rollups are kept exactly as in production)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from opencem.accounts.models import Unit
from opencem.customers.services import CustomerInput, InteractionInput, interactions_ingest
from opencem.feedback.models import FeedbackItem
from opencem.feedback.services import ResponseInput, responses_record
from opencem.metrics.tests.factories import SYSTEM, make_survey
from opencem.surveys.models import SurveyVersion

__all__ = ["AT", "SYSTEM", "interaction", "make_survey", "respond"]

_ids = itertools.count(1)
# The default moment of a response: inside the period the tests ask the dashboards about.
AT = datetime(2025, 3, 10, 12, tzinfo=UTC)
MARCH = "since=2025-03-01&until=2025-03-31"


def respond(version: SurveyVersion, unit: Unit, *, count: int = 1, nps: int | None = None,
            csat: int | None = None, ces: int | None = None, comment: str | None = None,
            at: datetime | None = None, interaction_id: int | None = None,
            email: str | None = None, attributes: dict[str, Any] | None = None,
            touchpoint: str = "", channel: str = "") -> list[int]:
    """Store ``count`` completed responses alike (each its own respondent); returns ids."""
    moment = at or AT
    items = []
    for _ in range(count):
        answers: dict[str, Any] = {k: v for k, v in (("nps", nps), ("csat", csat), ("ces", ces))
                                   if v is not None}
        comments: tuple[tuple[str, str], ...] = ()
        if comment is not None:
            answers["reason"] = comment
            comments = (("reason", comment),)
        customer = None
        if email is not None or attributes is not None:
            customer = CustomerInput(
                identities=(("email", email or f"c{next(_ids)}@example.com"),),
                attributes=attributes)
        items.append(ResponseInput(
            survey_id=version.survey_id, version_id=version.pk, default_unit=unit,
            default_language="en", answers=answers, nps=nps, csat=csat, ces=ces,
            comments=comments, complete=True, unit=unit.code, customer=customer,
            interaction_id=interaction_id, touchpoint=touchpoint, channel=channel,
            started_at=moment, submitted_at=moment, source="test",
            external_id=f"D-{next(_ids)}"))
    return [r.id for r in responses_record(items=items, scope=SYSTEM, actor=None)]


def interaction(unit: Unit, *, email: str = "ann@example.com", kind: str = "call") -> int:
    """One call at ``unit`` from a customer known by email; returns its id."""
    result = interactions_ingest(items=[InteractionInput(
        source="pbx", external_id=f"I-{next(_ids)}", channel="call_centre", kind=kind,
        occurred_at=AT, unit=unit.code,
        customer=CustomerInput(identities=(("email", email),)))], scope=SYSTEM)
    return int(result[0].interaction.pk)


def redact(text: str, redacted: str) -> None:
    """Mask a comment as the text analytics would (personal details replaced)."""
    FeedbackItem.objects.filter(text=text).update(redacted_text=redacted)
