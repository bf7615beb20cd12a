"""Interactions, responses and journeys for the journeys tests, written through the real
services (so rollups, scopes and events are exactly as in production)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from opencem.accounts.models import Unit
from opencem.customers.services import CustomerInput, InteractionInput, interactions_ingest
from opencem.feedback.services import ResponseInput, responses_record
from opencem.journeys.models import Journey
from opencem.journeys.schemas import JourneyDoc
from opencem.journeys.services import journey_import
from opencem.metrics.tests.factories import SYSTEM, make_survey
from opencem.surveys.models import SurveyVersion

__all__ = ["AT", "SYSTEM", "WINDOW", "contact", "journey_doc", "make_journey", "make_survey",
           "respond"]

_ids = itertools.count(1)
AT = datetime(2025, 3, 10, 12, tzinfo=UTC)
WINDOW = "from=2025-01-01&to=2025-06-30"


def contact(unit: Unit, *, kind: str, channel: str = "store", email: str = "ann@example.com",
            at: datetime | None = None, attributes: dict[str, Any] | None = None,
            touchpoint: str = "", customer_attributes: dict[str, Any] | None = None) -> int:
    """One interaction of the customer known by ``email``; returns its id."""
    result = interactions_ingest(items=[InteractionInput(
        source="test", external_id=f"I-{next(_ids)}", channel=channel, kind=kind,
        occurred_at=at or AT, unit=unit.code, touchpoint=touchpoint,
        attributes=attributes or {},
        customer=CustomerInput(identities=(("email", email),),
                               attributes=customer_attributes))], scope=SYSTEM)
    return int(result[0].interaction.pk)


def respond(version: SurveyVersion, unit: Unit, *, count: int = 1, nps: int | None = None,
            csat: int | None = None, ces: int | None = None, at: datetime | None = None,
            interaction_id: int | None = None, email: str | None = None,
            touchpoint: str = "", channel: str = "", comment: str | None = None) -> list[int]:
    """``count`` completed responses alike; each its own respondent unless ``email``."""
    moment = at or AT + timedelta(hours=1)
    items = []
    for _ in range(count):
        answers = {k: v for k, v in (("nps", nps), ("csat", csat), ("ces", ces))
                   if v is not None}
        comments: tuple[tuple[str, str], ...] = ()
        if comment is not None:
            answers["reason"] = comment
            comments = (("reason", comment),)
        who = email or f"r{next(_ids)}@example.com"
        items.append(ResponseInput(
            survey_id=version.survey_id, version_id=version.pk, default_unit=unit,
            default_language="en", answers=answers, nps=nps, csat=csat, ces=ces,
            comments=comments, complete=True, unit=unit.code,
            customer=CustomerInput(identities=(("email", who),)),
            interaction_id=interaction_id, touchpoint=touchpoint, channel=channel,
            started_at=moment, submitted_at=moment, source="test",
            external_id=f"R-{next(_ids)}"))
    return [r.id for r in responses_record(items=items, scope=SYSTEM, actor=None)]


def journey_doc(unit: str = "ACME", **overrides: Any) -> dict[str, Any]:
    """A small retail journey: browse (web) → buy (store checkout) → receive (delivery) →
    get help (call), measured in CSAT, with a relationship NPS to renew."""
    doc: dict[str, Any] = {
        "name": "Retail", "unit": unit, "persona": "Home shopper",
        "stages": [
            {"name": "Discover", "touchpoints": [
                {"name": "Browse", "channel": "web", "owner_unit": "WEB",
                 "rule": {"kinds": ["session"]}, "metric": "csat", "target": 80,
                 "desired": "Finds what they want quickly", "importance": 1}]},
            {"name": "Buy", "touchpoints": [
                {"name": "Store checkout", "channel": "store", "owner_unit": "NORTH",
                 "rule": {"kinds": ["purchase"], "channels": ["store"]}, "metric": "csat",
                 "target": 80, "desired": "Pays without queueing", "importance": 3}]},
            {"name": "Receive", "touchpoints": [
                {"name": "Delivery", "channel": "delivery", "owner_unit": "ACME",
                 "rule": {"kinds": ["delivery"]}, "metric": "csat", "target": 85,
                 "desired": "Arrives on the day promised", "importance": 2}]},
            {"name": "Get help", "touchpoints": [
                {"name": "Support call", "channel": "call_centre", "owner_unit": "ACME",
                 "rule": {"kinds": ["call"]}, "metric": "csat", "target": 75,
                 "desired": "Solved in one call", "importance": 2}]},
            {"name": "Renew", "touchpoints": [
                {"name": "Relationship", "owner_unit": "ACME",
                 "rule": {"touchpoints": ["relationship"]}, "metric": "nps", "target": 30,
                 "desired": "Would recommend us", "importance": 1}]},
        ],
    }
    doc.update(overrides)
    return doc


def make_journey(unit: str = "ACME", **overrides: Any) -> Journey:
    return journey_import(scope=SYSTEM, document=JourneyDoc.model_validate(
        journey_doc(unit, **overrides)))
