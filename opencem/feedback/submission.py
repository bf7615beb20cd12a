"""A response answered in one go (the widget), written by one SQL statement on PostgreSQL.

The statement does what ``services.response_submit`` does through the ORM, in the same order:
the repeat check, the response row, its comments as feedback items, the outbox events
(``response.created``, ``response.completed``, one ``feedback.created`` per comment), then the
statements the change hooks planned for it (the metrics rollups). PostgreSQL runs one
statement atomically, so all of it is stored, or none, before the client hears back. The
counter rows that every submission of a survey shares are locked last, for the shortest time.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from opencem.core.errors import ApplicationError
from opencem.core.relay import outbox_wake
from opencem.core.services import outbox_emit_sql
from opencem.core.statements import Expr, OneStatement, insert_sql
from opencem.feedback.changes import Statement
from opencem.feedback.choices import Topic
from opencem.feedback.events import (
    comment_payload,
    comment_rows,
    response_payload,
    response_topics,
)
from opencem.feedback.models import FeedbackItem, Response

RESPONSE_ID = Expr('(SELECT "id" FROM "response")')


class VersionChanged(ApplicationError):
    """The survey version a response was checked against is no longer the one to answer."""

    def __init__(self) -> None:
        super().__init__("The survey changed while you answered it; please answer again.",
                         status=409, code="survey_changed")


def response_insert_one_statement(*, response: Response, comments: tuple[tuple[str, str], ...],
                                  repeat_since: datetime | None, planned: list[Statement],
                                  version_check: Statement | None = None) -> tuple[int, bool]:
    """Insert the completed ``response`` (unsaved) with its comments, events and ``planned``
    statements; returns its id and whether it was flagged a repeat.

    With ``repeat_since``, the response gets the flag ``repeat`` when its respondent completed
    the same survey since then. With ``version_check`` (a query giving the version id while
    it is still the one to answer) the response stores what it gives, so once it gives
    nothing the whole statement fails on the column's NOT NULL and ``VersionChanged`` is
    raised: nothing is stored.
    """
    db = connections[DEFAULT_DB_ALIAS]
    statement = OneStatement()
    row = {f.attname: getattr(response, f.attname) for f in Response._meta.concrete_fields}
    if version_check is not None:
        check_sql, check_params = version_check
        row["survey_version_id"] = Expr(f"({check_sql})", tuple(check_params))
    if repeat_since is not None and response.respondent_key:
        table = db.ops.quote_name(Response._meta.db_table)
        # Table and column names come from the models, never from input. The key is never
        # empty here; saying so lets a prepared plan use the partial index on
        # (respondent_key, submitted_at). "survey_id + 0" keeps the survey's own indexes out
        # of the plan, as in ``services._answered_recently``.
        statement.add("earlier", f"SELECT EXISTS (SELECT 1 FROM {table} "  # noqa: S608
                      "WHERE survey_id + 0 = %s AND respondent_key = %s "
                      "AND respondent_key <> '' "
                      "AND completed AND submitted_at >= %s) AS hit",
                      [response.survey_id, response.respondent_key, repeat_since])
        repeated = list(dict.fromkeys([*response.flags, "repeat"]))
        row["flags"] = Expr('CASE WHEN (SELECT hit FROM "earlier") THEN %s::jsonb '
                            "ELSE %s::jsonb END",
                            (db.ops.adapt_json_value(repeated, None),
                             db.ops.adapt_json_value(response.flags, None)))
        hit = '(SELECT hit FROM "earlier")'
    else:
        hit = "false"
    statement.add("response", *insert_sql(Response, [row], returning=("id",)))
    payload = _with_ids(db, response_payload(response))
    events: list[tuple[str, Any]] = [
        (topic, payload) for topic in response_topics(response, created=True)]
    items = comment_rows(response, comments)
    if items:
        for item in items:
            item["response_id"] = RESPONSE_ID
        statement.add("items", *insert_sql(FeedbackItem, items,
                                           returning=("id", "question_id")))
        events += [(Topic.FEEDBACK_CREATED,
                    _with_ids(db, comment_payload(item), feedback_of=item["question_id"]))
                   for item in items]
    statement.add("events", *outbox_emit_sql(events=events))
    for i, (sql, params) in enumerate(planned):
        statement.add(f"planned_{i}", sql, params)
    # Inside a caller's transaction a refusal must not spoil it: the statement gets a
    # savepoint there. Alone (a web request) it is atomic by itself and needs none.
    try:
        with transaction.atomic() if db.in_atomic_block else nullcontext():
            response_id, repeat = statement.run(result=f"{RESPONSE_ID.sql}, {hit}")
    except IntegrityError as exc:
        column = getattr(getattr(exc.__cause__, "diag", None), "column_name", None)
        if version_check is not None and column == "survey_version_id":
            raise VersionChanged from exc
        raise
    # The events are committed with the response (or with the caller's transaction); the
    # relay is woken after that, outside the statement.
    outbox_wake()
    return int(response_id), bool(repeat)


def _with_ids(db: Any, payload: dict[str, Any], *, feedback_of: str | None = None) -> Expr:
    """``payload`` as jsonb with the ids the statement assigns put in: the response's, and
    the feedback item's of the comment on ``feedback_of`` (question ids are unique)."""
    fixed = {k: v for k, v in payload.items() if k not in ("response_id", "feedback_id")}
    parts = ["%s::jsonb", f"jsonb_build_object('response_id', {RESPONSE_ID.sql})"]
    params: list[Any] = [db.ops.adapt_json_value(fixed, None)]
    if feedback_of is not None:
        parts.append("jsonb_build_object('feedback_id', "
                     '(SELECT "id" FROM "items" WHERE "question_id" = %s))')
        params.append(feedback_of)
    return Expr(" || ".join(parts), tuple(params))
