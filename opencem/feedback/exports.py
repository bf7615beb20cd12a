"""CSV exports of responses and feedback: the rows a list shows under the same filters,
limited to the viewer's scope, with spreadsheet formulas neutralised."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from opencem.accounts.selectors import Scope
from opencem.core.exports import csv_response
from opencem.feedback.privacy import readable_answers, readable_text
from opencem.feedback.selectors import (
    FeedbackFilter,
    ResponseFilter,
    feedback_filtered,
    responses_filtered,
)

RESPONSE_COLUMNS = ["id", "started_at", "submitted_at", "survey_id", "survey", "version",
                    "unit", "customer_id", "channel", "touchpoint", "language", "nps", "csat",
                    "ces", "completed", "comments", "answers", "source", "external_id"]
FEEDBACK_COLUMNS = ["id", "occurred_at", "kind", "source", "unit", "customer_id", "rating",
                    "rating_max", "title", "text", "author", "url", "channel", "touchpoint",
                    "language", "response_id", "external_id"]
CHUNK = 2000


def responses_csv(*, scope: Scope, filters: ResponseFilter) -> StreamingHttpResponse:
    """Responses newest first; ``comments`` holds the free-text answers, one per line, and
    free text in ``answers`` is redacted too, for readers without PII rights."""
    qs = responses_filtered(scope=scope, filters=filters).order_by("-started_at", "-id")

    def rows() -> Iterator[list[object]]:
        for r in qs.iterator(chunk_size=CHUNK):
            comments = "\n".join(readable_text(item=f, scope=scope)
                                 for f in r.feedback_items.all())
            answers = readable_answers(answers=r.answers, unit_id=r.unit_id, scope=scope)
            yield [r.pk, r.started_at.isoformat(),
                   r.submitted_at.isoformat() if r.submitted_at else "", r.survey_id,
                   r.survey.name, r.survey_version.number, r.unit.code, r.customer_id,
                   r.channel, r.touchpoint, r.language, r.nps, r.csat, r.ces, r.completed,
                   comments, json.dumps(answers, ensure_ascii=False, sort_keys=True),
                   r.source, r.external_id]

    return csv_response("responses.csv", RESPONSE_COLUMNS, rows())


def feedback_csv(*, scope: Scope, filters: FeedbackFilter) -> StreamingHttpResponse:
    """Feedback items newest first, with their text as this reader may see it."""
    qs = feedback_filtered(scope=scope, filters=filters).order_by("-occurred_at", "-id")

    def rows() -> Iterator[list[object]]:
        for f in qs.iterator(chunk_size=CHUNK):
            yield [f.pk, f.occurred_at.isoformat(), f.kind, f.source, f.unit.code,
                   f.customer_id, f.rating, f.rating_max, f.title,
                   readable_text(item=f, scope=scope),
                   f.author, f.url, f.channel, f.touchpoint, f.language, f.response_id,
                   f.external_id]

    return csv_response("feedback.csv", FEEDBACK_COLUMNS, rows())
