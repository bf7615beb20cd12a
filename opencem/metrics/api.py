"""Endpoints for metrics: a metric by any grouping, targets, and the anonymity threshold."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import api_user, request_scope
from opencem.core.text import CleanStr
from opencem.metrics import selectors, services
from opencem.metrics.scores import Estimate

router = Router(tags=["metrics"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class MetricParams(Schema):
    metric: str = Field(description="nps, csat, net_satisfaction, ces, ces_agree, rating, "
                                    "volume, completion_rate or response_rate",
                        examples=["nps"])
    group_by: str = Field("", description="comma-separated: day|week|month|quarter, unit, "
                                          "touchpoint, channel, survey, attribute",
                          examples=["unit,month"])
    unit: str | None = Field(None, description="a unit code; its whole subtree is counted")
    from_: date | None = Field(None, alias="from", description="first day (default: twelve "
                                                                "calendar months back)")
    to: date | None = Field(None, description="last day, included (default: today)")
    survey: int | None = None
    touchpoint: str | None = None
    channel: str | None = None
    question: str | None = Field(None, description="the rating question (metric=rating)")
    attribute: str | None = Field(None, description="a customer attribute to group or filter by")
    attribute_value: str | None = None
    compare: str | None = Field(None, description="previous, parent or target")


class EstimateOut(Schema):
    value: float | None
    n: int
    low: float | None
    high: float | None
    small_sample: bool
    suppressed: bool


class ComparisonOut(Schema):
    against: str
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    significant: bool | None
    baseline: EstimateOut | None
    target: float | None


class UnitOut(Schema):
    code: str
    name: str
    parent: str | None = Field(description="the parent's code, when the answer shows it too")


class GroupOut(EstimateOut):
    key: dict[str, str | int | None] = Field(
        description="the group's value of each dimension of group_by: a unit code, a "
                    "period's first day, a survey id, a touchpoint, channel or attribute value")
    comparison: ComparisonOut | None = Field(
        None, description="present when compare is given; null when the group cannot be "
                          "compared (too few respondents, or nothing to compare with)")
    distribution: dict[str, EstimateOut] | None = Field(
        None, description="the rating metric: the share of each answer")


class SeriesOut(Schema):
    metric: str
    label: str
    unit_of_measure: str
    unit: str
    from_: date = Field(alias="from")
    to: date
    group_by: list[str]
    compare: str | None
    k: int
    units: list[UnitOut] = Field(description="the units of the groups, in tree order")
    groups: list[GroupOut]


def estimate_out(e: Estimate) -> dict[str, Any]:
    return {"value": e.value, "n": e.n, "low": e.low, "high": e.high,
            "small_sample": e.small_sample, "suppressed": e.suppressed}


def _comparison_out(against: str, outcome: selectors.Outcome) -> dict[str, Any] | None:
    c, baseline, target = outcome
    if c is None and target is None:
        return None
    return {"against": against,
            "difference": None if c is None else c.difference,
            "low": None if c is None else c.low, "high": None if c is None else c.high,
            "p_value": None if c is None else c.p_value,
            "significant": None if c is None else c.significant,
            "baseline": None if baseline is None else estimate_out(baseline),
            "target": target}


def _key_dicts(names: list[str], keys: list[tuple[Any, ...]], texts: dict[Any, Any]
               ) -> list[dict[str, Any]]:
    """Each group's key as {dimension: text}. Written out for one to three dimensions (all
    there may be): a dict display costs a fifth of dict(zip(…)), thousands of times over."""
    if len(names) == 1:
        (a,) = names
        return [{a: texts[x]} for (x,) in keys]
    if len(names) == 2:
        a, b = names
        return [{a: texts[x], b: texts[y]} for x, y in keys]
    if len(names) == 3:
        a, b, c = names
        return [{a: texts[x], b: texts[y], c: texts[z]} for x, y, z in keys]
    return [dict(zip(names, [texts[v] for v in key], strict=True)) for key in keys]


def series_out(series: selectors.MetricSeries) -> dict[str, Any]:
    """The series as JSON-ready data, written from its columns: an answer may hold
    thousands of groups, and no per-group object is needed to write them."""
    names = [d.value for d in series.group_by]
    # Each period's text is written once; other values (codes, ids …) go out as they are.
    texts: dict[Any, Any] = {}
    for key in series.keys:
        for value in key:
            if value not in texts:
                texts[value] = value.isoformat() if isinstance(value, date) else value
    e = series.estimates
    groups: list[dict[str, Any]] = [
        {"key": key, "value": value, "n": n, "low": low, "high": high,
         "small_sample": small, "suppressed": hidden}
        for key, value, n, low, high, small, hidden in zip(
            _key_dicts(names, series.keys, texts), e.value, e.n, e.low, e.high,
            e.small_sample, e.suppressed, strict=True)]
    if series.outcomes is not None:
        assert series.compare is not None
        against = series.compare.value
        for out, outcome in zip(groups, series.outcomes, strict=True):
            out["comparison"] = _comparison_out(against, outcome)
    if series.distributions is not None:
        for out, distribution in zip(groups, series.distributions, strict=True):
            if distribution is not None:
                out["distribution"] = {str(point): estimate_out(share)
                                       for point, share in distribution.items()}
    units = {} if series.units is None else {u.id: u for u in series.units}
    codes = {unit.id: unit.code for unit in units.values()}
    return {"metric": series.metric.value, "label": series.label,
            "unit_of_measure": series.unit_of_measure, "unit": series.root.code,
            "from": series.start.isoformat(), "to": series.end.isoformat(),
            "group_by": names,
            "compare": None if series.compare is None else series.compare.value,
            "k": series.k,
            "units": [{"code": u.code, "name": u.name,
                       "parent": codes.get(u.parent_id) if u.parent_id is not None else None}
                      for u in sorted(units.values(), key=lambda u: u.path)],
            "groups": groups}


@router.get("/metrics", response=SeriesOut, by_alias=True,
            summary="A metric by any grouping, with n, 95% interval and significance")
def metrics_get(request: HttpRequest, params: Query[MetricParams]) -> HttpResponse:
    filters = selectors.MetricFilters(
        unit=params.unit or None, start=params.from_, end=params.to, survey=params.survey,
        touchpoint=params.touchpoint, channel=params.channel, question=params.question,
        attribute=params.attribute, attribute_value=params.attribute_value)
    group_by = [part.strip() for part in params.group_by.split(",") if part.strip()]
    series = selectors.metric_series(scope=request_scope(request), metric=params.metric,
                                     group_by=group_by, filters=filters,
                                     compare=params.compare or None)
    # Built by hand and returned as is: validating thousands of groups against the schema
    # would take longer than computing them, and orjson writes it six times faster than the
    # standard library. The schema still documents the answer.
    with selectors.collector_paused():
        return HttpResponse(orjson.dumps(series_out(series)), content_type="application/json")


class TargetIn(_Strict):
    unit: CleanStr = Field(max_length=64, examples=["STORE-001"])
    metric: CleanStr = Field(max_length=32, examples=["nps"])
    value: float = Field(examples=[45])


class TargetOut(Schema):
    unit: str
    unit_name: str
    metric: str
    value: float


class TargetKey(Schema):
    unit: str
    metric: str


@router.get("/metrics/targets", response=list[TargetOut],
            summary="Targets of the units in scope")
def targets_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"unit": t.unit_code, "unit_name": t.unit_name, "metric": t.metric,
             "value": t.value} for t in selectors.target_list(scope=request_scope(request))]


@router.put("/metrics/targets", response=TargetOut,
            summary="Set a unit's target on a metric (its subtree inherits it)")
def targets_put(request: HttpRequest, payload: TargetIn) -> dict[str, Any]:
    target = services.target_set(unit=payload.unit, metric=payload.metric, value=payload.value,
                                 scope=request_scope(request), actor=api_user(request))
    return {"unit": payload.unit, "unit_name": target.unit.name, "metric": target.metric,
            "value": target.value}


@router.delete("/metrics/targets", response={204: None},
               summary="Remove a unit's own target on a metric")
def targets_delete(request: HttpRequest, params: Query[TargetKey]) -> Status[None]:
    services.target_clear(unit=params.unit, metric=params.metric, scope=request_scope(request))
    return Status(204, None)


class AnonymityIn(_Strict):
    organisation: CleanStr = Field(max_length=64, examples=["ACME"])
    k: int = Field(strict=True, examples=[10])


class AnonymityOut(Schema):
    organisation: str
    k: int
    minimum: int


class AnonymityParams(Schema):
    organisation: str


@router.get("/metrics/anonymity", response=AnonymityOut,
            summary="The anonymity threshold k in force for an organisation")
def anonymity_get(request: HttpRequest, params: Query[AnonymityParams]) -> dict[str, Any]:
    series_root = selectors.organisation_of(scope=request_scope(request),
                                            code=params.organisation)
    return {"organisation": params.organisation, "k": selectors.anonymity_k(series_root),
            "minimum": settings.OPENCEM_ANONYMITY_K}


@router.put("/metrics/anonymity", response=AnonymityOut,
            summary="Raise an organisation's anonymity threshold k (admins)")
def anonymity_put(request: HttpRequest, payload: AnonymityIn) -> dict[str, Any]:
    k = services.anonymity_threshold_set(organisation=payload.organisation, k=payload.k,
                                         scope=request_scope(request), actor=api_user(request))
    return {"organisation": payload.organisation, "k": k,
            "minimum": settings.OPENCEM_ANONYMITY_K}
