"""Writes of journeys, stages and touchpoints: keyword-only, checked, transactional.

Only the admins and analysts of a journey's unit design it (``Scope.designs_unit``); a
journey the scope cannot see is reported as missing. Positions are kept dense (0, 1, 2 …)
after every change, so "move to position 2" always means the same place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from pydantic import ValidationError

from opencem.accounts.selectors import Scope, unit_get_by_code
from opencem.core.errors import (
    Conflict,
    PermissionDenied,
    from_validation,
    invalid,
)
from opencem.journeys.choices import JourneyMetric
from opencem.journeys.models import Journey, Stage, Touchpoint
from opencem.journeys.schemas import JourneyDoc, TouchpointDoc
from opencem.journeys.selectors import journey_get, stage_get, touchpoint_get
from opencem.metrics.selectors import target_range

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

_KEY = re.compile(r"[a-z_][a-z0-9_]{0,63}")

def _design_check(scope: Scope, journey: Journey) -> None:
    if not scope.designs_unit(journey.unit_id):
        raise PermissionDenied("Only the admins and analysts of the journey's unit change it.")


def _unit(scope: Scope, code: str, loc: tuple[str | int, ...]) -> Unit:
    unit = unit_get_by_code(code)
    if unit is None or not scope.sees_unit(unit.pk):
        raise invalid(loc, f"no unit you see has the code {code!r}")
    return unit


def _target_check(metric: str, target: float, loc: tuple[str | int, ...]) -> None:
    bounds = target_range(metric)
    if bounds is None:
        raise invalid((*loc[:-1], "metric"), f"{metric!r} is not a journey metric")
    if not bounds[0] <= target <= bounds[1]:
        raise invalid(loc, f"a {JourneyMetric(metric).label} target lies in "
                           f"{bounds[0]:g}..{bounds[1]:g}")


def _segment_check(attribute: str, value: str) -> None:
    if attribute and not _KEY.fullmatch(attribute):
        # The name becomes a JSON path in a query: plain names only.
        raise invalid(("segment_attribute",), "must be lower-case letters, digits and _")
    if bool(attribute) != bool(value):
        raise invalid(("segment_value",), "a segment needs both an attribute and a value")


def _renumber(rows: Sequence[Stage | Touchpoint]) -> None:
    for i, row in enumerate(rows):
        if row.position != i:
            row.position = i
            row.save(update_fields=["position"])


def _place(rows: Sequence[Stage | Touchpoint], row: Stage | Touchpoint,
           position: int | None) -> None:
    """Put ``row`` at ``position`` (the end when None or past it) and renumber the rest."""
    others = [r for r in rows if r.pk != row.pk]
    where = len(others) if position is None else max(0, min(position, len(others)))
    others.insert(where, row)
    _renumber(others)


@transaction.atomic
def journey_create(*, scope: Scope, unit: str, name: str, persona: str = "",
                   segment_attribute: str = "", segment_value: str = "",
                   description: str = "") -> Journey:
    """Create an empty journey owned by ``unit`` (a code the scope designs for)."""
    owner = _unit(scope, unit, ("unit",))
    if not scope.designs_unit(owner.pk):
        raise PermissionDenied("Only the unit's admins and analysts design its journeys.",
                               loc=("unit",))
    if not name.strip():
        raise invalid(("name",), "must not be blank")
    _segment_check(segment_attribute, segment_value)
    journey = Journey(unit=owner, name=name.strip(), persona=persona,
                      segment_attribute=segment_attribute, segment_value=segment_value,
                      description=description)
    try:
        with transaction.atomic():
            journey.save()
    except IntegrityError as exc:
        raise Conflict(f"The unit already has a journey named {name.strip()!r}.") from exc
    return journey


@dataclass(frozen=True)
class JourneyChanges:
    """Fields of a journey to change; None leaves one as it is."""

    name: str | None = None
    persona: str | None = None
    segment_attribute: str | None = None
    segment_value: str | None = None
    description: str | None = None


@transaction.atomic
def journey_update(*, scope: Scope, journey_id: int, changes: JourneyChanges) -> Journey:
    """Rename a journey or change its persona, segment or description."""
    journey = journey_get(scope=scope, journey_id=journey_id)
    _design_check(scope, journey)
    if changes.name is not None and not changes.name.strip():
        raise invalid(("name",), "must not be blank")
    _segment_check(
        journey.segment_attribute if changes.segment_attribute is None
        else changes.segment_attribute,
        journey.segment_value if changes.segment_value is None else changes.segment_value)
    for field in ("name", "persona", "segment_attribute", "segment_value", "description"):
        value = getattr(changes, field)
        if value is not None:
            setattr(journey, field, value.strip() if field == "name" else value)
    try:
        with transaction.atomic():
            journey.save()
    except IntegrityError as exc:
        raise Conflict(f"The unit already has a journey named {journey.name!r}.") from exc
    return journey


@transaction.atomic
def journey_delete(*, scope: Scope, journey_id: int) -> None:
    """Delete a journey with its stages, touchpoints and cached paths."""
    journey = journey_get(scope=scope, journey_id=journey_id)
    _design_check(scope, journey)
    journey.delete()


@transaction.atomic
def stage_create(*, scope: Scope, journey_id: int, name: str,
                 position: int | None = None) -> Stage:
    """Add a stage to a journey, at ``position`` or at the end."""
    journey = journey_get(scope=scope, journey_id=journey_id)
    _design_check(scope, journey)
    if not name.strip():
        raise invalid(("name",), "must not be blank")
    rows = list(journey.stages.select_for_update().order_by("position", "id"))
    if len(rows) >= 20:
        raise invalid(("stages",), "a journey has at most 20 stages")
    stage = Stage.objects.create(journey=journey, name=name.strip(), position=len(rows))
    _place(rows, stage, position)
    return stage


@transaction.atomic
def stage_update(*, scope: Scope, stage_id: int, name: str | None = None,
                 position: int | None = None) -> Stage:
    """Rename a stage or move it to another position (0 is the first)."""
    stage = stage_get(scope=scope, stage_id=stage_id)
    _design_check(scope, stage.journey)
    if name is not None:
        if not name.strip():
            raise invalid(("name",), "must not be blank")
        stage.name = name.strip()
        stage.save(update_fields=["name"])
    if position is not None:
        if position < 0:
            raise invalid(("position",), "must not be negative")
        rows = list(Stage.objects.select_for_update().filter(journey_id=stage.journey_id)
                    .order_by("position", "id"))
        _place(rows, stage, position)
    return stage


@transaction.atomic
def stage_delete(*, scope: Scope, stage_id: int) -> None:
    """Delete a stage with its touchpoints; the stages after it move up."""
    stage = stage_get(scope=scope, stage_id=stage_id)
    _design_check(scope, stage.journey)
    journey_id = stage.journey_id
    stage.delete()
    _renumber(list(Stage.objects.filter(journey_id=journey_id).order_by("position", "id")))


def _touchpoint_doc(raw: object, loc: tuple[str | int, ...] = ()) -> TouchpointDoc:
    try:
        return TouchpointDoc.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc, loc) from exc


def _touchpoint_fill(scope: Scope, touchpoint: Touchpoint, doc: TouchpointDoc,
                     loc: tuple[str | int, ...] = ()) -> None:
    _target_check(doc.metric, doc.target, (*loc, "target"))
    touchpoint.name = doc.name.strip()
    touchpoint.channel = doc.channel or ""
    touchpoint.owner_unit = _unit(scope, doc.owner_unit, (*loc, "owner_unit"))
    touchpoint.rule = doc.rule.model_dump(mode="json")
    touchpoint.metric = doc.metric
    touchpoint.target = doc.target
    touchpoint.desired = doc.desired
    touchpoint.importance = doc.importance


@transaction.atomic
def touchpoint_create(*, scope: Scope, stage_id: int, data: object,
                      position: int | None = None) -> Touchpoint:
    """Add a touchpoint (a ``TouchpointDoc`` as JSON) to a stage, at ``position`` or last."""
    stage = stage_get(scope=scope, stage_id=stage_id)
    _design_check(scope, stage.journey)
    doc = _touchpoint_doc(data)
    rows = list(Touchpoint.objects.select_for_update().filter(stage=stage)
                .order_by("position", "id"))
    if len(rows) >= 50:
        raise invalid(("touchpoints",), "a stage has at most 50 touchpoints")
    touchpoint = Touchpoint(stage=stage, position=len(rows))
    _touchpoint_fill(scope, touchpoint, doc)
    touchpoint.save()
    _place(rows, touchpoint, position)
    return touchpoint


def touchpoint_as_doc(touchpoint: Touchpoint, owner_code: str) -> dict[str, object]:
    """A touchpoint as the JSON its document holds."""
    return {"name": touchpoint.name, "channel": touchpoint.channel or None,
            "owner_unit": owner_code, "rule": touchpoint.rule, "metric": touchpoint.metric,
            "target": touchpoint.target, "desired": touchpoint.desired,
            "importance": touchpoint.importance}


@transaction.atomic
def touchpoint_update(*, scope: Scope, touchpoint_id: int, changes: dict[str, object],
                      stage_id: int | None = None, position: int | None = None) -> Touchpoint:
    """Change a touchpoint: any fields of its document (``changes``: rename, remap with a
    new rule, a new target …), and move it to another stage of the journey or position."""
    touchpoint = touchpoint_get(scope=scope, touchpoint_id=touchpoint_id)
    journey = touchpoint.stage.journey
    _design_check(scope, journey)
    if changes:
        merged = {**touchpoint_as_doc(touchpoint, touchpoint.owner_unit.code), **changes}
        _touchpoint_fill(scope, touchpoint, _touchpoint_doc(merged))
        touchpoint.save()
    if stage_id is not None or position is not None:
        if position is not None and position < 0:
            raise invalid(("position",), "must not be negative")
        old_stage_id = touchpoint.stage_id
        if stage_id is not None and stage_id != old_stage_id:
            target = Stage.objects.filter(pk=stage_id, journey_id=journey.pk).first()
            if target is None:
                raise invalid(("stage",), "is not a stage of this journey")
            touchpoint.stage = target
            touchpoint.save(update_fields=["stage"])
            _renumber(list(Touchpoint.objects.filter(stage_id=old_stage_id)
                           .exclude(pk=touchpoint.pk).order_by("position", "id")))
        rows = list(Touchpoint.objects.select_for_update().filter(stage_id=touchpoint.stage_id)
                    .order_by("position", "id"))
        _place(rows, touchpoint, position)
    return touchpoint


@transaction.atomic
def touchpoint_delete(*, scope: Scope, touchpoint_id: int) -> None:
    """Delete a touchpoint; those after it in its stage move up."""
    touchpoint = touchpoint_get(scope=scope, touchpoint_id=touchpoint_id)
    _design_check(scope, touchpoint.stage.journey)
    stage_id = touchpoint.stage_id
    touchpoint.delete()
    _renumber(list(Touchpoint.objects.filter(stage_id=stage_id).order_by("position", "id")))


@transaction.atomic
def journey_import(*, scope: Scope, document: JourneyDoc,
                   replace_id: int | None = None) -> Journey:
    """Create a journey from a document (or, with ``replace_id``, replace that journey's
    stages and touchpoints with the document's). All or nothing: any refused touchpoint
    leaves nothing changed."""
    if replace_id is None:
        journey = journey_create(scope=scope, unit=document.unit, name=document.name,
                                 persona=document.persona,
                                 segment_attribute=document.segment_attribute,
                                 segment_value=document.segment_value,
                                 description=document.description)
    else:
        journey = journey_get(scope=scope, journey_id=replace_id)
        _design_check(scope, journey)
        journey = journey_update(scope=scope, journey_id=replace_id, changes=JourneyChanges(
            name=document.name, persona=document.persona,
            segment_attribute=document.segment_attribute,
            segment_value=document.segment_value, description=document.description))
        journey.stages.all().delete()
    for s, stage_doc in enumerate(document.stages):
        stage = Stage.objects.create(journey=journey, name=stage_doc.name.strip(), position=s)
        for t, doc in enumerate(stage_doc.touchpoints):
            touchpoint = Touchpoint(stage=stage, position=t)
            _touchpoint_fill(scope, touchpoint, doc, ("stages", s, "touchpoints", t))
            touchpoint.save()
    return journey
