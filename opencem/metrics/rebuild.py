"""Recomputing the rollups from the raw responses: ``opencem rollups rebuild`` and ``verify``.

Both run as SQL over the responses table (``INSERT … SELECT … GROUP BY``), never row by row
in Python, so they take seconds, not hours, at ten million responses. The grouping is the
same one ``rollups`` applies incrementally: the day of submission (of the start, for an
unfinished response) in the organisation's time zone, unit, survey, touchpoint, channel.

While either runs, the rollup tables and the counts pending for them are locked against
writers (on PostgreSQL; SQLite has one writer anyway), so a response recorded meanwhile
waits and is then added on top: the result is exact, not merely close. Verify folds the
pending counts in first; rebuild drops them, since it counts their responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DateField, F, IntegerField, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from opencem.feedback.selectors import responses_visible
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
)
from opencem.metrics.rollups import RATING_KEY_COLUMNS, rating_questions, rollups_fold
from opencem.metrics.sources import EVERYTHING

TABLES = (DailyRollup, MonthlyRollup, DailyUnitRollup, MonthlyUnitRollup, RatingRollup)
# The rollups and the counts pending for them: what every writer of either writes.
WRITTEN = (*TABLES, PendingRollup)
# A verify report lists this many differing rows per table; the count covers them all.
SHOWN = 20


def _qn(name: str) -> str:
    return str(connection.ops.quote_name(name))


def _counters() -> dict[str, Count]:
    """The counter columns as aggregates over raw responses (prefixed: some are field names)."""
    done = Q(completed=True)
    aggregates = {"c_responses": Count("id"), "c_completed": Count("id", filter=done)}
    for name, points in (("nps", NPS_POINTS), ("csat", CSAT_POINTS), ("ces", CES_POINTS)):
        for point in points:
            aggregates[f"c_{name}_{point}"] = Count("id", filter=done & Q(**{name: point}))
    return aggregates


def _raw_rows(*, monthly: bool) -> QuerySet[Any, dict[str, Any]]:
    """One row per rollup key, computed from the responses themselves."""
    zone = timezone.get_default_timezone()
    moment = Coalesce("submitted_at", "started_at")
    day = (Cast(TruncMonth(moment, tzinfo=zone), DateField()) if monthly
           else TruncDate(moment, tzinfo=zone))
    return (responses_visible(scope=EVERYTHING).order_by()
            .annotate(k_date=day)
            .values("k_date", "unit_id", "survey_id", "touchpoint", "channel")
            .annotate(**_counters()))


def _raw_ratings() -> list[tuple[str, QuerySet[Any, dict[str, Any]]]]:
    """Per (survey, rating question): the counts of each score, from the responses."""
    zone = timezone.get_default_timezone()
    responses = responses_visible(scope=EVERYTHING).order_by()
    versions = list(responses.filter(completed=True)
                    .values_list("survey_version_id", flat=True).distinct())
    by_question: dict[str, set[int]] = {}
    for version_id, questions in rating_questions(versions).items():
        for question in questions:
            by_question.setdefault(question, set()).add(version_id)
    queries = []
    for question, version_ids in sorted(by_question.items()):
        score = Cast(KeyTextTransform(question, "answers"), IntegerField())
        queries.append((question, responses.filter(
            completed=True, survey_version_id__in=sorted(version_ids))
            .annotate(k_date=TruncDate(Coalesce("submitted_at", "started_at"), tzinfo=zone),
                      k_score=score)
            .filter(k_score__isnull=False)
            .values("k_date", "unit_id", "survey_id", "touchpoint", "channel", "k_score")
            .annotate(c_count=Count("id"))))
    return queries


def _select(qs: QuerySet[Any, dict[str, Any]], outer: Sequence[str]) -> tuple[str, list[Any]]:
    """``SELECT <outer> FROM (<qs>)``: columns picked by name, whatever order Django chose."""
    sql, params = qs.query.sql_with_params()
    return (f"SELECT {', '.join(outer)} FROM ({sql}) AS raw",  # noqa: S608
            list(params))


def _raw_keys() -> list[str]:
    return [f"raw.{_qn('k_date')}", *(f"raw.{_qn(c)}" for c in KEY_COLUMNS[1:])]


def _raw_counters() -> list[str]:
    return [f"raw.{_qn('c_' + c)}" for c in COUNTER_COLUMNS]


def _insert_from(table: str, columns: Sequence[str], select: tuple[str, list[Any]],
                 *, temporary: bool = False) -> None:
    sql, params = select
    with connection.cursor() as cursor:
        if temporary:
            cursor.execute(f"CREATE TEMPORARY TABLE {_qn(table)} AS {sql}", params)
        else:
            cursor.execute(f"INSERT INTO {_qn(table)} ({', '.join(_qn(c) for c in columns)}) "
                           f"{sql}", params)


def _lock(mode: str) -> None:
    """Lock the rollups and the counts pending for them against every writer of either."""
    if connection.vendor == "postgresql":
        names = ", ".join(_qn(m._meta.db_table) for m in WRITTEN)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {names} IN {mode} MODE")


@dataclass(frozen=True)
class RebuildResult:
    """How many rows each rollup holds after a rebuild."""

    daily: int
    monthly: int
    daily_units: int
    monthly_units: int
    ratings: int


def rollups_rebuild() -> RebuildResult:
    """Replace every rollup row by one recomputed from the responses, in one transaction."""
    columns = [*KEY_COLUMNS, *COUNTER_COLUMNS]
    with transaction.atomic():
        _lock("EXCLUSIVE")
        # Pending counts belong to committed responses, which the recomputation counts.
        for model in WRITTEN:
            model.objects.all().delete()
        _insert_from(DailyRollup._meta.db_table, columns,
                     _select(_raw_rows(monthly=False), [*_raw_keys(), *_raw_counters()]))
        # Months from days: the same sums, a thirtieth of the rows to read.
        months = (DailyRollup.objects.order_by()
                  .annotate(k_date=Cast(TruncMonth("date"), DateField()))
                  .values("k_date", "unit_id", "survey_id", "touchpoint", "channel")
                  .annotate(**{f"c_{c}": Sum(c) for c in COUNTER_COLUMNS}))
        _insert_from(MonthlyRollup._meta.db_table, columns,
                     _select(months, [*_raw_keys(), *_raw_counters()]))
        # Units alone: the detailed rows summed over survey, touchpoint and channel.
        for model, source in ((DailyUnitRollup, DailyRollup),
                              (MonthlyUnitRollup, MonthlyRollup)):
            by_unit = (source.objects.order_by().annotate(k_date=F("date"))
                       .values("k_date", "unit_id")
                       .annotate(**{f"c_{c}": Sum(c) for c in COUNTER_COLUMNS}))
            _insert_from(model._meta.db_table, [*UNIT_KEY_COLUMNS, *COUNTER_COLUMNS],
                         _select(by_unit, [*_raw_keys()[:2], *_raw_counters()]))
        for question, qs in _raw_ratings():
            sql, params = _select(qs, [*_raw_keys(), "%s", f"raw.{_qn('k_score')}",
                                       f"raw.{_qn('c_count')}"])
            _insert_from(RatingRollup._meta.db_table, [*RATING_KEY_COLUMNS, "count"],
                         (sql, [question, *params]))
        result = RebuildResult(*(model.objects.count() for model in TABLES))
    if connection.vendor == "postgresql":
        # The tables just changed wholesale; fresh statistics let the planner see it.
        with connection.cursor() as cursor:
            for model in TABLES:
                cursor.execute(f"ANALYZE {_qn(model._meta.db_table)}")
    return result


@dataclass(frozen=True)
class Difference:
    """A rollup row that does not match the responses: ``expected`` from the raw rows,
    ``actual`` from the rollup (None where that side has no such row)."""

    table: str
    key: tuple[Any, ...]
    expected: dict[str, int] | None
    actual: dict[str, int] | None


@dataclass(frozen=True)
class VerifyResult:
    """Rows compared per table, the number of differing rows, and the first few of them."""

    compared: dict[str, int]
    different: dict[str, int]
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return not any(self.different.values())


def _compare(label: str, table: str, expected: str, keys: Sequence[str],
             counters: Sequence[str]) -> tuple[int, int, list[Difference]]:
    """Rows of ``expected`` (a temporary table) and ``table`` that differ, both ways.

    Returns the rows compared, the number of keys that differ and the first few of them.
    Rollup rows whose counters are all zero (every response of the group deleted) count as
    absent, which is what the raw rows say of them.

    One full join on the key (unique on both sides, never NULL) finds every difference in
    one pass over each table; the differences, few when all is well, are kept aside to be
    counted and listed.
    """
    nonzero = " OR ".join(f"{_qn(c)} <> 0" for c in counters)
    actual = f"SELECT * FROM {_qn(table)} WHERE {nonzero}"  # noqa: S608
    sides = {"expected": "e", "actual": "a"}
    picked = ", ".join(f"{alias}.{_qn(c)} AS {alias}_{i}" for alias in sides.values()
                       for i, c in enumerate([*keys, *counters]))
    same_key = " AND ".join(f"e.{_qn(c)} = a.{_qn(c)}" for c in keys)
    differs = " OR ".join(f"e.{_qn(c)} IS DISTINCT FROM a.{_qn(c)}" for c in counters)
    first = _qn(keys[0])
    differences = _qn(f"{expected}_differences")
    found: dict[tuple[Any, ...], dict[str, dict[str, int] | None]] = {}
    order = ", ".join(f"{{side}}_{i}" for i in range(len(keys)))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {_qn(expected)}")  # noqa: S608
        compared = int(cursor.fetchone()[0])
        cursor.execute(
            f"CREATE TEMPORARY TABLE {differences} AS SELECT {picked} "  # noqa: S608
            f"FROM {_qn(expected)} AS e FULL JOIN ({actual}) AS a ON {same_key} "
            f"WHERE e.{first} IS NULL OR a.{first} IS NULL OR {differs}")
        try:
            cursor.execute(f"SELECT COUNT(*) FROM {differences}")  # noqa: S608
            different = int(cursor.fetchone()[0])
            width = len(keys) + len(counters)
            for side, alias in sides.items():
                columns = ", ".join(f"{alias}_{i}" for i in range(width))
                cursor.execute(f"SELECT {columns} FROM {differences} "  # noqa: S608
                               f"WHERE {alias}_0 IS NOT NULL "
                               f"ORDER BY {order.format(side=alias)} LIMIT {SHOWN}")
                for row in cursor.fetchall():
                    key = tuple(str(v) for v in row[:len(keys)])
                    entry = found.setdefault(key, {"expected": None, "actual": None})
                    entry[side] = dict(zip(counters, (int(v) for v in row[len(keys):]),
                                           strict=True))
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {differences}")
    listed = [Difference(label, key, e["expected"], e["actual"])
              for key, e in sorted(found.items())][:SHOWN]
    return compared, different, listed


def _month_of(day: str) -> str:
    """SQL for the first day of the month of the date column ``day``."""
    if connection.vendor == "sqlite":
        return f"date({day}, 'start of month')"
    return f"CAST(date_trunc('month', {day}) AS date)"


def rollups_verify() -> VerifyResult:
    """Recompute every rollup row from the responses and report each one that differs."""
    columns = [*KEY_COLUMNS, *COUNTER_COLUMNS]
    plan: list[tuple[str, str, str, tuple[str, list[Any]], Sequence[str], Sequence[str]]] = [
        ("daily", DailyRollup._meta.db_table, "metrics_expected_daily",
         _select(_raw_rows(monthly=False),
                 [f"{k} AS {_qn(c)}" for k, c in zip([*_raw_keys(), *_raw_counters()], columns,
                                                      strict=True)]),
         KEY_COLUMNS, COUNTER_COLUMNS),
    ]
    # The other rollups against the expected days summed by month, by unit, or both: the raw
    # rows are read once, not four times (a month is the sum of its local days).
    sums = ", ".join(f"SUM({_qn(c)}) AS {_qn(c)}" for c in COUNTER_COLUMNS)
    month = _month_of(_qn("date"))
    key_columns: Sequence[str]
    for label, table, name, key_columns in (
            ("monthly", MonthlyRollup._meta.db_table, "metrics_expected_monthly", KEY_COLUMNS),
            ("daily by unit", DailyUnitRollup._meta.db_table, "metrics_expected_daily_unit",
             UNIT_KEY_COLUMNS),
            ("monthly by unit", MonthlyUnitRollup._meta.db_table,
             "metrics_expected_monthly_unit", UNIT_KEY_COLUMNS)):
        by = ", ".join(_qn(c) for c in key_columns[1:])
        day = month if "monthly" in label else _qn("date")
        plan.append((label, table, name,
                     (f"SELECT {day} AS {_qn('date')}, {by}, {sums} "  # noqa: S608
                      f"FROM {_qn('metrics_expected_daily')} GROUP BY {day}, {by}", []),
                     key_columns, COUNTER_COLUMNS))
    compared: dict[str, int] = {}
    different: dict[str, int] = {}
    differences: list[Difference] = []
    with transaction.atomic():
        _lock("SHARE")
        # Counts still pending are added first (in this transaction, which alone may write
        # while it holds the lock): the rollups are compared as readers will see them.
        rollups_fold()
        rating_selects = _rating_selects()
        plan.append(("ratings", RatingRollup._meta.db_table, "metrics_expected_ratings",
                     rating_selects, RATING_KEY_COLUMNS, ("count",)))
        try:
            for label, table, expected, select, keys, counters in plan:
                _insert_from(expected, (), select, temporary=True)
                compared[label], different[label], found = _compare(
                    label, table, expected, keys, counters)
                differences += found
        finally:
            with connection.cursor() as cursor:
                for _label, _table, expected, *_rest in plan:
                    cursor.execute(f"DROP TABLE IF EXISTS {_qn(expected)}")
    return VerifyResult(compared, different, differences)


def _rating_selects() -> tuple[str, list[Any]]:
    """All rating questions' expected rows as one SELECT (a UNION ALL of one per question)."""
    parts: list[str] = []
    params: list[Any] = []
    outer = [*(f"{k} AS {_qn(c)}" for k, c in zip(_raw_keys(), KEY_COLUMNS, strict=True)),
             f"%s AS {_qn('question')}", f"raw.{_qn('k_score')} AS {_qn('score')}",
             f"raw.{_qn('c_count')} AS {_qn('count')}"]
    for question, qs in _raw_ratings():
        sql, part_params = _select(qs, outer)
        parts.append(sql)
        params += [question, *part_params]
    if not parts:
        # No rating questions answered: an empty table of the right shape.
        return (f"SELECT {', '.join(_qn(c) for c in [*RATING_KEY_COLUMNS, 'count'])} "  # noqa: S608
                f"FROM {_qn(RatingRollup._meta.db_table)} WHERE 1 = 0", [])
    return " UNION ALL ".join(parts), params


def describe(result: VerifyResult) -> Iterable[str]:
    """The verify report, line by line, for the command line."""
    for label in result.compared:
        state = "ok" if not result.different[label] else f"{result.different[label]} differ"
        yield f"{label}: {result.compared[label]} rows recomputed from the responses, {state}"
    for d in result.differences:
        yield f"  {d.table} {d.key}: expected {d.expected}, rollup has {d.actual}"
