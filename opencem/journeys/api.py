"""Endpoints of journeys: journeys, stages and touchpoints (read, design, export/import as
JSON), touchpoint metrics with the gap ranking, and path analytics."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import request_scope
from opencem.core.text import CleanStr
from opencem.journeys import paths, selectors, services
from opencem.journeys.models import Journey, Stage, Touchpoint
from opencem.journeys.schemas import JourneyDoc
from opencem.metrics.selectors import Estimate

router = Router(tags=["journeys"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TouchpointOut(Schema):
    id: int
    stage: int
    name: str
    position: int
    channel: str | None
    owner_unit: str
    rule: dict[str, Any]
    metric: str
    target: float
    desired: str
    importance: float


class StageOut(Schema):
    id: int
    name: str
    position: int
    touchpoints: list[TouchpointOut]


class JourneyOut(Schema):
    id: int
    name: str
    unit: str
    persona: str
    segment_attribute: str
    segment_value: str
    description: str
    stages: list[StageOut]


class JourneySummaryOut(Schema):
    id: int
    name: str
    unit: str
    persona: str


def _touchpoint_out(t: Touchpoint) -> dict[str, Any]:
    return {"id": t.pk, "stage": t.stage_id, "name": t.name, "position": t.position,
            "channel": t.channel or None, "owner_unit": t.owner_unit.code, "rule": t.rule,
            "metric": t.metric, "target": t.target, "desired": t.desired,
            "importance": t.importance}


def _stage_out(stage: Stage) -> dict[str, Any]:
    return {"id": stage.pk, "name": stage.name, "position": stage.position,
            "touchpoints": [_touchpoint_out(t) for t in stage.touchpoints.all()]}


def _journey_out(journey: Journey) -> dict[str, Any]:
    return {"id": journey.pk, "name": journey.name, "unit": journey.unit.code,
            "persona": journey.persona, "segment_attribute": journey.segment_attribute,
            "segment_value": journey.segment_value, "description": journey.description,
            "stages": [_stage_out(s) for s in selectors.journey_stages(journey)]}


def _fresh(request: HttpRequest, journey_id: int) -> dict[str, Any]:
    return _journey_out(selectors.journey_get(scope=request_scope(request),
                                              journey_id=journey_id))


@router.get("/journeys", response=list[JourneySummaryOut],
            summary="Journeys of your units and the units above them")
def journey_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"id": j.pk, "name": j.name, "unit": j.unit.code, "persona": j.persona}
            for j in selectors.journeys_visible(scope=request_scope(request))]


class JourneyIn(_Strict):
    name: CleanStr = Field(min_length=1, max_length=200)
    unit: CleanStr = Field(max_length=64, description="the owning unit's code")
    persona: CleanStr = Field("", max_length=200)
    segment_attribute: CleanStr = Field("", max_length=100)
    segment_value: CleanStr = Field("", max_length=200)
    description: CleanStr = Field("", max_length=5000)


@router.post("/journeys", response={201: JourneyOut}, summary="Create an empty journey")
def journey_create(request: HttpRequest, payload: JourneyIn) -> Status[dict[str, Any]]:
    journey = services.journey_create(scope=request_scope(request), **payload.model_dump())
    return Status(201, _fresh(request, journey.pk))


class ImportIn(_Strict):
    document: JourneyDoc
    replace: int | None = Field(None, description="a journey id whose stages and touchpoints "
                                                  "the document replaces")


@router.post("/journeys/import", response={201: JourneyOut},
             summary="Create (or replace) a journey from a JSON document; all or nothing")
def journey_import(request: HttpRequest, payload: ImportIn) -> Status[dict[str, Any]]:
    journey = services.journey_import(scope=request_scope(request), document=payload.document,
                                      replace_id=payload.replace)
    return Status(201, _fresh(request, journey.pk))


# The import route comes before /journeys/{journey_id}, which would take its path.
@router.get("/journeys/{journey_id}", response=JourneyOut,
            summary="A journey with its stages and touchpoints in order")
def journey_detail(request: HttpRequest, journey_id: int) -> dict[str, Any]:
    return _fresh(request, journey_id)


class JourneyPatch(_Strict):
    name: CleanStr | None = Field(None, min_length=1, max_length=200)
    persona: CleanStr | None = Field(None, max_length=200)
    segment_attribute: CleanStr | None = Field(None, max_length=100)
    segment_value: CleanStr | None = Field(None, max_length=200)
    description: CleanStr | None = Field(None, max_length=5000)


@router.patch("/journeys/{journey_id}", response=JourneyOut, summary="Change a journey")
def journey_update(request: HttpRequest, journey_id: int,
                   payload: JourneyPatch) -> dict[str, Any]:
    services.journey_update(scope=request_scope(request), journey_id=journey_id,
                            changes=services.JourneyChanges(**payload.model_dump()))
    return _fresh(request, journey_id)


@router.delete("/journeys/{journey_id}", response={204: None}, summary="Delete a journey")
def journey_delete(request: HttpRequest, journey_id: int) -> Status[None]:
    services.journey_delete(scope=request_scope(request), journey_id=journey_id)
    return Status(204, None)


@router.get("/journeys/{journey_id}/export", response=JourneyDoc,
            summary="A journey as a JSON document, to import elsewhere")
def journey_export(request: HttpRequest, journey_id: int) -> dict[str, Any]:
    journey = selectors.journey_get(scope=request_scope(request), journey_id=journey_id)
    return selectors.journey_document(journey)


class StageIn(_Strict):
    name: CleanStr = Field(min_length=1, max_length=100)
    position: int | None = Field(None, ge=0, description="0 is the first; default: last")


class StagePatch(_Strict):
    name: CleanStr | None = Field(None, min_length=1, max_length=100)
    position: int | None = Field(None, ge=0)


@router.post("/journeys/{journey_id}/stages", response={201: JourneyOut},
             summary="Add a stage")
def stage_create(request: HttpRequest, journey_id: int,
                 payload: StageIn) -> Status[dict[str, Any]]:
    services.stage_create(scope=request_scope(request), journey_id=journey_id,
                          name=payload.name, position=payload.position)
    return Status(201, _fresh(request, journey_id))


@router.patch("/stages/{stage_id}", response=JourneyOut, summary="Rename or move a stage")
def stage_update(request: HttpRequest, stage_id: int, payload: StagePatch) -> dict[str, Any]:
    stage = services.stage_update(scope=request_scope(request), stage_id=stage_id,
                                  name=payload.name, position=payload.position)
    return _fresh(request, stage.journey_id)


@router.delete("/stages/{stage_id}", response={204: None},
               summary="Delete a stage with its touchpoints")
def stage_delete(request: HttpRequest, stage_id: int) -> Status[None]:
    services.stage_delete(scope=request_scope(request), stage_id=stage_id)
    return Status(204, None)


class TouchpointIn(_Strict):
    touchpoint: dict[str, Any] = Field(description="name, channel, owner_unit, rule, metric, "
                                                   "target, desired, importance")
    position: int | None = Field(None, ge=0)


class TouchpointPatch(_Strict):
    changes: dict[str, Any] = Field(default_factory=dict,
                                    description="any fields of the touchpoint to change "
                                                "(rule: remap it)")
    stage: int | None = Field(None, description="move it to this stage of the journey")
    position: int | None = Field(None, ge=0)


@router.post("/stages/{stage_id}/touchpoints", response={201: TouchpointOut},
             summary="Add a touchpoint to a stage")
def touchpoint_create(request: HttpRequest, stage_id: int,
                      payload: TouchpointIn) -> Status[dict[str, Any]]:
    touchpoint = services.touchpoint_create(scope=request_scope(request), stage_id=stage_id,
                                            data=payload.touchpoint, position=payload.position)
    touchpoint.refresh_from_db()
    return Status(201, _touchpoint_out(touchpoint))


@router.get("/touchpoints/{touchpoint_id}", response=TouchpointOut)
def touchpoint_detail(request: HttpRequest, touchpoint_id: int) -> dict[str, Any]:
    return _touchpoint_out(selectors.touchpoint_get(scope=request_scope(request),
                                                    touchpoint_id=touchpoint_id))


@router.patch("/touchpoints/{touchpoint_id}", response=TouchpointOut,
              summary="Rename, remap, retarget or move a touchpoint")
def touchpoint_update(request: HttpRequest, touchpoint_id: int,
                      payload: TouchpointPatch) -> dict[str, Any]:
    scope = request_scope(request)
    services.touchpoint_update(scope=scope, touchpoint_id=touchpoint_id,
                               changes=payload.changes, stage_id=payload.stage,
                               position=payload.position)
    return _touchpoint_out(selectors.touchpoint_get(scope=scope, touchpoint_id=touchpoint_id))


@router.delete("/touchpoints/{touchpoint_id}", response={204: None},
               summary="Delete a touchpoint")
def touchpoint_delete(request: HttpRequest, touchpoint_id: int) -> Status[None]:
    services.touchpoint_delete(scope=request_scope(request), touchpoint_id=touchpoint_id)
    return Status(204, None)


# --- figures --------------------------------------------------------------------------------


class WindowParams(Schema):
    from_: date | None = Field(None, alias="from", description="first day (default: a year "
                                                                "before `to`)")
    to: date | None = Field(None, description="last day (default: today)")


class EstimateOut(Schema):
    value: float | None
    n: int
    low: float | None
    high: float | None
    small_sample: bool
    suppressed: bool


def _estimate(e: Estimate) -> dict[str, Any]:
    return {"value": e.value, "n": e.n, "low": e.low, "high": e.high,
            "small_sample": e.small_sample, "suppressed": e.suppressed}


class ThemeOut(Schema):
    code: str
    label: str
    category: str
    mentions: int
    net_sentiment: float = Field(description="% positive − % negative mentions")


class VoiceOut(Schema):
    themes: list[ThemeOut] = Field(description="the most mentioned themes, at most five")
    analysed: int = Field(description="comments analysed")
    positive: int
    neutral: int
    negative: int
    net_sentiment: float | None = Field(description="% positive − % negative comments")


def _voice_out(voice: selectors.TouchpointVoice | None) -> dict[str, Any] | None:
    if voice is None:
        return None
    s = voice.sentiment
    return {"themes": [{"code": t.code, "label": t.label, "category": t.category,
                        "mentions": t.mentions, "net_sentiment": t.net_sentiment}
                       for t in voice.themes],
            "analysed": s.analysed, "positive": s.positive, "neutral": s.neutral,
            "negative": s.negative, "net_sentiment": s.net}


class TouchpointMetricsOut(Schema):
    touchpoint: int
    name: str
    stage: str
    metric: str
    target: float
    desired: str
    importance: float
    volume: int = Field(description="interactions mapped to the touchpoint in the window")
    actual: EstimateOut
    gap: float | None = Field(description="actual − target, in the metric's units")
    significant: bool = Field(description="the target lies outside the 95% interval test")
    shortfall: float = Field(description="how far below target, in % of the metric's range")
    priority: float = Field(description="importance × shortfall × reach")
    voice: VoiceOut | None = Field(
        description="what its comments say (text analytics); null under k analysed comments")


class EmotionOut(Schema):
    stage: str
    measured: float | None
    desired: float | None
    sentiment: float | None
    emotion: float | None
    n: int


class JourneyMetricsOut(Schema):
    journey: int
    from_: date = Field(alias="from")
    to: date
    touchpoints: list[TouchpointMetricsOut]
    emotion: list[EmotionOut]
    gaps: list[int] = Field(description="touchpoint ids below target, the heaviest first")


def _metrics_out(f: selectors.TouchpointFigures, stage_names: dict[int, str]
                 ) -> dict[str, Any]:
    t = f.touchpoint
    return {"touchpoint": t.pk, "name": t.name, "stage": stage_names[f.stage_id],
            "metric": t.metric, "target": t.target, "desired": t.desired,
            "importance": t.importance, "volume": f.volume, "actual": _estimate(f.actual),
            "gap": f.gap, "significant": f.significant, "shortfall": f.shortfall,
            "priority": f.priority, "voice": _voice_out(f.voice)}


@router.get("/journeys/{journey_id}/metrics", response=JourneyMetricsOut, by_alias=True,
            summary="Every touchpoint's volume, actual score and gap, the emotion curve and "
                    "the gap ranking")
def journey_metrics(request: HttpRequest, journey_id: int,
                    params: Query[WindowParams]) -> dict[str, Any]:
    scope = request_scope(request)
    journey = selectors.journey_get(scope=scope, journey_id=journey_id)
    window = selectors.window_of(params.from_, params.to)
    stages = selectors.journey_stages(journey)
    figures = selectors.journey_figures(scope=scope, journey=journey, window=window,
                                        stages=stages)
    names = {s.pk: s.name for s in stages}
    return {"journey": journey.pk, "from": window.first_day, "to": window.last_day,
            "touchpoints": [_metrics_out(f, names) for f in figures],
            "emotion": [{"stage": p.stage, "measured": p.measured, "desired": p.desired,
                         "sentiment": p.sentiment, "emotion": p.emotion, "n": p.n}
                        for p in selectors.emotion_curve(stages, figures)],
            "gaps": [f.touchpoint.pk for f in selectors.gap_ranking(figures)]}


@router.get("/touchpoints/{touchpoint_id}/metrics", response=TouchpointMetricsOut,
            summary="One touchpoint's volume, actual score and gap to target")
def touchpoint_metrics(request: HttpRequest, touchpoint_id: int,
                       params: Query[WindowParams]) -> dict[str, Any]:
    scope = request_scope(request)
    touchpoint = selectors.touchpoint_get(scope=scope, touchpoint_id=touchpoint_id)
    journey = touchpoint.stage.journey
    window = selectors.window_of(params.from_, params.to)
    stages = selectors.journey_stages(journey)
    figures = selectors.journey_figures(scope=scope, journey=journey, window=window,
                                        stages=stages)
    (found,) = (f for f in figures if f.touchpoint.pk == touchpoint.pk)
    return _metrics_out(found, {s.pk: s.name for s in stages})


@router.get("/journeys/{journey_id}/paths", response=paths.PathReportOut, by_alias=True,
            summary="Customers' actual paths through the journey in the window")
def journey_paths(request: HttpRequest, journey_id: int,
                  params: Query[WindowParams]) -> dict[str, Any]:
    scope = request_scope(request)
    journey = selectors.journey_get(scope=scope, journey_id=journey_id)
    window = selectors.window_of(params.from_, params.to)
    return paths.report_as_json(paths.path_report(scope=scope, journey=journey, window=window))
