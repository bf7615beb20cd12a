"""The role dashboards: executive, manager (with the perception gap) and agent.

Each view serves its whole page and, to htmx, the part of it that its filters change. Every
figure is read through the viewer's scope; a bad filter gets the page back with the field's
error and a 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from opencem.accounts.forms import apply_service_error
from opencem.accounts.selectors import Scope, request_scope
from opencem.closedloop.selectors import open_cases_panel
from opencem.core.errors import ApplicationError
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.dashboards import charts, selectors, services
from opencem.dashboards.forms import DashboardForm, ExecutiveForm, PerceptionForm
from opencem.metrics.selectors import (
    CHARTED,
    Compare,
    Metric,
    MetricFilters,
    consistency_chart,
    metric_series,
)

EXECUTIVE_ROLES = frozenset({"admin", "analyst", "executive"})
F = TypeVar("F", bound=DashboardForm)
PER_PAGE = 25


def tabs(scope: Scope) -> list[tuple[str, str]]:
    """The dashboards a viewer may open: (url name, label)."""
    found = []
    if scope.roles & EXECUTIVE_ROLES:
        found.append(("dashboard_executive", "Executive"))
    found += [("dashboard_manager", "My units"), ("dashboard_agent", "Feedback on interactions"),
              ("dashboard_explorer", "Explorer"), ("dashboard_summary", "Printable summary"),
              ("dashboard_settings", "Targets and settings")]
    return found


def page(request: HttpRequest, template: str, context: dict[str, Any], *,
         status: int = 200) -> HttpResponse:
    """Render a dashboards page with its tabs."""
    context.setdefault("tabs", tabs(request_scope(request)))
    return render(request, template, context, status=status)


def require_role(scope: Scope) -> None:
    if scope.is_empty:
        raise PermissionDenied("You have no role in any unit yet; ask an administrator.")


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponseRedirect:
    """The dashboard that fits the viewer's roles."""
    scope = request_scope(request)
    if scope.roles & EXECUTIVE_ROLES:
        return redirect("dashboard_executive")
    if scope.roles == frozenset({"agent"}):
        return redirect("dashboard_agent")
    return redirect("dashboard_manager")


def render_dashboard(request: HtmxHttpRequest, name: str, context: dict[str, Any],
            status: int) -> HttpResponse:
    if is_partial(request):
        return render(request, f"dashboards/partials/{name}_body.html", context, status=status)
    return page(request, f"dashboards/{name}.html", context, status=status)


def run_filters(form: F, build: Callable[[F], dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """Validate the filters and build the page's figures; refusals go on the form."""
    if not form.is_valid():
        return {}, 422
    if form.unit_code is None:
        return {"no_scope": True}, 200
    try:
        return build(form), 200
    except ApplicationError as exc:
        apply_service_error(form, exc)
        return {}, exc.status


# --- executive ----------------------------------------------------------------------------------


def _consistency(scope: Scope, form: ExecutiveForm, unit: str) -> dict[str, Any]:
    start, end = form.period
    metric = form.chosen_metric
    if metric not in CHARTED:
        return {"consistency": None}
    try:
        chart = consistency_chart(scope=scope, metric=metric,
                                  filters=MetricFilters(unit=unit, start=start, end=end),
                                  kind=form.cleaned_data.get("peers") or None)
    except ApplicationError as exc:
        if exc.errors and exc.errors[0].loc == ("kind",):
            form.add_error("peers", exc.errors[0].message)
            return {"consistency": None}
        raise
    drawn = any(p.point.value is not None for p in chart.points)
    return {"consistency": chart, "consistency_chart": charts.consistency_figure(
        chart, title=f"{chart.label} across {chart.kind}s") if drawn else None}


def executive_context(scope: Scope, form: ExecutiveForm) -> dict[str, Any]:
    """Figures of the executive dashboard (also the printable summary's)."""
    unit = form.unit_code
    assert unit is not None
    start, end = form.period
    metric = form.chosen_metric
    headlines: list[dict[str, Any]] = []
    trends: list[dict[str, Any]] = []
    for name in (Metric.NPS, Metric.CSAT):
        series, group = selectors.headline(scope=scope, metric=name, unit=unit, start=start,
                                           end=end)
        headlines.append({"series": series, "group": group})
        trend = selectors.trend(scope=scope, metric=name, unit=unit, end=end)
        trends.append({"series": trend, "id": f"trend-{name.value}",
                       "chart": charts.trend_figure(trend, title=f"{trend.label} by month")})
    league = selectors.league(scope=scope, metric=metric, unit=unit, start=start, end=end,
                              kind=form.cleaned_data.get("level") or None)
    context: dict[str, Any] = {
        "unit": headlines[0]["series"].root, "start": start, "end": end,
        "headlines": headlines, "trends": trends, "league": league,
        "league_chart": charts.league_figure(
            league.rows, label=league.series.label, unit_of_measure=league.series.unit_of_measure,
            title=f"{league.series.label} by {league.kind or 'unit'}"),
        "k": league.series.k,
        "themes": selectors.top_themes(scope=scope, unit=unit, start=start, end=end)}
    context.update(_consistency(scope, form, unit))
    return context


@login_required
@require_GET
def executive(request: HtmxHttpRequest) -> HttpResponse:
    """Company trend of NPS and CSAT, the league table, significant movers, consistency."""
    scope = request_scope(request)
    if not scope.roles & EXECUTIVE_ROLES:
        raise PermissionDenied("The executive dashboard is for admins, analysts and "
                               "executives; your units are under \u201cMy units\u201d.")
    form = ExecutiveForm(request.GET, scope=scope)
    figures, status = run_filters(form, lambda f: executive_context(scope, f))
    return render_dashboard(request, "executive", {"form": form, **figures}, status)


# --- manager ------------------------------------------------------------------------------------


def manager_context(scope: Scope, form: DashboardForm) -> dict[str, Any]:
    unit = form.unit_code
    assert unit is not None
    start, end = form.period
    metric = form.chosen_metric
    trend = selectors.trend(scope=scope, metric=metric, unit=unit, end=end)
    units = metric_series(scope=scope, metric=metric, group_by=["unit"],
                          filters=MetricFilters(unit=unit, start=start, end=end),
                          compare=Compare.PREVIOUS)
    return {
        "unit": units.root, "start": start, "end": end, "trend": trend, "units": units,
        "trend_chart": charts.trend_figure(trend, title=f"{trend.label} by month"),
        "k": units.k,
        "targets": selectors.targets_vs_actual(scope=scope, unit=unit, start=start, end=end),
        "perception": selectors.perception_rows(scope=scope, unit=unit),
        "comments": selectors.latest_comments(scope=scope, unit=unit, start=start, end=end),
        "open_cases": open_cases_panel(scope=scope, unit_path=units.root.path),
    }


def _perception_form(scope: Scope, form: DashboardForm) -> PerceptionForm:
    unit = form.unit_code if form.is_valid() else None
    allowed = selectors.perception_unit_ids(scope=scope)
    metric = form.cleaned_data.get("metric") if form.is_valid() else None
    initial: dict[str, Any] = {"month": selectors.today().replace(day=1),
                               "metric": metric or Metric.NPS}
    if unit is not None and any(u.code == unit and u.id in allowed
                                for u in selectors.units_visible(scope=scope)):
        initial["unit"] = unit
    return PerceptionForm(scope=scope, initial=initial)


@login_required
@require_GET
def manager(request: HtmxHttpRequest) -> HttpResponse:
    """A manager's own units: trend, units, targets, perception gap and latest comments."""
    scope = request_scope(request)
    require_role(scope)
    form = DashboardForm(request.GET, scope=scope)
    figures, status = run_filters(form, lambda f: manager_context(scope, f))
    return render_dashboard(request, "manager", {
        "form": form, "perception_form": _perception_form(scope, form), **figures}, status)


@login_required
@require_POST
def perception_record(request: HtmxHttpRequest) -> HttpResponse:
    """Record an expected score; the manager dashboard shows it against customers' score."""
    scope = request_scope(request)
    require_role(scope)
    form = PerceptionForm(request.POST, scope=scope)
    if form.is_valid():
        data = form.cleaned_data
        user = request.user
        assert isinstance(user, User)
        try:
            services.perception_record(unit=data["unit"].code, metric=data["metric"],
                                       month=data["month"], expected=data["expected"],
                                       scope=scope, actor=user)
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Your expected score is recorded.")
            return HttpResponseRedirect(
                f"{reverse('dashboard_manager')}?unit={data['unit'].code}#perception")
    filters = DashboardForm({}, scope=scope)
    figures, _ = run_filters(filters, lambda f: manager_context(scope, f))
    return page(request, "dashboards/manager.html",
                {"form": filters, "perception_form": form, **figures}, status=422)


@login_required
@require_POST
def perception_delete(request: HttpRequest, estimate_id: int) -> HttpResponse:
    """Remove one of the viewer's own expected scores."""
    user = request.user
    assert isinstance(user, User)
    try:
        services.perception_delete(estimate_id=estimate_id, scope=request_scope(request),
                                   actor=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The expected score is removed.")
    return HttpResponseRedirect(f"{reverse('dashboard_manager')}#perception")


# --- agent --------------------------------------------------------------------------------------


@login_required
@require_GET
def agent(request: HtmxHttpRequest) -> HttpResponse:
    """What customers said about interactions at the viewer's units, newest first; htmx gets
    the next page on its own."""
    scope = request_scope(request)
    require_role(scope)
    status = 200
    try:
        feed = selectors.agent_feed(scope=scope, cursor=request.GET.get("cursor") or None,
                                    limit=PER_PAGE)
    except ApplicationError as exc:
        feed, status = None, exc.status
        messages.error(request, exc.message)
    context = {"feed": feed}
    if is_partial(request) and request.GET.get("cursor"):
        return render(request, "dashboards/partials/agent_rows.html", context, status=status)
    return page(request, "dashboards/agent.html", context, status=status)
