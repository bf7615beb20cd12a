"""The journey pages: the list, the journey map (stages as columns, touchpoints as cards,
the emotion curve and the gap ranking), its design page (add, rename, reorder, remap), the
path analytics page, and the JSON export.

Every change goes through the services, so the pages refuse what the API refuses; a refused
change shows its reason and changes nothing. One view serves the map and, to htmx, the
``#journey-map`` part its period form changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import ValidationError

from opencem.accounts.forms import apply_service_error
from opencem.accounts.selectors import Scope, request_scope, unit_list
from opencem.core.errors import ApplicationError, NotFound, PermissionDenied
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.journeys import charts, paths, selectors, services
from opencem.journeys.forms import (
    ImportForm,
    JourneyForm,
    StageForm,
    TouchpointForm,
    WindowForm,
)
from opencem.journeys.models import Journey
from opencem.journeys.schemas import JourneyDoc

View = Callable[..., HttpResponse]


def _not_found_is_404(view: View) -> View:
    """A journey, stage or touchpoint the viewer cannot see answers 404, like a missing one."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            return render(request, "journeys/refused.html", {"message": exc.message},
                          status=403)

    return wrapper


def _units(scope: Scope, *, design: bool = False) -> list[tuple[str, str]]:
    rows = unit_list(scope=scope).values_list("id", "code", "name")
    return [(code, f"{name} ({code})") for unit_id, code, name in rows
            if not design or scope.designs_unit(unit_id)]


def _window(request: HttpRequest) -> tuple[WindowForm, selectors.Window | None]:
    form = WindowForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, None
    data = form.cleaned_data if request.GET else {}
    start: date | None = data.get("start")
    end: date | None = data.get("end")
    return form, selectors.window_of(start, end)


# --- the list -------------------------------------------------------------------------------


def _list_page(request: HttpRequest, *, status: int = 200,
               form: JourneyForm | None = None,
               import_form: ImportForm | None = None) -> HttpResponse:
    scope = request_scope(request)
    units = _units(scope, design=True)
    return render(request, "journeys/list.html", {
        "journeys": selectors.journeys_visible(scope=scope),
        "form": form or (JourneyForm(units=units) if units else None),
        "import_form": import_form or (ImportForm() if units else None),
    }, status=status)


@login_required
@require_GET
def journey_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@login_required
@require_POST
def journey_create(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    form = JourneyForm(request.POST, units=_units(scope, design=True))
    if form.is_valid():
        try:
            journey = services.journey_create(scope=scope, **form.cleaned_data)
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"The journey {journey.name} is made; add its stages.")
            return HttpResponseRedirect(reverse("journey_design", args=[journey.pk]))
    return _list_page(request, status=422, form=form)


@login_required
@require_POST
def journey_import(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            document = JourneyDoc.model_validate(form.document())
            journey = services.journey_import(scope=scope, document=document)
        except forms.ValidationError as exc:
            form.add_error("file", exc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            form.add_error("file", f"{where}: {first['msg']}" if where else first["msg"])
        except ApplicationError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, f"The journey {journey.name} is imported.")
            return HttpResponseRedirect(reverse("journey_map", args=[journey.pk]))
    return _list_page(request, status=422, import_form=form)


# --- the map --------------------------------------------------------------------------------


@login_required
@require_GET
@_not_found_is_404
def journey_map(request: HtmxHttpRequest, journey_id: int) -> HttpResponse:
    scope = request_scope(request)
    journey = selectors.journey_get(scope=scope, journey_id=journey_id)
    form, window = _window(request)
    context: dict[str, Any] = {"journey": journey, "form": form, "window": window,
                               "can_design": scope.designs_unit(journey.unit_id)}
    status = 200
    if window is None:
        status = 422
    else:
        stages = selectors.journey_stages(journey)
        figures = selectors.journey_figures(scope=scope, journey=journey, window=window,
                                            stages=stages)
        by_stage: dict[int, list[selectors.TouchpointFigures]] = {}
        for f in figures:
            by_stage.setdefault(f.stage_id, []).append(f)
        curve = selectors.emotion_curve(stages, figures)
        context.update({
            "columns": [(s, by_stage.get(s.pk, [])) for s in stages], "curve": curve,
            "emotion_chart": charts.emotion_chart(curve),
            "gaps": selectors.gap_ranking(figures), "stage_names": {s.pk: s.name
                                                                    for s in stages},
        })
    template = "journeys/partials/map.html" if is_partial(request) else "journeys/map.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
@_not_found_is_404
def journey_json(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = selectors.journey_get(scope=request_scope(request), journey_id=journey_id)
    response = JsonResponse(selectors.journey_document(journey), json_dumps_params={
        "indent": 2, "ensure_ascii": False})
    name = slugify(journey.name) or f"journey-{journey.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


@login_required
@require_GET
@_not_found_is_404
def journey_paths(request: HtmxHttpRequest, journey_id: int) -> HttpResponse:
    scope = request_scope(request)
    journey = selectors.journey_get(scope=scope, journey_id=journey_id)
    form, window = _window(request)
    context: dict[str, Any] = {"journey": journey, "form": form, "window": window}
    if window is None:
        return render(request, "journeys/paths.html", context, status=422)
    report = paths.path_report(scope=scope, journey=journey, window=window)
    context.update({"report": report, "sankey": charts.sankey_chart(report.flows)
                    if report.flows else None})
    return render(request, "journeys/paths.html", context)


# --- design ---------------------------------------------------------------------------------


def _designable(request: HttpRequest, journey_id: int) -> tuple[Scope, Journey]:
    scope = request_scope(request)
    journey = selectors.journey_get(scope=scope, journey_id=journey_id)
    if not scope.designs_unit(journey.unit_id):
        raise PermissionDenied("Only the admins and analysts of the journey's unit change it.")
    return scope, journey


def _design_page(request: HttpRequest, journey: Journey, *, status: int = 200,
                 stage_form: StageForm | None = None) -> HttpResponse:
    return render(request, "journeys/design.html", {
        "journey": journey, "stages": selectors.journey_stages(journey),
        "stage_form": stage_form or StageForm(),
    }, status=status)


def _refused(request: HttpRequest, journey: Journey, exc: ApplicationError) -> HttpResponse:
    if exc.status == 404:
        raise Http404(exc.message)
    messages.error(request, exc.message)
    return _design_page(request, journey, status=exc.status)


def _to_design(journey_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("journey_design", args=[journey_id]))


@login_required
@require_GET
@_not_found_is_404
def journey_design(request: HttpRequest, journey_id: int) -> HttpResponse:
    _, journey = _designable(request, journey_id)
    return _design_page(request, journey)


@login_required
@require_POST
@_not_found_is_404
def journey_rename(request: HttpRequest, journey_id: int) -> HttpResponse:
    scope, journey = _designable(request, journey_id)
    try:
        services.journey_update(scope=scope, journey_id=journey.pk,
                                changes=services.JourneyChanges(
                                    name=request.POST.get("name", ""),
                                    persona=request.POST.get("persona", "")))
    except ApplicationError as exc:
        return _refused(request, journey, exc)
    return _to_design(journey.pk)


@login_required
@require_POST
@_not_found_is_404
def stage_add(request: HttpRequest, journey_id: int) -> HttpResponse:
    scope, journey = _designable(request, journey_id)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            services.stage_create(scope=scope, journey_id=journey.pk,
                                  name=form.cleaned_data["name"])
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            return _to_design(journey.pk)
    return _design_page(request, journey, status=422, stage_form=form)


def _stage_action(request: HttpRequest, stage_id: int,
                  act: Callable[[Scope, int, int], None]) -> HttpResponse:
    scope = request_scope(request)
    stage = selectors.stage_get(scope=scope, stage_id=stage_id)
    try:
        act(scope, stage.pk, stage.position)
    except ApplicationError as exc:
        return _refused(request, stage.journey, exc)
    return _to_design(stage.journey_id)


@login_required
@require_POST
@_not_found_is_404
def stage_rename(request: HttpRequest, stage_id: int) -> HttpResponse:
    def act(scope: Scope, pk: int, _: int) -> None:
        services.stage_update(scope=scope, stage_id=pk, name=request.POST.get("name", ""))

    return _stage_action(request, stage_id, act)


@login_required
@require_POST
@_not_found_is_404
def stage_move(request: HttpRequest, stage_id: int) -> HttpResponse:
    step = -1 if request.POST.get("direction") == "earlier" else 1

    def act(scope: Scope, pk: int, position: int) -> None:
        services.stage_update(scope=scope, stage_id=pk, position=max(0, position + step))

    return _stage_action(request, stage_id, act)


@login_required
@require_POST
@_not_found_is_404
def stage_delete(request: HttpRequest, stage_id: int) -> HttpResponse:
    def act(scope: Scope, pk: int, _: int) -> None:
        services.stage_delete(scope=scope, stage_id=pk)

    return _stage_action(request, stage_id, act)


def _touchpoint_form_page(request: HttpRequest, journey: Journey, form: TouchpointForm, *,
                          title: str, status: int = 200) -> HttpResponse:
    return render(request, "journeys/touchpoint_form.html",
                  {"journey": journey, "form": form, "title": title}, status=status)


def _touchpoint_form(request: HttpRequest, scope: Scope, journey: Journey,
                     **kwargs: Any) -> TouchpointForm:
    stages = [(s.pk, s.name) for s in selectors.journey_stages(journey)]
    data = request.POST if request.method == "POST" else None
    return TouchpointForm(data, stages=stages, units=_units(scope), **kwargs)


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_is_404
def touchpoint_add(request: HttpRequest, stage_id: int) -> HttpResponse:
    scope = request_scope(request)
    stage = selectors.stage_get(scope=scope, stage_id=stage_id)
    _, journey = _designable(request, stage.journey_id)
    form = _touchpoint_form(request, scope, journey, initial={
        "stage": stage.pk, "owner_unit": journey.unit.code, "metric": "csat", "target": 80,
        "importance": 1})
    if request.method == "POST" and form.is_valid():
        try:
            services.touchpoint_create(scope=scope, stage_id=form.cleaned_data["stage"],
                                       data=form.to_doc())
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['name']} is added.")
            return _to_design(journey.pk)
    return _touchpoint_form_page(request, journey, form, title=f"New touchpoint in {stage}",
                                 status=422 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_is_404
def touchpoint_edit(request: HttpRequest, touchpoint_id: int) -> HttpResponse:
    scope = request_scope(request)
    touchpoint = selectors.touchpoint_get(scope=scope, touchpoint_id=touchpoint_id)
    _, journey = _designable(request, touchpoint.stage.journey_id)
    form = _touchpoint_form(request, scope, journey,
                            initial=TouchpointForm.initial_from(touchpoint))
    if request.method == "POST" and form.is_valid():
        try:
            doc = form.to_doc()
            services.touchpoint_update(
                scope=scope, touchpoint_id=touchpoint.pk, changes=doc,
                stage_id=form.cleaned_data["stage"])
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['name']} is saved.")
            return _to_design(journey.pk)
    return _touchpoint_form_page(request, journey, form, title=f"Edit {touchpoint.name}",
                                 status=422 if request.method == "POST" else 200)


@login_required
@require_POST
@_not_found_is_404
def touchpoint_move(request: HttpRequest, touchpoint_id: int) -> HttpResponse:
    scope = request_scope(request)
    touchpoint = selectors.touchpoint_get(scope=scope, touchpoint_id=touchpoint_id)
    step = -1 if request.POST.get("direction") == "earlier" else 1
    try:
        services.touchpoint_update(scope=scope, touchpoint_id=touchpoint.pk, changes={},
                                   position=max(0, touchpoint.position + step))
    except ApplicationError as exc:
        return _refused(request, touchpoint.stage.journey, exc)
    return _to_design(touchpoint.stage.journey_id)


@login_required
@require_POST
@_not_found_is_404
def touchpoint_delete(request: HttpRequest, touchpoint_id: int) -> HttpResponse:
    scope = request_scope(request)
    touchpoint = selectors.touchpoint_get(scope=scope, touchpoint_id=touchpoint_id)
    try:
        services.touchpoint_delete(scope=scope, touchpoint_id=touchpoint.pk)
    except ApplicationError as exc:
        return _refused(request, touchpoint.stage.journey, exc)
    messages.success(request, f"{touchpoint.name} is removed.")
    return _to_design(touchpoint.stage.journey_id)
