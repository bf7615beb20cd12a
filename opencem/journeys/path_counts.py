"""What path analytics counts, as sums over customers: so a refresh can take the customers
whose steps or responses changed out of the totals and put them back in as they are now.

``Aggregates`` is computed by one pass in Python here (``aggregate_in_python``, SQLite) or by
PostgreSQL (``paths_sql.aggregate_in_sql``) from the same two querysets: the steps and the
responses to count. Time between touchpoints is counted in buckets (to the minute under two
hours, the quarter-hour under two days, the day beyond), so its median and 90th percentile
are sums too.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from opencem.journeys.models import PathStep
from opencem.metrics.definitions import Metric, measure

# How many touchpoints of a path are kept (and followed by the Sankey diagram).
SANKEY_DEPTH = 5
# A detractor: NPS 0–6, or a dissatisfied CSAT (1–2) on a response without NPS.
DETRACTOR_NPS = 6
DISSATISFIED_CSAT = 2
# How many touchpoints before a detractor response make the path that "preceded" it.
PRECEDING = 3
# The buckets of time between touchpoints, in minutes.
MINUTE_UNTIL = 120
QUARTER_UNTIL = 48 * 60


def bucket_of(minutes: int) -> int:
    """The bucket of a time between two touchpoints, in whole minutes."""
    if minutes < MINUTE_UNTIL:
        return minutes
    if minutes < QUARTER_UNTIL:
        return MINUTE_UNTIL + (minutes - MINUTE_UNTIL) // 15
    return MINUTE_UNTIL + (QUARTER_UNTIL - MINUTE_UNTIL) // 15 + (minutes - QUARTER_UNTIL) // 1440


def bucket_start(bucket: int) -> int:
    """The first minute of a bucket."""
    if bucket < MINUTE_UNTIL:
        return bucket
    quarters = (QUARTER_UNTIL - MINUTE_UNTIL) // 15
    if bucket < MINUTE_UNTIL + quarters:
        return MINUTE_UNTIL + (bucket - MINUTE_UNTIL) * 15
    return QUARTER_UNTIL + (bucket - MINUTE_UNTIL - quarters) * 1440


def bucket_sql(seconds: str) -> str:
    """``bucket_of`` in SQL, for an expression giving seconds."""
    minutes = f"floor(({seconds}) / 60)::int"
    quarters = (QUARTER_UNTIL - MINUTE_UNTIL) // 15
    return (f"CASE WHEN {minutes} < {MINUTE_UNTIL} THEN {minutes} "
            f"WHEN {minutes} < {QUARTER_UNTIL} THEN {MINUTE_UNTIL} + ({minutes} - "
            f"{MINUTE_UNTIL}) / 15 ELSE {MINUTE_UNTIL + quarters} + ({minutes} - "
            f"{QUARTER_UNTIL}) / 1440 END")


def quantile_hours(histogram: dict[int, int], share: float) -> float:
    """The ``share`` quantile (nearest rank) of a histogram of buckets, in hours (the start
    of the bucket it falls in)."""
    total = sum(histogram.values())
    rank = max(1, math.ceil(round(share * total, 9)))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_start(bucket) / 60.0
    return bucket_start(max(histogram)) / 60.0


def _three() -> list[int]:
    return [0, 0, 0]


def _two() -> list[int]:
    return [0, 0]


@dataclass
class Aggregates:
    """Path analytics before names and the anonymity rules, all sums over customers.

    Paths are their first ``SANKEY_DEPTH`` touchpoints (after collapsing repeats); NPS bins
    are promoters, passives, detractors; CSAT bins satisfied, not; ``gaps`` counts, per pair
    of touchpoints met one after the other, the times between them by bucket.
    """

    customers: int = 0
    steps: int = 0
    path_counts: Counter[tuple[int, ...]] = field(default_factory=Counter)
    nps: defaultdict[tuple[int, ...], list[int]] = field(
        default_factory=lambda: defaultdict(_three))
    csat: defaultdict[tuple[int, ...], list[int]] = field(
        default_factory=lambda: defaultdict(_two))
    flows: Counter[tuple[int, int, int | None]] = field(default_factory=Counter)
    reached: Counter[int] = field(default_factory=Counter)
    ended: Counter[int] = field(default_factory=Counter)
    gaps: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    preceding: Counter[tuple[int, ...]] = field(default_factory=Counter)
    preceding_bad: Counter[tuple[int, ...]] = field(default_factory=Counter)

    COUNTERS = ("path_counts", "flows", "reached", "ended", "gaps", "preceding",
                "preceding_bad")

    def combine(self, other: Aggregates, sign: int) -> None:
        """Add (``sign`` 1) or take away (−1) the counts of other customers, in place."""
        self.customers += sign * other.customers
        self.steps += sign * other.steps
        for name in self.COUNTERS:
            mine: Counter[Any] = getattr(self, name)
            for key, count in getattr(other, name).items():
                mine[key] += sign * count
                if mine[key] == 0:
                    del mine[key]
        for name in ("nps", "csat"):
            bins: defaultdict[tuple[int, ...], list[int]] = getattr(self, name)
            for key, counts in getattr(other, name).items():
                merged = [a + sign * b for a, b in zip(bins[key], counts, strict=True)]
                if any(merged):
                    bins[key] = merged
                else:
                    del bins[key]

    def hours(self) -> dict[tuple[int, int], tuple[int, float, float]]:
        """Per pair of touchpoints: how often, the median and the 90th percentile (hours)."""
        histograms: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
        for (a, b, bucket), count in self.gaps.items():
            histograms[(a, b)][bucket] = count
        return {pair: (sum(h.values()), quantile_hours(h, 0.5), quantile_hours(h, 0.9))
                for pair, h in histograms.items()}


def add_paths(agg: Aggregates, first: tuple[int, ...], longer: bool, customers: int) -> None:
    """Count ``customers`` whose paths begin with ``first`` (their first ``SANKEY_DEPTH``
    touchpoints; ``longer``: they go on after them), and their flows between those steps: a
    flow to no touchpoint where they stop, none out of the last step followed."""
    agg.path_counts[first] += customers
    for depth, source in enumerate(first):
        if depth + 1 < len(first):
            agg.flows[(depth, source, first[depth + 1])] += customers
        elif not longer:
            agg.flows[(depth, source, None)] += customers


def _customer_steps(steps: QuerySet[PathStep]
                    ) -> Iterator[tuple[int, list[tuple[int, datetime]]]]:
    """Each customer's steps (touchpoint id, when), in time order."""
    rows = steps.order_by("customer_id", "occurred_at", "interaction_id").values_list(
        "customer_id", "touchpoint_id", "occurred_at")
    current: int | None = None
    found: list[tuple[int, datetime]] = []
    for customer_id, touchpoint_id, when in rows.iterator(chunk_size=20_000):
        if customer_id != current:
            if current is not None:
                yield current, found
            current, found = customer_id, []
        found.append((touchpoint_id, when))
    if current is not None:
        yield current, found


def _collapse(steps: list[tuple[int, datetime]]) -> list[tuple[int, datetime]]:
    """Consecutive steps at the same touchpoint count once (the first of them)."""
    out: list[tuple[int, datetime]] = []
    for step in steps:
        if not out or out[-1][0] != step[0]:
            out.append(step)
    return out


def aggregate_in_python(steps: QuerySet[PathStep], responses: QuerySet[Any]) -> Aggregates:
    """The aggregates from one pass over ``steps`` in customer and time order, and one over
    ``responses`` (NPS and CSAT answers of customers)."""
    agg = Aggregates()
    path_of: dict[int, tuple[int, ...]] = {}
    timeline: dict[int, list[tuple[int, datetime]]] = {}
    for customer_id, raw in _customer_steps(steps):
        agg.steps += len(raw)
        walked = _collapse(raw)
        path = tuple(t for t, _ in walked)
        path_of[customer_id] = path[:SANKEY_DEPTH]
        timeline[customer_id] = walked
        add_paths(agg, path[:SANKEY_DEPTH], len(path) > SANKEY_DEPTH, 1)
        for touchpoint_id in set(path):
            agg.reached[touchpoint_id] += 1
        agg.ended[path[-1]] += 1
        for (a, when_a), (b, when_b) in itertools.pairwise(walked):
            minutes = int((when_b - when_a).total_seconds() // 60)
            agg.gaps[(a, b, bucket_of(minutes))] += 1
    agg.customers = len(path_of)
    nps_bins, csat_bins = measure(Metric.NPS).bin_of(), measure(Metric.CSAT).bin_of()
    for customer_id, nps, csat, submitted_at in responses.values_list(
            "customer_id", "nps", "csat", "submitted_at").iterator(chunk_size=20_000):
        taken = path_of.get(customer_id)
        if taken is None or submitted_at is None:
            continue
        if nps is not None:
            agg.nps[taken][nps_bins[nps]] += 1
        if csat is not None:
            agg.csat[taken][csat_bins[csat]] += 1
        before = tuple(t for t, when in timeline[customer_id] if when <= submitted_at)
        if before:
            last = before[-PRECEDING:]
            agg.preceding[last] += 1
            if (nps is not None and nps <= DETRACTOR_NPS) or (
                    nps is None and csat is not None and csat <= DISSATISFIED_CSAT):
                agg.preceding_bad[last] += 1
    return agg
