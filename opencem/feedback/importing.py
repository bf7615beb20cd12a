"""``opencem import feedback``: reviews, social posts, complaints, chat/email/call transcripts
and web comments from other systems, through the rules of ``POST /api/v1/feedback``.

Rows are ``FeedbackIn`` bodies checked by the API's schema, then stored by
``services.feedback_ingest``, idempotent on ``(source, external_id)``; the customer is found
(or made) by any identity the row names. An import needs ``external_id`` on every row, so
that running a file again, or resuming it, never stores a row twice.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from pydantic import TypeAdapter

from opencem.accounts.selectors import Scope
from opencem.core.importing import (
    BatchOutcome,
    ImportKind,
    ImportOptions,
    PreparedRows,
    Row,
    RowError,
    RowReader,
    RowShape,
    RowWriter,
    kind_register,
    store_each,
    validate_models,
    with_zone,
)
from opencem.customers.importing import PERSON_FIELDS, RowCustomer, import_scope, one_pass
from opencem.feedback.api import FeedbackIn
from opencem.feedback.services import FeedbackInput, feedback_ingest

WHOLE_NUMBER = re.compile(r"[+-]?\d+")
EXTERNAL_ID_NEEDED = "is required for an import: it keeps a second run of the file from " \
                     "storing the row again"


class _RowFeedback(FeedbackIn):
    _run_root_validator = classmethod(one_pass)  # type: ignore[assignment]  # see customers
    customer: RowCustomer | None = None


_FEEDBACK = TypeAdapter(list[_RowFeedback])


class FeedbackRows(RowReader):
    """Feedback rows: ``FeedbackIn`` bodies with the customer's identities flat or nested."""

    shape = RowShape(
        fields=("source", "external_id", "kind", "occurred_at", "unit", "text", "title",
                "rating", "rating_max", "touchpoint", "channel", "language", "author", "url"),
        person=PERSON_FIELDS)

    def adjust(self, body: dict[str, Any]) -> dict[str, Any]:
        # The API takes ratings as JSON numbers only; a CSV cell is text.
        for name in ("rating", "rating_max"):
            value = body.get(name)
            if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
                body[name] = int(value)
        return body

    def prepare(self, rows: Sequence[Row], zone: ZoneInfo | None) -> PreparedRows:
        models, errors = validate_models(_FEEDBACK, rows)
        good: list[int] = []
        inputs: list[FeedbackInput] = []
        for i, model in enumerate(models):
            if model is None:
                continue
            if not model.external_id:
                errors[i] = [RowError(i, "external_id", EXTERNAL_ID_NEEDED)]
                continue
            item = model.to_input()
            good.append(i)
            inputs.append(dataclasses.replace(item, occurred_at=with_zone(item.occurred_at, zone)))
        return PreparedRows(good, inputs, errors)


class FeedbackWriter(RowWriter):
    def __init__(self, scope: Scope, actor: User | None) -> None:
        self.scope, self.actor = scope, actor

    def store(self, payload: list[FeedbackInput]) -> BatchOutcome:
        return store_each(payload, lambda items, loc: feedback_ingest(
            items=items, scope=self.scope, actor=self.actor, loc_prefix=loc))


class FeedbackKind(ImportKind):
    name = "feedback"
    help = "reviews, social posts, complaints, transcripts, web comments (as POST " \
           "/api/v1/feedback)"

    def start(self, *, options: ImportOptions, actor: User | None
              ) -> tuple[RowReader, RowWriter]:
        return FeedbackRows(), FeedbackWriter(import_scope(options, actor), actor)


def register() -> None:
    """Make ``opencem import feedback`` find this kind (from ``AppConfig.ready()``)."""
    kind_register(FeedbackKind())
