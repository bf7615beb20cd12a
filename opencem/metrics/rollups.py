"""Keeping the rollups exact as responses are written.

Feedback announces every batch of response writes inside its transaction
(``feedback.changes``); ``rollups_apply`` turns the batch into net changes of counters per
rollup row — what each response contributed before the write is taken away, what it
contributes after is added — and applies them with one upsert per rollup table
(``INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x``, on PostgreSQL and SQLite alike).
The rollups therefore commit or roll back together with the responses they count, and
concurrent writers of the same row queue on its lock instead of overwriting each other.

The one exception is the hot path, a survey submitted in one statement (the widget, on
PostgreSQL): its planner (``pending_statements``) inserts the counts into
``PendingRollup`` in that statement instead, so submissions share no locked row, and
``rollups_fold`` moves pending counts into the rollups after the outbox drain that settles
the submissions' events (and after every sweep), with one upsert per rollup row for a whole
batch. Those counts are committed with their responses and added exactly once (claimed,
deleted and added in one transaction); the rollups lag behind such a submission until the
relay's next drain (at its commit when Celery runs eagerly, a fraction of a second with a
worker). ``rollups verify`` folds first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from opencem.core.statements import insert_sql
from opencem.feedback.changes import ResponseChange, ResponseFacts, Statement
from opencem.metrics.models import (
    CES_POINTS,
    COUNTER_COLUMNS,
    CSAT_POINTS,
    KEY_COLUMNS,
    NPS_POINTS,
    UNIT_KEY_COLUMNS,
    DailyRollup,
    DailyUnitRollup,
    MonthlyRollup,
    MonthlyUnitRollup,
    PendingRollup,
    RatingRollup,
    RollupCounts,
)
from opencem.surveys.selectors import version_definitions

RollupKey = tuple[date, int, int, str, str]
RatingKey = tuple[date, int, int, str, str, str, int]
RATING_KEY_COLUMNS = (*KEY_COLUMNS, "question", "score")

_INDEX = {name: i for i, name in enumerate(COUNTER_COLUMNS)}
_SCALES = (("nps", NPS_POINTS), ("csat", CSAT_POINTS), ("ces", CES_POINTS))
# Every counter rollup: (model, by month, keeps survey/touchpoint/channel apart).
ROLLUPS: tuple[tuple[type[RollupCounts], bool, bool], ...] = (
    (DailyRollup, False, True), (MonthlyRollup, True, True),
    (DailyUnitRollup, False, False), (MonthlyUnitRollup, True, False))
# Rows per INSERT statement: SQLite allows 32,766 bound values, a rollup row takes 30.
CHUNK = 500


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in the organisation's time zone (``TIME_ZONE``)."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def rollup_day(facts: ResponseFacts) -> date:
    """A response belongs to the day it was submitted, an unfinished one to its start."""
    return local_day(facts.submitted_at or facts.started_at)


def _is_score(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def rating_questions(version_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """The ids of the rating questions of each survey version (published, so immutable)."""
    return {version_id: tuple(q.id for q in definition.questions if q.type == "rating")
            for version_id, definition in version_definitions(version_ids).items()}


class Deltas:
    """Net changes of counters per rollup row, accumulated over a batch of changes."""

    def __init__(self) -> None:
        self.rows: dict[RollupKey, list[int]] = {}
        self.ratings: dict[RatingKey, int] = {}

    def add(self, facts: ResponseFacts, sign: int,
            questions: Mapping[int, tuple[str, ...]]) -> None:
        """Add (sign +1) or take away (sign −1) what one response contributes."""
        key: RollupKey = (rollup_day(facts), facts.unit_id, facts.survey_id, facts.touchpoint,
                          facts.channel)
        counters = self.rows.setdefault(key, [0] * len(COUNTER_COLUMNS))
        counters[_INDEX["responses"]] += sign
        if not facts.completed:
            return
        counters[_INDEX["completed"]] += sign
        for name, points in _SCALES:
            value = getattr(facts, name)
            # Out-of-scale values cannot come through the surveys app; should one be written
            # some other way it is left out here exactly as the rebuild's SQL leaves it out.
            if _is_score(value) and value in points:
                counters[_INDEX[f"{name}_{value}"]] += sign
        for question in questions.get(facts.version_id, ()):
            answer = facts.answers.get(question)
            if isinstance(answer, int) and not isinstance(answer, bool):
                rating_key: RatingKey = (*key, question, answer)
                self.ratings[rating_key] = self.ratings.get(rating_key, 0) + sign

    def add_pending(self, key: RollupKey, counters: Sequence[int],
                    ratings: Sequence[Sequence[Any]]) -> None:
        """Add the counts of a ``PendingRollup`` row."""
        total = self.rows.setdefault(key, [0] * len(COUNTER_COLUMNS))
        for i, value in enumerate(counters):
            total[i] += value
        for question, score, count in ratings:
            rating_key: RatingKey = (*key, question, score)
            self.ratings[rating_key] = self.ratings.get(rating_key, 0) + count

    def pending_rows(self) -> list[dict[str, Any]]:
        """The changes as ``PendingRollup`` rows (field values by attribute name): one per
        daily rollup key, its rating counts with it."""
        ratings: dict[RollupKey, list[list[Any]]] = {}
        for (day, unit, survey, touchpoint, channel, question, score), count \
                in self.rating_rows():
            ratings.setdefault((day, unit, survey, touchpoint, channel), []).append(
                [question, score, count])
        return [{**dict(zip(KEY_COLUMNS, key, strict=True)),
                 **dict(zip(COUNTER_COLUMNS, counters, strict=True)),
                 "ratings": ratings.get(key, [])}
                for key, counters in sorted(self.rows.items())
                if any(counters) or key in ratings]

    def table(self, *, monthly: bool, detailed: bool
              ) -> list[tuple[tuple[date | int | str, ...], list[int]]]:
        """The net changes of one rollup: by day or month, detailed or by unit alone."""
        merged: dict[tuple[date | int | str, ...], list[int]] = {}
        for (day, unit, *rest), counters in self.rows.items():
            key = (day.replace(day=1) if monthly else day, unit, *(rest if detailed else ()))
            total = merged.get(key)
            if total is None:
                merged[key] = list(counters)
            else:
                for i, value in enumerate(counters):
                    total[i] += value
        return sorted((k, v) for k, v in merged.items() if any(v))

    def rating_rows(self) -> list[tuple[RatingKey, int]]:
        return sorted((k, v) for k, v in self.ratings.items() if v)


@lru_cache(maxsize=256)
def _upsert_sql(vendor: str, table: str, key_columns: tuple[str, ...],
                counter_columns: tuple[str, ...], rows: int) -> str:
    """The text of an upsert of ``rows`` rows: the same for every batch of that size, so a
    database that prepares statements plans it once."""
    qn = connection.ops.quote_name
    columns = [*key_columns, *counter_columns]
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{qn(c)} = {qn(table)}.{qn(c)} + excluded.{qn(c)}"
                        for c in counter_columns)
    # Table and column names come from the models, never from input. RETURNING lets the
    # statement run as a part of a bigger one (see ``feedback.changes``).
    return (f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
            f"VALUES {', '.join([placeholder] * rows)} "
            f"ON CONFLICT ({', '.join(qn(c) for c in key_columns)}) "
            f"DO UPDATE SET {updates} RETURNING 1")


def upsert_statements(table: str, key_columns: tuple[str, ...],
                      counter_columns: tuple[str, ...],
                      rows: Sequence[tuple[tuple[date | int | str, ...], Sequence[int]]]
                      ) -> list[Statement]:
    """The statements that add ``rows`` (key, counters) to ``table``, creating the rows that
    do not exist yet: one per ``CHUNK`` rows.

    Rows are sorted by key, so two transactions touching the same rows lock them in the same
    order and cannot deadlock.
    """
    statements: list[Statement] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        params: list[Any] = []
        for key, counters in chunk:
            params += [k.isoformat() if isinstance(k, date) else k for k in key]
            params += counters
        statements.append((_upsert_sql(connection.vendor, table, key_columns, counter_columns,
                                       len(chunk)), params))
    return statements


def _planned(changes: Sequence[ResponseChange],
             make: Callable[[Deltas], list[Statement]]) -> list[Statement]:
    """``make`` applied to the net changes of ``changes``; for one new response (the widget's
    case) made once per distinct count, since its statements depend on nothing else and
    thousands of submissions share a handful of those."""
    completed = {f.version_id for c in changes for f in (c.before, c.after)
                 if f is not None and f.completed}
    questions = rating_questions(completed)
    new = changes[0].after if len(changes) == 1 and changes[0].before is None else None
    if new is None:
        return make(_deltas(changes, questions))
    asked = questions.get(new.version_id, ())
    rated = tuple(new.answers.get(q) for q in asked)
    if not all(r is None or type(r) is int for r in rated):
        return make(_deltas(changes, questions))
    key = (make, connection.vendor, rollup_day(new), new.unit_id, new.survey_id,
           new.touchpoint, new.channel, new.completed, new.nps, new.csat, new.ces, asked, rated)
    made = _made.get(key)
    if made is None:
        made = make(_deltas(changes, questions))
        if len(_made) >= MAX_MADE:
            _made.pop(next(iter(_made)))
        _made[key] = made
    return list(made)


# Statements made for one new response, by what it counts (see ``_planned``); shared, so
# nobody may change them.
_made: dict[tuple[Any, ...], list[Statement]] = {}
MAX_MADE = 1024


def _deltas(changes: Sequence[ResponseChange],
            questions: Mapping[int, tuple[str, ...]]) -> Deltas:
    deltas = Deltas()
    for change in changes:
        if change.before is not None:
            deltas.add(change.before, -1, questions)
        if change.after is not None:
            deltas.add(change.after, +1, questions)
    return deltas


def _upserts(deltas: Deltas) -> list[Statement]:
    """The upserts that add ``deltas`` to the daily, monthly and rating rollups, in a fixed
    order of tables (and of rows within each), so that writers cannot deadlock."""
    statements: list[Statement] = []
    for model, monthly, detailed in ROLLUPS:
        statements += upsert_statements(
            model._meta.db_table, KEY_COLUMNS if detailed else UNIT_KEY_COLUMNS,
            COUNTER_COLUMNS, deltas.table(monthly=monthly, detailed=detailed))
    statements += upsert_statements(RatingRollup._meta.db_table, RATING_KEY_COLUMNS, ("count",),
                                    [(key, [count]) for key, count in deltas.rating_rows()])
    return statements


def _pending_inserts(deltas: Deltas) -> list[Statement]:
    rows = deltas.pending_rows()
    return [insert_sql(PendingRollup, rows, returning=("id",))] if rows else []


def pending_statements(changes: Sequence[ResponseChange]) -> list[Statement]:
    """The insert of a batch of response changes into ``PendingRollup`` (see the module
    docstring).

    Registered with feedback as the planner of the rollups' change hook: a writer runs it
    as part of the very statement that writes the responses.
    """
    return _planned(changes, _pending_inserts)


def _execute(statements: Sequence[Statement]) -> None:
    if statements:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)


def rollups_apply(changes: Sequence[ResponseChange]) -> None:
    """Apply a batch of response changes to the daily, monthly and rating rollups.

    Registered with feedback as a change hook, so it runs inside the transaction that wrote
    the responses (see the module docstring).
    """
    _execute(_planned(changes, _upserts))


FOLD_BATCH = 5000


def rollups_fold(*, limit: int = FOLD_BATCH) -> int:
    """Add the pending counts to the rollups, ``limit`` rows per transaction, until none
    is left; returns how many rows were folded.

    Each transaction claims the oldest pending rows (rows another fold holds are skipped),
    deletes them and adds their sums with one upsert per rollup row, so every count is added
    once: a fold that fails leaves its rows pending.
    """
    folded = 0
    while True:
        with transaction.atomic():
            rows = list(PendingRollup.objects.select_for_update(skip_locked=True)
                        .order_by("id")
                        .values_list("id", *KEY_COLUMNS, *COUNTER_COLUMNS, "ratings")[:limit])
            if not rows:
                return folded
            PendingRollup.objects.filter(id__in=[row[0] for row in rows]).delete()
            deltas = Deltas()
            for _id, day, unit, survey, touchpoint, channel, *counters, ratings in rows:
                deltas.add_pending((day, unit, survey, touchpoint, channel), counters, ratings)
            _execute(_upserts(deltas))
        folded += len(rows)
        if len(rows) < limit:
            return folded
