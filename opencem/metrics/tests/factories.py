"""Surveys and responses for the metrics tests, written through the real services (so the
rollup hooks run exactly as in production)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opencem.accounts.selectors import Scope
from opencem.customers.services import CustomerInput
from opencem.feedback.services import (
    RespondentContext,
    ResponseInput,
    ResponseUpdate,
    response_open,
    response_submit,
    response_update,
    responses_delete,
    responses_record,
)
from opencem.surveys.models import Survey, SurveyVersion
from opencem.surveys.services import survey_create, survey_publish

SYSTEM = Scope(user_id=None, unit_ids=None, roles=frozenset(), write_unit_ids=None,
               admin_unit_ids=None, design_unit_ids=None)
_ids = itertools.count(1)

DEFINITION: dict[str, Any] = {
    "title": {"en": "How did we do?"},
    "questions": [
        {"id": "nps", "type": "nps", "text": {"en": "Recommend us?"}},
        {"id": "csat", "type": "csat", "text": {"en": "Satisfied?"}},
        {"id": "ces", "type": "ces", "text": {"en": "Easy?"}},
        {"id": "quality", "type": "rating", "min": 1, "max": 5, "text": {"en": "Quality?"}},
        {"id": "reason", "type": "long_text", "text": {"en": "Why?"}},
    ],
}


@dataclass(frozen=True)
class Answers:
    """Scores of one response; None leaves the question unanswered."""

    nps: int | None = None
    csat: int | None = None
    ces: int | None = None
    quality: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("nps", self.nps), ("csat", self.csat), ("ces", self.ces),
                                  ("quality", self.quality)) if v is not None}


def make_survey(unit: Any, name: str = "Experience") -> tuple[Survey, SurveyVersion]:
    survey = survey_create(name=name, unit=unit, definition=DEFINITION, scope=SYSTEM,
                           actor=None)
    version = survey_publish(survey=survey, scope=SYSTEM, actor=None)
    return survey, version


def record(version: SurveyVersion, unit: Any, answers: Answers, *,
           at: datetime | None = None, complete: bool = True, touchpoint: str = "",
           channel: str = "", email: str | None = None) -> int:
    """Store one response (as history with its own timestamp) and return its id."""
    return record_many(version, [(unit, answers, at, complete, touchpoint, channel, email)])[0]


def record_many(version: SurveyVersion, rows: list[tuple[Any, ...]]) -> list[int]:
    """Store a batch of responses in one call: (unit, answers, at, complete, touchpoint,
    channel, email or (email, customer attributes)) each."""
    items = []
    for unit, answers, at, complete, touchpoint, channel, email in rows:
        moment = at or datetime(2025, 3, 10, 12, tzinfo=UTC)
        customer = None
        if email:
            # A customer named by email, or by (email, attributes).
            address, attributes = email if isinstance(email, tuple) else (email, None)
            customer = CustomerInput(identities=(("email", address),), attributes=attributes)
        items.append(ResponseInput(
            survey_id=version.survey_id, version_id=version.pk, default_unit=unit,
            default_language="en", answers=answers.as_dict(), nps=answers.nps,
            csat=answers.csat, ces=answers.ces, complete=complete, unit=unit.code,
            customer=customer, touchpoint=touchpoint, channel=channel, started_at=moment,
            submitted_at=moment if complete else None, source="test",
            external_id=f"R-{next(_ids)}"))
    return [r.id for r in responses_record(items=items, scope=SYSTEM, actor=None)]


def start(version: SurveyVersion, unit: Any, *, touchpoint: str = "",
          channel: str = "") -> int:
    """A respondent saves their first page: an unfinished response, as on the hosted page."""
    return response_open(context=RespondentContext(
        survey_id=version.survey_id, version_id=version.pk, unit_id=unit.pk, language="en",
        source="web", touchpoint=touchpoint, channel=channel))


def submit(version: SurveyVersion, unit: Any, answers: Answers, *, channel: str = "",
           respondent: str = "") -> int:
    """A respondent answers in one go, as through the widget (one statement on PostgreSQL)."""
    return response_submit(
        context=RespondentContext(survey_id=version.survey_id, version_id=version.pk,
                                  unit_id=unit.pk, language="en", source="widget",
                                  channel=channel, respondent_key=respondent),
        update=ResponseUpdate(answers={**answers.as_dict(), "reason": "Because"},
                              nps=answers.nps, csat=answers.csat, ces=answers.ces,
                              comments=(("reason", "Because"),), complete=True)).response_id


def save(response_id: int, answers: Answers, *, complete: bool) -> None:
    """Save and resume: replace the answers of an unfinished response, completing it or not."""
    response_update(response_id=response_id, update=ResponseUpdate(
        answers=answers.as_dict(), nps=answers.nps, csat=answers.csat, ces=answers.ces,
        complete=complete))


def delete(*response_ids: int) -> int:
    return responses_delete(response_ids=list(response_ids), scope=SYSTEM)
