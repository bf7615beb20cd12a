"""Journey analytics from real data: each customer's actual path of touchpoints.

``paths_refresh`` keeps ``PathStep`` (one row per interaction mapped to a touchpoint of the
journey) up to date incrementally: each refresh reads only the interactions stored since the
last one (by id), with one ``INSERT … SELECT`` for all touchpoints, so the database does the
matching and nothing travels through Python. A changed mapping (a remap, a new touchpoint,
another order) changes the rules' fingerprint and rebuilds the steps once.

``path_report`` derives everything from the counts of ``path_counts.Aggregates`` (the most
common paths — consecutive visits to the same touchpoint count once —, the flows between the
first steps for a Sankey diagram, where customers drop off, NPS and CSAT by path, the paths
that most often come before a detractor, the typical time between two touchpoints). The
counts are sums over customers, kept in the cache per journey, window and scope and brought
up to date incrementally (``path_aggregates``): only the customers with newer steps or
responses are counted again. The report itself is cached until the counts change.

On PostgreSQL each refresh also summarises the customers it touched in ``PathWalk`` (their
whole path in one row, ``path_walks``), so counting afresh reads a row per customer: the
customers whose steps all lie in the window and scope are counted from their walks, the others
from their steps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, Q, QuerySet, Value, When
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from opencem.accounts.selectors import WHOLE_ORGANISATION, Scope
from opencem.customers.selectors import interactions_visible
from opencem.feedback.selectors import responses_visible
from opencem.journeys.hooks import generation
from opencem.journeys.models import Journey, PathState, PathStep, PathWalk
from opencem.journeys.path_counts import Aggregates, aggregate_in_python
from opencem.journeys.path_walks import (
    aggregate_walks,
    keeps_walks,
    newest_step,
    walks_build,
)
from opencem.journeys.selectors import (
    Window,
    interaction_q,
    journey_stages,
    rule_of,
)
from opencem.metrics.definitions import Metric, measure
from opencem.metrics.selectors import Estimate, anonymity_k

# How many paths (and other rows) a list shows.
TOP = 10
CACHE_SECONDS = 3600
# Above this many customers changed since the cached counts, counting afresh is cheaper.
INCREMENTAL_LIMIT = 10_000
# Inserting more steps than this at once refreshes the table's statistics on PostgreSQL.
ANALYZE_AFTER = 50_000


def _fingerprint(journey: Journey) -> str:
    parts = [journey.segment_attribute, journey.segment_value]
    for stage in journey_stages(journey):
        for t in stage.touchpoints.all():
            parts.append(f"{t.pk}:{json.dumps(t.rule, sort_keys=True)}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def paths_refresh(*, journey: Journey) -> PathState:
    """Map the interactions stored since the last refresh onto the journey's touchpoints.

    An interaction that several touchpoints' rules match belongs to the first of them in
    journey order. Only interactions with a known customer make a path. One ``INSERT …
    SELECT`` for all touchpoints: the database reads the new interactions once.
    """
    with transaction.atomic():
        state, _ = PathState.objects.select_for_update().get_or_create(journey=journey)
        fingerprint = _fingerprint(journey)
        touchpoints = [t for stage in journey_stages(journey) for t in stage.touchpoints.all()]
        if fingerprint != state.rules_fingerprint:
            PathStep.objects.filter(journey=journey).delete()
            PathWalk.objects.filter(journey=journey).delete()
            state.last_interaction_id = 0
            state.rules_fingerprint = fingerprint
            state.touchpoint_ids = [t.pk for t in touchpoints]
        everything = interactions_visible(scope=WHOLE_ORGANISATION)
        newest = everything.order_by("-id").values_list("id", flat=True).first() or 0
        if newest > state.last_interaction_id and touchpoints:
            fresh = everything.filter(id__gt=state.last_interaction_id, id__lte=newest,
                                      customer__isnull=False)
            if journey.segment_attribute:
                fresh = fresh.filter(**{
                    f"customer__attributes__{journey.segment_attribute}":
                        journey.segment_value})
            rules = [(t.pk, interaction_q(rule_of(t))) for t in touchpoints]
            any_rule = Q()
            for _, q in rules:
                any_rule |= q
            # The first rule that matches, in journey order, names the touchpoint.
            which = Case(*(When(q, then=Value(pk)) for pk, q in rules),
                         output_field=BigIntegerField())
            last_step = newest_step(journey)
            inserted = _insert_steps(journey,
                                     fresh.filter(any_rule).annotate(step_touchpoint=which))
            if inserted and keeps_walks(state.touchpoint_ids):
                # The customers the new steps belong to, read first: the database then
                # reads only their steps through the index (every customer on a rebuild).
                customers = None if not last_step else list(
                    PathStep.objects.filter(journey=journey, id__gt=last_step)
                    .values_list("customer_id", flat=True).distinct())
                walks = walks_build(journey_id=journey.pk, touchpoint_ids=state.touchpoint_ids,
                                    customer_ids=customers)
                _analyze(PathWalk, walks)
            state.last_interaction_id = newest
        state.refreshed_at = timezone.now()
        state.save()
    return state


def paths_refresh_all() -> int:
    """Refresh the steps of every journey; returns how many journeys were refreshed."""
    count = 0
    for journey in Journey.objects.order_by("id"):
        paths_refresh(journey=journey)
        count += 1
    return count


def _analyze(model: Any, written: int) -> None:
    """After a large write PostgreSQL is told about the new rows at once: with statistics
    from before it, the next reads of a few customers' rows would scan the whole table."""
    if connection.vendor == "postgresql" and written > ANALYZE_AFTER:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _insert_steps(journey: Journey, qs: Any) -> int:
    """``INSERT … SELECT`` the matched interactions as steps (a repeat is left alone);
    returns how many were stored."""
    sql, params = qs.values("step_touchpoint", "customer_id", "unit_id", "id",
                            "occurred_at").query.sql_with_params()
    table = PathStep._meta.db_table
    statement = (
        f"INSERT INTO {table} (journey_id, touchpoint_id, customer_id, unit_id, "  # noqa: S608
        f"interaction_id, occurred_at) SELECT %s, m.step_touchpoint, m.customer_id, "
        f"m.unit_id, m.id, m.occurred_at FROM ({sql}) m WHERE 1 = 1 "
        f"ON CONFLICT (journey_id, interaction_id) DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(statement, (journey.pk, *params))
        inserted = int(cursor.rowcount)
    _analyze(PathStep, inserted)
    return inserted


# --- the report -----------------------------------------------------------------------------


def steps_in(scope: Scope, journey: Journey, window: Window) -> QuerySet[PathStep]:
    """The journey's steps in the window at units the scope sees."""
    qs = PathStep.objects.filter(journey=journey, occurred_at__gte=window.start,
                                 occurred_at__lt=window.end)
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def responses_of(scope: Scope, window: Window) -> QuerySet[Any]:
    """Completed responses with an NPS or CSAT answer from known customers in the window."""
    return responses_visible(scope=scope).filter(
        completed=True, customer_id__isnull=False, submitted_at__isnull=False,
        submitted_at__gte=window.start, submitted_at__lt=window.end,
    ).exclude(nps__isnull=True, csat__isnull=True)


@dataclass(frozen=True)
class PathRow:
    """A path (touchpoint names in order) and how many customers took it."""

    steps: tuple[str, ...]
    customers: int
    share: float
    nps: Estimate | None = None
    csat: Estimate | None = None


@dataclass(frozen=True)
class DropOff:
    """Customers who reached a touchpoint, and how many of them went no further."""

    touchpoint: str
    stage: str
    reached: int
    ended: int

    @property
    def rate(self) -> float:
        return 100.0 * self.ended / self.reached if self.reached else 0.0


@dataclass(frozen=True)
class DetractorPath:
    """The last touchpoints before responses, and how many of those were detractors."""

    steps: tuple[str, ...]
    detractors: int
    responses: int

    @property
    def rate(self) -> float:
        return 100.0 * self.detractors / self.responses if self.responses else 0.0


@dataclass(frozen=True)
class Gap:
    """The typical time from one touchpoint to the next one a customer meets."""

    source: str
    target: str
    count: int
    median_hours: float
    p90_hours: float


@dataclass(frozen=True)
class Flow:
    """Customers going from one touchpoint at step ``depth`` to another at the next step
    (``target`` None: they stop there)."""

    depth: int
    source: str
    target: str | None
    customers: int


@dataclass(frozen=True)
class PathReport:
    """Everything path analytics says about a journey in a window."""

    customers: int
    steps: int
    paths: list[PathRow] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    drop_offs: list[DropOff] = field(default_factory=list)
    detractor_paths: list[DetractorPath] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    k: int = 5
    watermark: int = 0


def _aggregate(steps: QuerySet[PathStep], responses: QuerySet[Any]) -> Aggregates:
    if connection.vendor == "postgresql":
        from opencem.journeys.paths_sql import aggregate_in_sql  # noqa: PLC0415

        return aggregate_in_sql(steps, responses)
    return aggregate_in_python(steps, responses)


@dataclass(frozen=True)
class _Counted:
    """Aggregates as of a step id and a response id (what they include, and no more)."""

    aggregates: Aggregates
    step_mark: int
    response_mark: int


@dataclass(frozen=True)
class _Where:
    """Where the counts of a journey, window and scope stand now: their cache key, and the
    newest step and response they must include."""

    key: str
    step_mark: int
    response_mark: int
    watermark: int
    walks: bool


def _where(scope: Scope, journey: Journey, window: Window) -> _Where:
    state = paths_refresh(journey=journey)
    units = "all" if scope.unit_ids is None else hashlib.sha256(
        ",".join(map(str, sorted(scope.unit_ids))).encode()).hexdigest()[:16]
    # A remap (the fingerprint) or a merge (the generation) starts the counts afresh.
    key = (f"journeys:paths:{journey.pk}:{state.rules_fingerprint[:16]}:{generation()}:"
           f"{window.start:%Y%m%d%H}:{window.end:%Y%m%d%H}:{units}")
    step_mark = newest_step(journey)
    response_mark = (responses_visible(scope=WHOLE_ORGANISATION).order_by("-id")
                     .values_list("id", flat=True).first() or 0)
    return _Where(key, step_mark, response_mark, state.last_interaction_id,
                  keeps_walks(state.touchpoint_ids))


def path_aggregates(*, scope: Scope, journey: Journey, window: Window) -> Aggregates:
    """The counts behind a path report, kept in the cache and brought up to date
    incrementally: the customers with steps or responses newer than the cached counts are
    taken out of them as they were and put back in as they are now (counting afresh when
    they are many, after a remap or a merge, or when nothing is cached)."""
    return _aggregates_at(scope, journey, window, _where(scope, journey, window))


def _aggregates_at(scope: Scope, journey: Journey, window: Window,
                   where: _Where) -> Aggregates:
    key, step_mark, response_mark = where.key, where.step_mark, where.response_mark
    steps, responses = steps_in(scope, journey, window), responses_of(scope, window)
    cached: _Counted | None = cache.get(key)
    if cached is not None and (cached.step_mark, cached.response_mark) == (step_mark,
                                                                             response_mark):
        return cached.aggregates
    touched: set[int] | None = None
    if cached is not None:
        touched = set(steps.filter(id__gt=cached.step_mark, id__lte=step_mark)
                      .values_list("customer_id", flat=True).distinct()[:INCREMENTAL_LIMIT + 1])
        touched |= set(responses.filter(id__gt=cached.response_mark, id__lte=response_mark)
                       .values_list("customer_id", flat=True).distinct()
                       [:INCREMENTAL_LIMIT + 1])
    if cached is None or touched is None or len(touched) > INCREMENTAL_LIMIT:
        if where.walks:
            # The walks hold every step stored so far: the counts include them all.
            aggregates, step_mark = aggregate_walks(scope, journey, window, steps,
                                                    responses.filter(id__lte=response_mark))
        else:
            aggregates = _aggregate(steps.filter(id__lte=step_mark),
                                    responses.filter(id__lte=response_mark))
    else:
        aggregates = cached.aggregates
        ids = sorted(touched)
        aggregates.combine(_aggregate(
            steps.filter(customer_id__in=ids, id__lte=cached.step_mark),
            responses.filter(customer_id__in=ids, id__lte=cached.response_mark)), -1)
        aggregates.combine(_aggregate(
            steps.filter(customer_id__in=ids, id__lte=step_mark),
            responses.filter(customer_id__in=ids, id__lte=response_mark)), 1)
    cache.set(key, _Counted(aggregates, step_mark, response_mark), CACHE_SECONDS)
    return aggregates


def path_report(*, scope: Scope, journey: Journey, window: Window) -> PathReport:
    """Path analytics of a journey in a window, within the scope (see the module's doc)."""
    where = _where(scope, journey, window)
    report_key = f"{where.key}:report:{where.step_mark}:{where.response_mark}"
    report: PathReport | None = cache.get(report_key)
    if report is None:
        report = build_report(journey, _aggregates_at(scope, journey, window, where),
                              where.watermark)
        cache.set(report_key, report, CACHE_SECONDS)
    return report


def build_report(journey: Journey, agg: Aggregates, watermark: int) -> PathReport:
    """The report from the aggregates: names, shares, scores by path, everything under k
    left out, everything in a fixed order."""
    names: dict[int, str] = {}
    stage_of: dict[int, str] = {}
    for stage in journey_stages(journey):
        for touchpoint in stage.touchpoints.all():
            names[touchpoint.pk] = touchpoint.name
            stage_of[touchpoint.pk] = stage.name
    k = anonymity_k(int(journey.unit.path.strip("/").split("/")[0]))
    nps_measure, csat_measure = measure(Metric.NPS), measure(Metric.CSAT)

    def label(path: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(names.get(t, "?") for t in path)

    # Groups under k are never shown: a path taken by two people would point at them.
    top = sorted(agg.path_counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    rows = [PathRow(
        steps=label(path), customers=count, share=100.0 * count / agg.customers,
        nps=nps_measure.estimate(tuple(agg.nps[path]), k) if path in agg.nps else None,
        csat=(csat_measure.estimate(tuple(agg.csat[path]), k) if path in agg.csat
              else None))
        for path, count in top if count >= k]
    detractor_rows = [DetractorPath(label(p), bad, agg.preceding[p]) for p, bad in sorted(
        ((p, bad) for p, bad in agg.preceding_bad.items() if bad and agg.preceding[p] >= k),
        key=lambda item: (-item[1], -item[1] / agg.preceding[item[0]], item[0]))[:TOP]]
    drop_offs = sorted(
        (DropOff(names[t], stage_of[t], reached, agg.ended.get(t, 0))
         for t, reached in sorted(agg.reached.items()) if reached >= k and t in names),
        key=lambda d: (-d.rate, -d.reached, d.touchpoint))
    gaps = [Gap(names[a], names[b], count, median, p90) for (a, b), (count, median, p90)
            in sorted(agg.hours().items(), key=lambda item: (-item[1][0], item[0]))[:TOP]
            if count >= k and a in names and b in names]
    flows = [Flow(depth, names[a], names[b] if b is not None else None, count)
             for (depth, a, b), count in sorted(
                 agg.flows.items(), key=lambda i: (-i[1], i[0][0], i[0][1], i[0][2] or 0))
             if count >= k and a in names and (b is None or b in names)]
    return PathReport(customers=agg.customers, steps=agg.steps, paths=rows, flows=flows,
                      drop_offs=drop_offs, detractor_paths=detractor_rows, gaps=gaps, k=k,
                      watermark=watermark)


# --- JSON -----------------------------------------------------------------------------------


class _EstimateOut(Schema):
    value: float | None
    n: int
    low: float | None
    high: float | None
    small_sample: bool
    suppressed: bool


class PathRowOut(Schema):
    steps: list[str]
    customers: int
    share: float
    nps: _EstimateOut | None
    csat: _EstimateOut | None


class FlowOut(Schema):
    depth: int
    source: str
    target: str | None = Field(description="None: the customers stop here")
    customers: int


class DropOffOut(Schema):
    touchpoint: str
    stage: str
    reached: int
    ended: int
    rate: float


class DetractorPathOut(Schema):
    steps: list[str]
    detractors: int
    responses: int
    rate: float


class GapOut(Schema):
    source: str
    target: str
    count: int
    median_hours: float
    p90_hours: float


class PathReportOut(Schema):
    customers: int
    steps: int
    k: int
    paths: list[PathRowOut]
    flows: list[FlowOut]
    drop_offs: list[DropOffOut]
    detractor_paths: list[DetractorPathOut]
    gaps: list[GapOut]


def report_as_json(report: PathReport) -> dict[str, Any]:
    """The report as the API gives it."""
    data = asdict(report)
    data["drop_offs"] = [{**asdict(d), "rate": d.rate} for d in report.drop_offs]
    data["detractor_paths"] = [{**asdict(d), "rate": d.rate} for d in report.detractor_paths]
    return data
