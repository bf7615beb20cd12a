"""Consistency: one metric across comparable units (all the stores, all the teams …), each
set against control limits drawn from the units together.

Customers expect the same experience everywhere; a unit outside its limits differs from the
others by more than its number of respondents explains. The counts and the anonymity rules
are those of ``metric_series`` grouped by unit: a unit the series would hide is shown here as
suppressed too, and the centre line pools only the units that are shown, so that the centre
and the shown units together never reveal a hidden one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from opencem.accounts.selectors import Scope, unit_list
from opencem.core.errors import invalid
from opencem.metrics.cube import UnitInfo
from opencem.metrics.definitions import Counts, Metric
from opencem.metrics.scores import NpsCounts, ProportionCounts
from opencem.metrics.series import (
    MetricFilters,
    _cube,
    _parse_enum,
    _plan,
    _range,
    _shown,
    collector_paused,
)
from opencem.metrics.sources import EVERYTHING, Dimension
from opencem.metrics.stats import (
    ControlFlag,
    ControlPoint,
    nps_control_chart,
    proportion_control_chart,
)

# Metrics whose counts make a control chart: net scores (NPS's variance) and shares (a
# p-chart). Means have no chart here.
NET_SCORES = (Metric.NPS, Metric.NET_SATISFACTION)
SHARES = (Metric.CSAT, Metric.CES_AGREE, Metric.COMPLETION_RATE, Metric.RESPONSE_RATE)
CHARTED = (*NET_SCORES, *SHARES)


@dataclass(frozen=True)
class ConsistencyPoint:
    """One comparable unit on the chart."""

    unit: UnitInfo
    point: ControlPoint


@dataclass(frozen=True)
class ConsistencyChart:
    """A metric across the units of one kind below ``root``, with control-chart flags.

    ``centre`` is the pooled value of the units shown; ``kinds`` the kinds of unit found
    below the root (what else could be compared).
    """

    metric: Metric
    label: str
    unit_of_measure: str
    root: UnitInfo
    kind: str
    kinds: tuple[str, ...]
    start: date
    end: date
    k: int
    centre: float | None
    points: list[ConsistencyPoint]

    @property
    def outside(self) -> list[ConsistencyPoint]:
        """The units above or below their limits."""
        return [p for p in self.points
                if p.point.flag in (ControlFlag.ABOVE, ControlFlag.BELOW)]


def _share(metric: Metric, counts: Counts) -> ProportionCounts:
    if metric in (Metric.CSAT, Metric.CES_AGREE):
        return ProportionCounts(counts[0], counts[0] + counts[1])  # (yes, no) bins
    return ProportionCounts(counts[0], counts[1])  # (successes, n) columns


def _comparable(root: UnitInfo, below: list[int], kind: str | None
                ) -> tuple[str, tuple[str, ...], set[int]]:
    """The kind compared, the kinds there are below the root, and the units of that kind."""
    kinds_of = dict(unit_list(scope=EVERYTHING).filter(id__in=below)
                    .values_list("id", "kind"))
    counted = Counter(kinds_of.values())
    kinds = tuple(sorted(counted))
    if kind is None:
        # The most common kind is what "comparable units" usually means: the stores of a
        # retailer, the teams of a contact centre.
        kind = max(kinds, key=lambda name: (counted[name], name)) if kinds else ""
    elif kind not in counted:
        raise invalid(["kind"], f"no unit below {root.code} is of the kind {kind!r}"
                      + (f"; there are {', '.join(kinds)}" if kinds else ""))
    return kind, kinds, {node for node, found in kinds_of.items() if found == kind}


def consistency_chart(*, scope: Scope, metric: Metric | str, filters: MetricFilters | None = None,
                      kind: str | None = None) -> ConsistencyChart:
    """The metric for every unit of ``kind`` below the filters' unit (default: the kind most
    units below it have, stores in a retailer), flagged against 3-sigma control limits."""
    with collector_paused():
        return _chart(scope, metric, filters or MetricFilters(), kind)


def _chart(scope: Scope, metric: Metric | str, filters: MetricFilters,
           kind: str | None) -> ConsistencyChart:
    the_metric: Metric = _parse_enum(Metric, metric, "metric")
    if the_metric not in CHARTED:
        raise invalid(["metric"], "consistency is charted for "
                                  f"{', '.join(m.value for m in CHARTED)}")
    start, end = _range(filters.start, filters.end)
    plan = _plan(scope, the_metric, (Dimension.UNIT,), filters, None, start=start, end=end)
    root = plan.tree.root
    kind, kinds, compared = _comparable(root, [n for n in plan.tree.shown if n != root.id],
                                        kind)
    cube, counts = _cube(plan, start, end)
    visible: dict[int, Counts] = {}
    hidden: dict[int, int] = {}
    for key in _shown(plan, cube, counts):
        node = key[0]
        if node not in compared:
            continue
        if cube.visible(key):
            visible[node] = counts[key]
        else:
            hidden[node] = cube.n.get(key, 0)
    chart: dict[int, ControlPoint]
    if the_metric in NET_SCORES:
        chart = nps_control_chart({u: NpsCounts(c[0], c[1], c[2]) for u, c in visible.items()},
                                  k=plan.k)
    else:
        chart = proportion_control_chart(
            {u: _share(the_metric, c) for u, c in visible.items()}, k=plan.k)
    centre = next((p.centre for p in chart.values()), None)
    points = []
    for node in sorted(compared, key=lambda u: plan.tree.units[u].path):
        if node in chart:
            point = chart[node]
        elif node in hidden:
            point = ControlPoint(hidden[node], None, centre, None, None, ControlFlag.SUPPRESSED)
        else:
            point = ControlPoint(0, None, centre, None, None, ControlFlag.NO_DATA)
        points.append(ConsistencyPoint(plan.tree.units[node], point))
    return ConsistencyChart(the_metric, plan.measure.label, plan.measure.unit_of_measure, root,
                            kind, kinds, start, end, plan.k, centre, points)
