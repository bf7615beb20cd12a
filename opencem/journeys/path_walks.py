"""Each customer's whole path through a journey in one row (``PathWalk``, PostgreSQL only), so
a report over a million customers aggregates a million summaries instead of ordering ten
million steps by customer and time again.

``walks_build`` summarises the steps of the customers that new steps (or a merge) touched, in
the transaction that stored them. ``aggregate_walks`` counts the customers whose every step
lies in the report's window, at units its scope sees, from their walks (their path there is
their whole walk), and the others from their steps as ``paths_sql`` does; every count is a
sum over customers, so the two parts add up to what counting every step would give.

What a walk adds to the per-touchpoint counts is kept as numbers in ``tallies``, so that all
of them are one ``GROUP BY`` over plain numbers: with ``n`` touchpoints in the journey
(``PathState.touchpoint_ids``) and ``a``, ``b`` positions among them, ``(a * n + b) *
GAP_BUCKETS + bucket`` for each time from ``a`` to the next touchpoint ``b`` (``bucket`` as in
``path_counts.bucket_of``), ``-1 - a`` for each touchpoint reached, and ``-1 - n - a`` for the
last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from opencem.accounts.selectors import Scope
from opencem.journeys.models import Journey, PathState, PathStep, PathWalk
from opencem.journeys.path_counts import (
    PRECEDING,
    SANKEY_DEPTH,
    Aggregates,
    add_paths,
    bucket_sql,
)
from opencem.journeys.paths_sql import (
    DETRACTOR,
    SCORE_BINS,
    add_preceding,
    add_scores,
    aggregate_in_sql,
)
from opencem.journeys.selectors import Window

# More buckets than any time between two touchpoints reaches (its day buckets cover 300,000
# years), and as many touchpoints as keep a number under 2**63.
GAP_BUCKETS = 2**27
MAX_TOUCHPOINTS = 2**18
# Up to this many customers outside the walks are read by id; more, by a join.
BY_ID = 10_000
# The memory each sort or hash of the report's queries may take before spilling to disk.
WORK_MEM = "64MB"

WALKS = PathWalk._meta.db_table
STEPS = PathStep._meta.db_table


def keeps_walks(touchpoint_ids: list[int]) -> bool:
    """Whether walks are kept for a journey of these touchpoints: on PostgreSQL (SQLite, with
    demo-sized data, counts from the steps) and with few enough touchpoints to number."""
    return connection.vendor == "postgresql" and len(touchpoint_ids) <= MAX_TOUCHPOINTS


def newest_step(journey: Journey) -> int:
    """The id of the journey's newest step (0 when it has none)."""
    return (PathStep.objects.filter(journey=journey).order_by("-id")
            .values_list("id", flat=True).first() or 0)


def walks_build(*, journey_id: int, touchpoint_ids: list[int],
                customer_ids: list[int] | None = None) -> int:
    """Summarise again the walks of ``customer_ids`` (every customer with steps in the
    journey when None); returns how many walks were written.

    A customer's walk is rebuilt from all their steps, so it is right whatever order the
    steps arrived in."""
    touched, params = "", {}
    if customer_ids is not None:
        touched, params = "AND s.customer_id = ANY(%(customers)s)", {"customers": customer_ids}
    position = "(array_position(%(ids)s::bigint[], {}) - 1)::bigint"
    gap = (f"({position.format('g.a')} * %(n)s + {position.format('g.b')}) * {GAP_BUCKETS} + "
           f"{bucket_sql('extract(epoch FROM g.b_at - g.a_at)')}")
    reached = f"-1 - {position.format('t')}"
    last = f"-1 - %(n)s - {position.format('w.walk[cardinality(w.walk)]')}"
    order = "ORDER BY occurred_at, interaction_id"
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {WALKS} (journey_id, customer_id, steps, first_at, last_at, units,
                                 walk, walk_at, tallies)
            SELECT %(journey)s, w.customer_id, w.steps, w.first_at, w.last_at, w.units, w.walk,
                   w.walk_at,
                   ARRAY(SELECT {gap}
                         FROM unnest(w.walk, w.walk[2:], w.walk_at, w.walk_at[2:])
                              WITH ORDINALITY g(a, b, a_at, b_at, i)
                         WHERE g.b IS NOT NULL ORDER BY g.i)
                   || ARRAY(SELECT {reached} FROM unnest(w.touched) t) || ({last})
            FROM (SELECT customer_id, count(*) AS steps, min(occurred_at) AS first_at,
                         max(occurred_at) AS last_at, array_agg(DISTINCT unit_id) AS units,
                         array_agg(touchpoint_id {order}) FILTER (WHERE starts) AS walk,
                         array_agg(occurred_at {order}) FILTER (WHERE starts) AS walk_at,
                         array_agg(DISTINCT touchpoint_id) AS touched
                  FROM (SELECT s.customer_id, s.touchpoint_id, s.unit_id, s.occurred_at,
                               s.interaction_id,
                               lag(s.touchpoint_id) OVER (PARTITION BY s.customer_id
                                   ORDER BY s.occurred_at, s.interaction_id)
                                   IS DISTINCT FROM s.touchpoint_id AS starts
                        FROM {STEPS} s WHERE s.journey_id = %(journey)s {touched}) s
                  GROUP BY customer_id) w
            ON CONFLICT (journey_id, customer_id) DO UPDATE SET
                steps = EXCLUDED.steps, first_at = EXCLUDED.first_at,
                last_at = EXCLUDED.last_at, units = EXCLUDED.units, walk = EXCLUDED.walk,
                walk_at = EXCLUDED.walk_at, tallies = EXCLUDED.tallies
        """, {"journey": journey_id, "ids": touchpoint_ids, "n": len(touchpoint_ids),  # noqa: S608
              **params})
        return int(cursor.rowcount)


def walks_merge(survivor_id: int, absorbed_id: int) -> None:
    """After a merge moved the absorbed customer's steps to the survivor: the absorbed walks
    go, and the survivor's are summarised again in every journey they now have steps in."""
    PathWalk.objects.filter(customer_id=absorbed_id).delete()
    journeys = (PathStep.objects.filter(customer_id=survivor_id)
                .values_list("journey_id", flat=True).distinct())
    for state in PathState.objects.filter(journey_id__in=list(journeys)):
        if keeps_walks(state.touchpoint_ids):
            walks_build(journey_id=state.journey_id, touchpoint_ids=state.touchpoint_ids,
                        customer_ids=[survivor_id])


def aggregate_walks(scope: Scope, journey: Journey, window: Window, steps: QuerySet[PathStep],
                    responses: QuerySet[Any]) -> tuple[Aggregates, int]:
    """The aggregates of every step of the journey in the window and scope (``steps``: those
    steps, from which the customers not counted from their walks are counted), with
    ``responses``; and the newest step they include.

    The journey's path state is held (shared) meanwhile: a refresh, which writes steps and
    walks together, waits, so the walks and the steps read agree."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {PathState._meta.db_table} "  # noqa: S608
                       f"WHERE journey_id = %s FOR SHARE", [journey.pk])
        # Grouping a million walks by path spills to disk at the default work_mem (LOCAL:
        # until this transaction ends).
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        ids: list[int] = (PathState.objects.filter(journey=journey)
                          .values_list("touchpoint_ids", flat=True).first() or [])
        step_mark = newest_step(journey)
        inside = _Inside(journey.pk, "w.first_at >= %s AND w.last_at < %s",
                         [window.start, window.end])
        outside = Q(first_at__lt=window.start) | Q(last_at__gte=window.end)
        if scope.unit_ids is not None:
            units = sorted(scope.unit_ids)
            inside.sql += " AND w.units <@ %s::bigint[]"
            inside.params.append(units)
            outside |= ~Q(units__contained_by=units)
            # A customer with no step at a unit the scope sees is not counted at all.
            inside.seen, inside.seen_params = "w.units && %s::bigint[]", [units]
            outside &= Q(units__overlap=units)
        agg, others = _count_walks(cursor, inside)
        _count_tallies(cursor, agg, inside, ids)
        _count_responses(cursor, agg, inside, responses)
        if others:
            rest = PathWalk.objects.filter(outside, journey=journey).values_list(
                "customer_id", flat=True)
            agg.combine(aggregate_in_sql(steps.filter(
                id__lte=step_mark, customer_id__in=list(rest) if others <= BY_ID else rest),
                responses), 1)
    return agg, step_mark


@dataclass
class _Inside:
    """Which of a journey's walks ``w`` a report counts from the walks: a condition and its
    parameters."""

    journey_id: int
    sql: str
    params: list[Any]
    # The walks with anything the scope sees (all of them, by default).
    seen: str = "true"
    seen_params: list[Any] = field(default_factory=list)


def _count_walks(cursor: Any, inside: _Inside) -> tuple[Aggregates, int]:
    """Customers, steps, paths and flows of the walks ``inside`` selects, in one pass over
    the journey's walks; and how many walks with steps the scope sees it leaves out."""
    agg, others = Aggregates(), 0
    cursor.execute(f"""
        SELECT {inside.sql}, w.walk[1:{SANKEY_DEPTH}], cardinality(w.walk) > {SANKEY_DEPTH},
               count(*), sum(w.steps)
        FROM {WALKS} w WHERE w.journey_id = %s AND {inside.seen}
        GROUP BY 1, 2, 3""",  # noqa: S608
                   [*inside.params, inside.journey_id, *inside.seen_params])
    for counted, first, longer, count, steps in cursor.fetchall():
        if counted:
            add_paths(agg, tuple(first), longer, int(count))
            agg.customers += int(count)
            agg.steps += int(steps)
        else:
            others += int(count)
    return agg, others


def _count_tallies(cursor: Any, agg: Aggregates, inside: _Inside, ids: list[int]) -> None:
    """The times between touchpoints by bucket, the touchpoints reached and the last ones, of
    the walks ``inside`` selects (see the module's doc)."""
    # unnest in the select list: a fifth faster than a join to it, a million times over.
    cursor.execute(f"""
        SELECT t, count(*) FROM (SELECT unnest(w.tallies) AS t FROM {WALKS} w
                                 WHERE w.journey_id = %s AND {inside.sql}) tallied
        GROUP BY 1""",  # noqa: S608
                   [inside.journey_id, *inside.params])
    n = len(ids)
    for number, count in cursor.fetchall():
        if number >= 0:
            pair, bucket = divmod(int(number), GAP_BUCKETS)
            a, b = divmod(pair, n)
            agg.gaps[(ids[a], ids[b], bucket)] += int(count)
        elif -1 - number < n:
            agg.reached[ids[-1 - number]] += int(count)
        else:
            agg.ended[ids[-1 - n - number]] += int(count)


def _count_responses(cursor: Any, agg: Aggregates, inside: _Inside,
                     responses: QuerySet[Any]) -> None:
    """NPS and CSAT by path, and the touchpoints before each response, of the customers whose
    walks ``inside`` selects: one pass, grouped by each."""
    sql, responses_params = responses.values(
        "customer_id", "nps", "csat", "submitted_at").query.sql_with_params()
    # The walk's times are in order: width_bucket finds by bisection how many of its
    # touchpoints came before the response.
    met = "width_bucket(r.submitted_at, w.walk_at)"
    cursor.execute(f"""
        SELECT GROUPING(first), first, before, {SCORE_BINS}, count(*),
               count(*) FILTER (WHERE {DETRACTOR})
        FROM ({sql}) r
        JOIN {WALKS} w ON w.journey_id = %s AND w.customer_id = r.customer_id AND {inside.sql}
        CROSS JOIN LATERAL (
            SELECT w.walk[1:{SANKEY_DEPTH}] AS first,
                   w.walk[greatest({met} - {PRECEDING - 1}, 1):{met}] AS before) paths
        GROUP BY GROUPING SETS ((first), (before))""",  # noqa: S608
                   (*responses_params, inside.journey_id, *inside.params))
    rows = cursor.fetchall()
    add_scores(agg, [(first, *bins) for by_before, first, _, *bins, _, _ in rows
                     if not by_before])
    add_preceding(agg, [(before, n, bad) for by_before, _, before, *_, n, bad in rows
                        if by_before and before])
