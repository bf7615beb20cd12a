"""Path analytics aggregated by PostgreSQL: the same ``Aggregates`` as the one pass in Python,
computed where the steps are, so nothing but the answers travels.

Within one transaction, a temporary table holds each customer's collapsed steps with their
position, next touchpoint and its time (window functions: ``lag`` drops a repeat of the same
touchpoint, then ``row_number`` and ``lead`` over what is left); a second holds each
customer's path (its first ``SANKEY_DEPTH`` touchpoints). Every figure is one ``GROUP BY``
over these, and the responses are joined to them once.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from opencem.journeys.models import PathStep
from opencem.journeys.path_counts import (
    DETRACTOR_NPS,
    DISSATISFIED_CSAT,
    PRECEDING,
    SANKEY_DEPTH,
    Aggregates,
    bucket_sql,
)
from opencem.metrics.definitions import Metric, measure

DROP = "DROP TABLE IF EXISTS journey_walk, journey_path"


def _bins(column: str, metric: Metric) -> str:
    """``count(*) FILTER (…)`` per bin of a metric, in the order of its bins."""
    return ", ".join(
        f"count(*) FILTER (WHERE r.{column} IN ({', '.join(map(str, scores))}))"
        for scores in measure(metric).bins)


# Per path: the counts of responses ``r`` by NPS bin, then by CSAT bin (for ``add_scores``).
SCORE_BINS = f"{_bins('nps', Metric.NPS)}, {_bins('csat', Metric.CSAT)}"
# Whether response ``r`` is a detractor's.
DETRACTOR = f"COALESCE(r.nps <= {DETRACTOR_NPS}, r.csat <= {DISSATISFIED_CSAT}, false)"


def add_scores(agg: Aggregates, rows: list[tuple[Any, ...]]) -> None:
    """Add rows of a path and its ``SCORE_BINS`` to the NPS and CSAT counts by path."""
    for path, *counts in rows:
        key = tuple(path)
        nps, csat = [int(c) for c in counts[:3]], [int(c) for c in counts[3:]]
        if sum(nps):
            agg.nps[key] = [a + b for a, b in zip(agg.nps[key], nps, strict=True)]
        if sum(csat):
            agg.csat[key] = [a + b for a, b in zip(agg.csat[key], csat, strict=True)]


def add_preceding(agg: Aggregates, rows: list[tuple[Any, ...]]) -> None:
    """Add rows of the last touchpoints before responses, how many and how many detractors."""
    for path, n, bad in rows:
        agg.preceding[tuple(path)] += int(n)
        if bad:
            agg.preceding_bad[tuple(path)] += int(bad)


def aggregate_in_sql(steps: QuerySet[PathStep], responses: QuerySet[Any]) -> Aggregates:
    """The aggregates of ``steps`` and ``responses``, computed by PostgreSQL."""
    steps_sql, steps_params = steps.values(
        "customer_id", "touchpoint_id", "occurred_at", "interaction_id").query.sql_with_params()
    responses_sql, responses_params = responses.values(
        "customer_id", "nps", "csat", "submitted_at").query.sql_with_params()
    agg = Aggregates()
    with transaction.atomic(), connection.cursor() as cursor:
        # Inside a caller's transaction ON COMMIT comes late: tables of an earlier call in the
        # same transaction are dropped here, and these at the end.
        cursor.execute(DROP)
        cursor.execute(f"SELECT count(*) FROM ({steps_sql}) s", steps_params)  # noqa: S608
        agg.steps = int(cursor.fetchone()[0])
        cursor.execute(f"""
            CREATE TEMPORARY TABLE journey_walk ON COMMIT DROP AS
            SELECT customer_id, touchpoint_id, occurred_at,
                   row_number() OVER w AS pos,
                   lead(touchpoint_id) OVER w AS next_touchpoint,
                   lead(occurred_at) OVER w AS next_at
            FROM (SELECT s.*, lag(s.touchpoint_id) OVER (
                             PARTITION BY s.customer_id ORDER BY s.occurred_at,
                                                                 s.interaction_id) AS prev
                  FROM ({steps_sql}) s) s
            WHERE prev IS DISTINCT FROM touchpoint_id
            WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at, interaction_id)
        """, steps_params)  # noqa: S608
        cursor.execute(f"""
            CREATE TEMPORARY TABLE journey_path ON COMMIT DROP AS
            SELECT customer_id,
                   array_agg(touchpoint_id ORDER BY pos) FILTER (WHERE pos <= {SANKEY_DEPTH})
                       AS path
            FROM journey_walk GROUP BY customer_id
        """)  # noqa: S608
        cursor.execute("CREATE INDEX ON journey_walk (customer_id, pos)")
        cursor.execute("CREATE UNIQUE INDEX ON journey_path (customer_id)")
        cursor.execute("ANALYZE journey_walk")
        cursor.execute("ANALYZE journey_path")
        agg.customers = int(_one(cursor, "SELECT count(*) FROM journey_path"))
        cursor.execute("SELECT path, count(*) FROM journey_path GROUP BY path")
        agg.path_counts.update({tuple(path): int(n) for path, n in cursor.fetchall()})
        cursor.execute(f"""
            SELECT pos - 1, touchpoint_id, next_touchpoint, count(*) FROM journey_walk
            WHERE pos <= {SANKEY_DEPTH} AND (next_touchpoint IS NULL OR pos < {SANKEY_DEPTH})
            GROUP BY 1, 2, 3""")  # noqa: S608
        agg.flows.update({(int(d), int(a), None if b is None else int(b)): int(n)
                          for d, a, b, n in cursor.fetchall()})
        cursor.execute("""SELECT touchpoint_id, count(DISTINCT customer_id),
                                 count(*) FILTER (WHERE next_touchpoint IS NULL)
                          FROM journey_walk GROUP BY 1""")
        for touchpoint_id, reached, ended in cursor.fetchall():
            agg.reached[int(touchpoint_id)] = int(reached)
            if ended:
                agg.ended[int(touchpoint_id)] = int(ended)
        cursor.execute(f"""
            SELECT touchpoint_id, next_touchpoint,
                   {bucket_sql("extract(epoch FROM next_at - occurred_at)")}, count(*)
            FROM journey_walk WHERE next_touchpoint IS NOT NULL
            GROUP BY 1, 2, 3""")  # noqa: S608
        agg.gaps.update({(int(a), int(b), int(bucket)): int(n)
                         for a, b, bucket, n in cursor.fetchall()})
        cursor.execute(f"""
            SELECT p.path, {SCORE_BINS}
            FROM ({responses_sql}) r JOIN journey_path p ON p.customer_id = r.customer_id
            GROUP BY p.path""", responses_params)  # noqa: S608
        add_scores(agg, cursor.fetchall())
        cursor.execute(f"""
            SELECT before.path, count(*), count(*) FILTER (WHERE {DETRACTOR})
            FROM ({responses_sql}) r
            JOIN journey_path p ON p.customer_id = r.customer_id
            CROSS JOIN LATERAL (
                SELECT array_agg(touchpoint_id ORDER BY pos) AS path
                FROM (SELECT touchpoint_id, pos FROM journey_walk w
                      WHERE w.customer_id = r.customer_id AND w.occurred_at <= r.submitted_at
                      ORDER BY pos DESC LIMIT {PRECEDING}) last) before
            WHERE before.path IS NOT NULL
            GROUP BY before.path""", responses_params)  # noqa: S608
        add_preceding(agg, cursor.fetchall())
        cursor.execute(DROP)
    return agg


def _one(cursor: Any, statement: str) -> Any:
    cursor.execute(statement)
    return cursor.fetchone()[0]
