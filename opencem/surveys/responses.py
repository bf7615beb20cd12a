"""Submitting answers to a survey: checked against the exact version, then stored as a
response in the feedback stream. Every path (API, import, hosted page, widget) comes here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from opencem.accounts.selectors import Scope
from opencem.core.errors import invalid
from opencem.customers.services import CustomerInput
from opencem.feedback.services import Recorded, ResponseInput, responses_record
from opencem.surveys.answers import metric_values, validate_answers
from opencem.surveys.definition import SurveyDefinition, TextQuestion
from opencem.surveys.models import SurveyVersion
from opencem.surveys.selectors import version_definition

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Submission:
    """Answers to a published survey version, with whatever is known of their context."""

    version: SurveyVersion
    answers: Any
    complete: bool = True
    unit: str | None = None
    customer: CustomerInput | None = None
    interaction_id: int | None = None
    touchpoint: str = ""
    channel: str = ""
    language: str = ""
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    source: str = "api"
    external_id: str = ""


def submission_check(item: Submission, *, loc: Loc = (),
                     definition: SurveyDefinition | None = None) -> ResponseInput:
    """Check one submission against its version: what ``responses_record`` stores.

    ``definition`` is the version's, parsed once by a caller checking many rows of it.
    """
    if not item.version.is_published:
        raise invalid([*loc, "version"], "responses can only answer a published version")
    if definition is None:
        definition = version_definition(item.version)
    answers = validate_answers(definition, item.answers, complete=item.complete,
                               loc=(*loc, "answers"))
    values = metric_values(definition, answers)
    comments = tuple((q.id, answers[q.id]) for q in definition.questions
                     if isinstance(q, TextQuestion) and answers.get(q.id))
    return ResponseInput(
        survey_id=item.version.survey_id, version_id=item.version.pk,
        default_unit=item.version.survey.unit, default_language=definition.default_language,
        answers=answers, nps=values["nps"], csat=values["csat"], ces=values["ces"],
        comments=comments, complete=item.complete, unit=item.unit, customer=item.customer,
        interaction_id=item.interaction_id, touchpoint=item.touchpoint, channel=item.channel,
        language=item.language, started_at=item.started_at, submitted_at=item.submitted_at,
        source=item.source, external_id=item.external_id)


def responses_submit(*, items: Sequence[Submission], scope: Scope, actor: User | None,
                     loc_prefix: Loc | None = ("items",)) -> list[Recorded]:
    """Check each submission against its version and store them, all or nothing."""
    prepared = [submission_check(item, loc=() if loc_prefix is None else (*loc_prefix, i))
                for i, item in enumerate(items)]
    return responses_record(items=prepared, scope=scope, actor=actor, loc_prefix=loc_prefix)
