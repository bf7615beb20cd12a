"""Endpoints of the dashboards: the consistency chart, expected scores (the perception gap)
and the weekly digest preference. (Figures by any grouping: ``GET /api/v1/metrics``.)"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import api_user, request_scope
from opencem.core.errors import invalid
from opencem.core.text import CleanStr
from opencem.dashboards import selectors, services
from opencem.metrics.selectors import Estimate, MetricFilters, consistency_chart

router = Router(tags=["dashboards"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class EstimateOut(Schema):
    value: float | None
    n: int
    low: float | None
    high: float | None
    small_sample: bool
    suppressed: bool


def _estimate(e: Estimate | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"value": e.value, "n": e.n, "low": e.low, "high": e.high,
            "small_sample": e.small_sample, "suppressed": e.suppressed}


class ConsistencyParams(Schema):
    metric: str = Field(description="nps, net_satisfaction, csat, ces_agree, completion_rate "
                                    "or response_rate", examples=["nps"])
    unit: str | None = Field(None, description="a unit code; its units of one kind are "
                                               "compared (default: the unit your scope is)")
    kind: str | None = Field(None, description="the kind of unit to compare (store, team, "
                                               "region …; default: the most common below)")
    from_: date | None = Field(None, alias="from")
    to: date | None = None


class PointOut(Schema):
    unit: str
    unit_name: str
    n: int
    value: float | None
    lower: float | None = Field(description="the unit's lower control limit")
    upper: float | None
    flag: str = Field(description="above, below, within, suppressed (fewer than k "
                                  "respondents) or no_data")


class ConsistencyOut(Schema):
    metric: str
    label: str
    unit: str
    kind: str
    kinds: list[str]
    from_: date = Field(alias="from")
    to: date
    k: int
    centre: float | None = Field(description="the units shown, pooled")
    points: list[PointOut]


@router.get("/dashboards/consistency", response=ConsistencyOut, by_alias=True,
            summary="A metric across comparable units, with control-chart flags")
def consistency_get(request: HttpRequest, params: Query[ConsistencyParams]) -> dict[str, Any]:
    chart = consistency_chart(
        scope=request_scope(request), metric=params.metric, kind=params.kind or None,
        filters=MetricFilters(unit=params.unit or None, start=params.from_, end=params.to))
    return {"metric": chart.metric.value, "label": chart.label, "unit": chart.root.code,
            "kind": chart.kind, "kinds": list(chart.kinds), "from": chart.start,
            "to": chart.end, "k": chart.k, "centre": chart.centre,
            "points": [{"unit": p.unit.code, "unit_name": p.unit.name, "n": p.point.n,
                        "value": p.point.value, "lower": p.point.lower,
                        "upper": p.point.upper, "flag": p.point.flag.value}
                       for p in chart.points]}


class PerceptionIn(_Strict):
    unit: CleanStr = Field(max_length=64, examples=["STORE-001"])
    metric: CleanStr = Field(max_length=32, examples=["nps"])
    month: CleanStr = Field(max_length=10, description="YYYY-MM", examples=["2026-03"])
    expected: float = Field(examples=[45])


class PerceptionOut(Schema):
    id: int
    unit: str
    unit_name: str
    metric: str
    month: date = Field(description="the month's first day")
    expected: float
    recorded_by: str
    actual: EstimateOut | None = Field(description="what customers said in the month")
    gap: float | None = Field(description="actual − expected, in the metric's units")
    significant: bool | None = Field(description="the expectation lies outside the 95% "
                                                 "interval of the actual score")


class PerceptionParams(Schema):
    unit: str | None = Field(None, description="a unit code: its subtree")
    limit: int = Field(50, ge=1, le=200)


def _perception_out(row: selectors.PerceptionRow) -> dict[str, Any]:
    return {"id": row.id, "unit": row.unit_code, "unit_name": row.unit_name,
            "metric": row.metric, "month": row.month, "expected": row.expected,
            "recorded_by": row.recorded_by, "actual": _estimate(row.actual), "gap": row.gap,
            "significant": row.significant}


def _month(text: str) -> date:
    try:
        year, month = text.split("-")[:2]
        return date(int(year), int(month), 1)
    except ValueError:
        raise invalid(["month"], "must be a month as YYYY-MM") from None


@router.get("/dashboards/perception", response=list[PerceptionOut],
            summary="Expected scores of units in scope, against what customers said")
def perception_list(request: HttpRequest, params: Query[PerceptionParams]
                    ) -> list[dict[str, Any]]:
    rows = selectors.perception_rows(scope=request_scope(request), unit=params.unit,
                                     limit=params.limit)
    return [_perception_out(row) for row in rows]


@router.put("/dashboards/perception", response=PerceptionOut,
            summary="Record the score you expect a unit to get in a month")
def perception_put(request: HttpRequest, payload: PerceptionIn) -> dict[str, Any]:
    scope = request_scope(request)
    estimate = services.perception_record(
        unit=payload.unit, metric=payload.metric, month=_month(payload.month),
        expected=payload.expected, scope=scope, actor=api_user(request))
    return _perception_out(selectors.perception_row(scope=scope, estimate=estimate))


class DigestIn(_Strict):
    weekly: bool = Field(strict=True)


class DigestOut(Schema):
    weekly: bool


@router.get("/me/digest", response=DigestOut, summary="Whether you get the weekly digest")
def digest_get(request: HttpRequest) -> dict[str, Any]:
    return {"weekly": selectors.digest_wanted(api_user(request).pk)}


@router.put("/me/digest", response=DigestOut, summary="Opt in to or out of the weekly digest")
def digest_put(request: HttpRequest, payload: DigestIn) -> dict[str, Any]:
    preference = services.digest_preference_set(user=api_user(request), weekly=payload.weekly)
    return {"weekly": preference.weekly}
