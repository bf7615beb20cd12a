"""Reads of metrics, always through a Scope: series of any metric by any grouping (see
``series``), the anonymity threshold in force and the targets units have set."""

from __future__ import annotations

from dataclasses import dataclass

from opencem.accounts.selectors import Scope, unit_list
from opencem.core.errors import invalid
from opencem.metrics.consistency import (
    CHARTED,
    ConsistencyChart,
    ConsistencyPoint,
    consistency_chart,
)
from opencem.metrics.cube import UnitInfo
from opencem.metrics.definitions import Metric, measure
from opencem.metrics.models import MetricTarget
from opencem.metrics.scores import Estimate
from opencem.metrics.series import (
    Compare,
    MetricFilters,
    MetricGroup,
    MetricSeries,
    Outcome,
    anonymity_k,
    collector_paused,
    metric_series,
)
from opencem.metrics.sources import Dimension, register_dimension
from opencem.metrics.stats import Comparison, ControlFlag, ControlPoint

__all__ = ["CHARTED", "Compare", "Comparison", "ConsistencyChart", "ConsistencyPoint",
           "ControlFlag", "ControlPoint", "Dimension", "Estimate", "Metric", "MetricFilters",
           "MetricGroup", "MetricSeries", "Outcome", "TargetRow", "UnitInfo", "anonymity_k",
           "collector_paused", "consistency_chart", "metric_series", "organisation_of",
           "register_dimension", "target_list", "target_range"]


@dataclass(frozen=True)
class TargetRow:
    """A target a unit has set on a metric."""

    unit_code: str
    unit_name: str
    metric: str
    value: float


def target_list(*, scope: Scope) -> list[TargetRow]:
    """Targets of the units the scope sees, in tree order."""
    units = {u["id"]: u for u in unit_list(scope=scope).values("id", "code", "name", "path")}
    rows = list(MetricTarget.objects.filter(unit_id__in=list(units)).values(
        "unit_id", "metric", "value"))
    rows.sort(key=lambda t: (units[t["unit_id"]]["path"], t["metric"]))
    return [TargetRow(units[t["unit_id"]]["code"], units[t["unit_id"]]["name"], t["metric"],
                      t["value"]) for t in rows]


def organisation_of(*, scope: Scope, code: str) -> int:
    """The id of the organisation (root unit) with this code, if the scope sees it."""
    row = (unit_list(scope=scope).filter(code=code, parent__isnull=True)
           .values_list("id", flat=True).first())
    if row is None:
        raise invalid(["organisation"], f"no organisation you see has the code {code!r}")
    return int(row)


def target_range(metric: str) -> tuple[float, float] | None:
    """The range a target on ``metric`` must lie in; None for metrics without targets (and
    for names that are no metric)."""
    try:
        the_metric = Metric(metric)
    except ValueError:
        return None
    if the_metric == Metric.RATING:
        return None
    return measure(the_metric, scale=(0, 1)).target_range
