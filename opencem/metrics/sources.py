"""Counts per group, read from the rollups or, where they cannot answer, from raw rows.

Every reader returns ``{(node, value of dim 1, …): counts}`` where ``node`` is the unit (or
collapsed subtree, see ``cube.Tree``) the rows belong to and counts is the metric's histogram
or (successes, n). The SQL does the summing; Python only reshapes the few thousand groups.

- The rollups answer every metric but ratings and the response rate, for every dimension but
  customer attributes. Whole months are read from the monthly rollup, the days at the edges
  of a range from the daily one.
- Ratings come from the rating rollup (one row per score).
- Customer attributes are not in any rollup (they change, and a rollup by attribute could not
  stay exact), so a query naming one reads the responses themselves.
- The response rate reads the invitations.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DateField,
    Expression,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import (
    Cast,
    Coalesce,
    TruncDate,
    TruncMonth,
    TruncQuarter,
    TruncWeek,
)
from django.utils import timezone

from opencem.accounts.selectors import WHOLE_ORGANISATION
from opencem.feedback.selectors import responses_visible
from opencem.metrics.cube import Key, Tree
from opencem.metrics.definitions import Counts, Measure, Metric, Source
from opencem.metrics.models import (
    DailyRollup,
    DailyUnitRollup,
    MonthlyRollup,
    MonthlyUnitRollup,
    RatingRollup,
    RollupCounts,
)
from opencem.surveys.selectors import invitations_visible

# Metrics read every unit's rows: the rollups count them all, and anonymity must weigh the
# siblings of a group even where the viewer may not see them. What is shown is limited to the
# viewer's scope afterwards (``series``).
EVERYTHING = WHOLE_ORGANISATION


class Dimension(StrEnum):
    """What a metric can be grouped by."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    UNIT = "unit"
    TOUCHPOINT = "touchpoint"
    CHANNEL = "channel"
    SURVEY = "survey"
    ATTRIBUTE = "attribute"
    # Filled by apps above metrics through ``register_dimension`` (text analytics: the themes
    # and the sentiment of a response's comments); refused while nobody registered them.
    THEME = "theme"
    SENTIMENT = "sentiment"


TIME = (Dimension.DAY, Dimension.WEEK, Dimension.MONTH, Dimension.QUARTER)
PLUGGABLE = (Dimension.THEME, Dimension.SENTIMENT)


@dataclass(frozen=True)
class RegisteredDimension:
    """How to group raw responses by a dimension another app provides: ``expression()`` is
    an ORM expression on ``Response`` rows; ``many`` says a response may fall in several
    groups (it then counts once in each)."""

    expression: Any
    many: bool = False


_REGISTERED: dict[Dimension, RegisteredDimension] = {}


def register_dimension(dim: Dimension, *, expression: Any, many: bool = False) -> None:
    """Let metrics group responses by ``dim`` (one of ``PLUGGABLE``); called from the
    providing app's ``AppConfig.ready()``, so metrics never imports it."""
    if dim not in PLUGGABLE:
        raise ValueError(f"{dim} is not a pluggable dimension")
    _REGISTERED[dim] = RegisteredDimension(expression, many)


def is_registered(dim: Dimension) -> bool:
    return dim in _REGISTERED


@dataclass(frozen=True)
class Selection:
    """What to read: the dimensions (unit excluded: the tree handles it), range and filters.

    ``dims`` may include filter dimensions the caller groups by only to apply anonymity.
    """

    measure: Measure
    dims: tuple[Dimension, ...]
    start: date
    end: date  # inclusive
    survey_id: int | None = None  # a filter only for ratings; else survey is a dimension
    question: str = ""
    version_ids: tuple[int, ...] = ()  # for ratings: the versions that ask the question
    attribute: str = ""
    organisation_unit_ids: tuple[int, ...] | None = None  # None: one organisation only


def bucket(day: date, dim: Dimension) -> date:
    """The first day of the day/week/month/quarter ``day`` falls in."""
    if dim == Dimension.DAY:
        return day
    if dim == Dimension.WEEK:
        return day - timedelta(days=day.weekday())
    if dim == Dimension.MONTH:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def shift_months(day: date, months: int) -> date:
    """The same day ``months`` later (earlier when negative), clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def previous_bucket(start: date, dim: Dimension) -> date:
    if dim == Dimension.DAY:
        return start - timedelta(days=1)
    if dim == Dimension.WEEK:
        return start - timedelta(days=7)
    return shift_months(start, -1 if dim == Dimension.MONTH else -3)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _time_expression(dim: Dimension, field: str | Expression, *, zone: Any = None) -> Any:
    """Truncate a date (rollups) or a moment (raw rows, in ``zone``) to its bucket."""
    if dim == Dimension.DAY:
        return F(field) if zone is None and isinstance(field, str) else TruncDate(
            field, tzinfo=zone)
    kind = {Dimension.WEEK: TruncWeek, Dimension.MONTH: TruncMonth,
            Dimension.QUARTER: TruncQuarter}[dim]
    return kind(field, tzinfo=zone, output_field=DateField())


def _as_date(value: Any) -> Any:
    """A period's first day as a date, whatever the database returned for it."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _grouped(qs: QuerySet[Any], tree: Tree, dims: dict[str, Any], sums: dict[str, Any],
             *, one_row_per_group: bool = False) -> list[tuple[Any, ...]]:
    """Rows (node, dims…, sums…): every node of the tree with its whole subtree summed.

    The rows are grouped by unit first, then joined to the tree's (unit, node above it)
    pairs and grouped again, so the database adds up each subtree and Python receives one
    row per group it shows. Run as plain SQL: an answer may hold thousands of groups, and
    Django's per-value converters would cost more than the query. Only periods need converting.

    ``one_row_per_group`` says that ``qs`` holds at most one row per unit and group already
    (a monthly rollup by unit, grouped by month): the first grouping would change nothing, and
    without it the subtree sums add up integers instead of the numerics PostgreSQL makes of
    sums of sums, which takes a third off the query.
    """
    qn = connection.ops.quote_name
    nodes = set(tree.node_of.values())
    dim_columns = [f"grouped.{qn(name)}" for name in dims]
    sum_columns = [f"grouped.{qn(name)}" for name in sums]
    if len(nodes) == 1:
        # One node (the answer's root, collapsed): no tree to walk.
        (node,) = nodes
        grouped = (qs.order_by().annotate(g_node=Value(node, output_field=IntegerField()),
                                          **dims)
                   .values("g_node", *dims).annotate(**sums))
        sql, params = grouped.query.sql_with_params()
        select = ", ".join(["grouped.g_node", *dim_columns, *sum_columns])
        query = f"SELECT {select} FROM ({sql}) AS grouped"  # noqa: S608
    else:
        if one_row_per_group:
            plain = {name: total.get_source_expressions()[0] for name, total in sums.items()}
            grouped = qs.order_by().annotate(**dims, **plain).values("unit_id", *dims, *plain)
        else:
            grouped = qs.order_by().annotate(**dims).values("unit_id", *dims).annotate(**sums)
        sql, params = grouped.query.sql_with_params()
        # Ids from the database, written as numbers: no limit on bound parameters to hit.
        pairs = ", ".join(f"({int(unit)}, {int(above)})" for unit, node in tree.node_of.items()
                          for above in tree.lineage(node))
        group = ", ".join(["tree.node", *dim_columns])
        totals = ", ".join(f"CAST(SUM({c}) AS BIGINT)" for c in sum_columns)
        query = (f"WITH tree(unit_id, node) AS (VALUES {pairs}) "  # noqa: S608
                 f"SELECT {group}, {totals} FROM ({sql}) AS grouped "
                 f"JOIN tree ON tree.unit_id = grouped.unit_id GROUP BY {group}")
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    # A column comes back as one type: where the first row's periods are dates already (as
    # PostgreSQL returns them), so are all the others.
    periods = [i + 1 for i, name in enumerate(dims) if name[2:] in TIME
               and rows and type(rows[0][i + 1]) is not date]
    if not periods:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for i in periods:
            values[i] = _as_date(values[i])
        converted.append(tuple(values))
    return converted


def _dimension_expressions(selection: Selection, *, zone: Any = None,
                           moment: str | Expression = "date") -> dict[str, Any]:
    """SQL for each dimension, on rollup columns (zone None) or on raw rows."""
    expressions: dict[str, Any] = {}
    for dim in selection.dims:
        name = f"g_{dim.value}"
        if dim in TIME:
            expressions[name] = _time_expression(dim, moment, zone=zone)
        elif dim == Dimension.SURVEY:
            expressions[name] = F("survey_id")
        elif dim in _REGISTERED:
            expressions[name] = _REGISTERED[dim].expression()
        elif dim == Dimension.ATTRIBUTE:
            expressions[name] = Coalesce(
                Cast(KeyTextTransform(selection.attribute, "customer__attributes"),
                     TextField()), Value(""), output_field=TextField())
        else:
            expressions[name] = F(dim.value)
    return expressions


def _unit_filter(selection: Selection) -> Q:
    ids = selection.organisation_unit_ids
    return Q() if ids is None else Q(unit_id__in=ids)


def _collect(target: dict[Key, Counts], rows: Sequence[tuple[Any, ...]],
             ndims: int) -> None:
    """Add SQL rows (node, dims…, counts…) into ``target`` (a range read in parts adds up)."""
    cut = ndims + 1
    # A column has one type: where the first row's counts are ints (not Decimal), only
    # NULLs (a sum of no values) need converting.
    plain = not rows or all(type(c) is int for c in rows[0][cut:])
    for row in rows:
        counts = row[cut:]
        if not plain or None in counts:
            counts = tuple(int(c or 0) for c in counts)
        key = row[:cut]
        known = target.get(key)
        target[key] = counts if known is None else tuple(
            a + b for a, b in zip(known, counts, strict=True))


DETAIL = (Dimension.SURVEY, Dimension.TOUCHPOINT, Dimension.CHANNEL)


def _ranges(selection: Selection) -> list[tuple[type[RollupCounts], bool, date, date]]:
    """Which rollup answers which part of the range, and whether it is the monthly one.

    Whole months come from a monthly rollup, the days at the edges from a daily one; the
    rollups by unit alone answer whenever survey, touchpoint and channel are not asked for.
    """
    detailed = any(d in DETAIL for d in selection.dims)
    daily: type[RollupCounts] = DailyRollup if detailed else DailyUnitRollup
    monthly: type[RollupCounts] = MonthlyRollup if detailed else MonthlyUnitRollup
    start, end = selection.start, selection.end
    if any(d in (Dimension.DAY, Dimension.WEEK) for d in selection.dims):
        return [(daily, False, start, end)]
    first = start if start.day == 1 else shift_months(start.replace(day=1), 1)
    last = end.replace(day=1) if end == month_end(end) else shift_months(end.replace(day=1), -1)
    if first > last:
        return [(daily, False, start, end)]
    parts = [(monthly, True, first, last)]
    if start < first:
        parts.append((daily, False, start, first - timedelta(days=1)))
    if end > month_end(last):
        parts.append((daily, False, month_end(last) + timedelta(days=1), end))
    return parts


def read_rollups(selection: Selection, tree: Tree) -> dict[Key, Counts]:
    measure = selection.measure
    found: dict[Key, Counts] = {}
    for model, monthly, start, end in _ranges(selection):
        dims = _dimension_expressions(selection)
        if monthly and Dimension.MONTH in selection.dims:
            dims[f"g_{Dimension.MONTH.value}"] = F("date")  # already the month's first day
        qs = model._default_manager.filter(_unit_filter(selection), date__gte=start,
                                           date__lte=end)
        # A rollup's row is one day or month of one unit (and survey, touchpoint and channel
        # in the detailed ones): grouped by all of these, each group is one row.
        grain = Dimension.MONTH if monthly else Dimension.DAY
        unique = grain in selection.dims and (
            model in (DailyUnitRollup, MonthlyUnitRollup)
            or all(d in selection.dims for d in DETAIL))
        _collect(found, _grouped(qs, tree, dims, _rollup_sums(measure),
                                 one_row_per_group=unique), len(dims))
    return found


def _rollup_sums(measure: Measure) -> dict[str, Any]:
    """SQL sums of the rollup columns, one per bin (or per counted column)."""
    if not measure.bins:
        return {f"s_{c}": Sum(c) for c in measure.columns}
    sums = {}
    for i, points in enumerate(measure.bins):
        total: Any = F(f"{measure.histogram}_{points[0]}")
        for point in points[1:]:
            total = total + F(f"{measure.histogram}_{point}")
        sums[f"s_{i}"] = Sum(total)
    return sums


def read_ratings(selection: Selection, tree: Tree) -> dict[Key, Counts]:
    measure = selection.measure
    assert measure.scale is not None
    low, high = measure.scale
    bin_of = measure.bin_of()
    dims = _dimension_expressions(selection)
    assert selection.survey_id is not None
    qs = RatingRollup.objects.filter(
        _unit_filter(selection), survey_id=selection.survey_id, question=selection.question,
        date__gte=selection.start, date__lte=selection.end, score__gte=low, score__lte=high)
    rows = _grouped(qs, tree, {**dims, "g_score": F("score")}, {"s_count": Sum("count")})
    found: dict[Key, list[int]] = {}
    for row in rows:
        *key, score, count = row
        counts = found.setdefault(tuple(key), [0] * measure.width)
        counts[bin_of[score]] += int(count)
    return {key: tuple(counts) for key, counts in found.items()}


def _moments(start: date, end: date) -> tuple[datetime, datetime]:
    """The range of local days as aware datetimes, end exclusive."""
    zone = timezone.get_default_timezone()
    return (datetime.combine(start, time.min, tzinfo=zone),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))


def read_responses(selection: Selection, tree: Tree) -> dict[Key, Counts]:
    """Counts from the raw responses, for groupings the rollups do not hold."""
    measure = selection.measure
    zone = timezone.get_default_timezone()
    since, until = _moments(selection.start, selection.end)
    qs = responses_visible(scope=EVERYTHING).filter(
        _unit_filter(selection),
        Q(submitted_at__gte=since, submitted_at__lt=until)
        | Q(submitted_at__isnull=True, started_at__gte=since, started_at__lt=until))
    moment = Coalesce("submitted_at", "started_at")
    dims = _dimension_expressions(selection, zone=zone, moment=moment)
    if selection.survey_id is not None:
        qs = qs.filter(survey_id=selection.survey_id)
    if selection.version_ids:
        # Only the versions that ask the question as a rating: another version may use the
        # same id for a question of another type.
        qs = qs.filter(survey_version_id__in=selection.version_ids)
    found: dict[Key, list[int]] = {}
    # A dimension with several values per response joins one row per value: count each
    # response once per group.
    distinct = any(_REGISTERED[d].many for d in selection.dims if d in _REGISTERED)
    if measure.metric in (Metric.VOLUME, Metric.COMPLETION_RATE):
        sums = {"s_completed": Count("id", filter=Q(completed=True), distinct=distinct)}
        if measure.metric == Metric.COMPLETION_RATE:
            sums["s_responses"] = Count("id", distinct=distinct)
        counted: dict[Key, Counts] = {}
        _collect(counted, _grouped(qs, tree, dims, sums), len(dims))
        return counted
    assert measure.scale is not None
    low, high = measure.scale
    bin_of = measure.bin_of()
    if measure.histogram is None:  # a rating question, in the answers
        score: Any = Cast(KeyTextTransform(selection.question, "answers"), IntegerField())
    else:
        score = F(measure.histogram)
    qs = qs.filter(completed=True).annotate(g_score=score).filter(
        g_score__gte=low, g_score__lte=high)
    rows = _grouped(qs, tree, {**dims, "g_score": F("g_score")},
                    {"s_count": Count("id", distinct=distinct)})
    for row in rows:
        *key, value, count = row
        counts = found.setdefault(tuple(key), [0] * measure.width)
        counts[bin_of[value]] += int(count)
    return {key: tuple(counts) for key, counts in found.items()}


def read_invitations(selection: Selection, tree: Tree) -> dict[Key, Counts]:
    """Invitations sent in the range and how many of them were answered."""
    zone = timezone.get_default_timezone()
    since, until = _moments(selection.start, selection.end)
    qs = invitations_visible(scope=EVERYTHING).filter(
        _unit_filter(selection), sent_at__gte=since, sent_at__lt=until)
    dims = _dimension_expressions(selection, zone=zone, moment="sent_at")
    sums = {"s_answered": Count("id", filter=Q(completed_at__isnull=False)),
            "s_sent": Count("id")}
    found: dict[Key, Counts] = {}
    _collect(found, _grouped(qs, tree, dims, sums), len(dims))
    return found


def read(selection: Selection, tree: Tree) -> dict[Key, Counts]:
    """The counts of every group of ``selection``, from wherever they can be read exactly."""
    source = selection.measure.source
    if source == Source.INVITATIONS:
        return read_invitations(selection, tree)
    if Dimension.ATTRIBUTE in selection.dims or any(d in PLUGGABLE for d in selection.dims):
        return read_responses(selection, tree)
    if source == Source.RATING:
        return read_ratings(selection, tree)
    return read_rollups(selection, tree)
