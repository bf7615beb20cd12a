"""Targets, the anonymity threshold and the weekly digest, on one settings page.

Targets and k are written by the metrics services (the same as the API's), so the page and
the API refuse the same things: only a unit's admins and analysts set its targets, only an
organisation's admins change its k, and never below the installation's minimum.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from opencem.accounts.forms import apply_service_error
from opencem.accounts.selectors import Scope, request_scope, unit_list
from opencem.core.errors import ApplicationError
from opencem.dashboards import selectors, services
from opencem.dashboards.forms import AnonymityForm, DigestForm, TargetForm
from opencem.dashboards.views import page
from opencem.metrics import services as metrics_services
from opencem.metrics.selectors import anonymity_k, target_list


def _organisations(scope: Scope) -> list[dict[str, Any]]:
    """The organisations (root units) the viewer sees, with their k and whether they may
    change it."""
    found = []
    for unit in unit_list(scope=scope).filter(parent__isnull=True).values("id", "code", "name"):
        found.append({**unit, "k": anonymity_k(unit["id"]),
                      "admin": scope.admin_unit_ids is None
                      or unit["id"] in scope.admin_unit_ids})
    return found


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _page(request: HttpRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    scope = request_scope(request)
    organisations = _organisations(scope)
    choices = [(o["code"], o["name"]) for o in organisations if o["admin"]]
    designs = {u.code for u in selectors.units_visible(scope=scope) if scope.designs_unit(u.id)}
    context: dict[str, Any] = {
        "targets": target_list(scope=scope), "designs": designs,
        "organisations": organisations, "minimum_k": settings.OPENCEM_ANONYMITY_K,
        "target_form": forms.get("target_form") or TargetForm(scope=scope),
        "anonymity_form": forms.get("anonymity_form") or (AnonymityForm(
            organisations=choices, initial={"organisation": choices[0][0],
                                            "k": organisations[0]["k"]})
            if choices else None),
        "digest_form": forms.get("digest_form") or DigestForm(
            initial={"weekly": selectors.digest_wanted(_user(request).pk)}),
    }
    return page(request, "dashboards/settings.html", context, status=status)


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def target_set(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    form = TargetForm(request.POST, scope=scope)
    if form.is_valid():
        data = form.cleaned_data
        try:
            metrics_services.target_set(unit=data["unit"].code, metric=data["metric"],
                                        value=data["value"], scope=scope,
                                        actor=_user(request))
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"The target of {data['unit'].name} is set.")
            return HttpResponseRedirect(reverse("dashboard_settings"))
    return _page(request, status=422, target_form=form)


@login_required
@require_POST
def target_clear(request: HttpRequest) -> HttpResponse:
    try:
        metrics_services.target_clear(unit=request.POST.get("unit", ""),
                                      metric=request.POST.get("metric", ""),
                                      scope=request_scope(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _page(request, status=exc.status)
    messages.success(request, "The target is removed; the unit follows the one above it again.")
    return HttpResponseRedirect(reverse("dashboard_settings"))


@login_required
@require_POST
def anonymity_set(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    choices = [(o["code"], o["name"]) for o in _organisations(scope) if o["admin"]]
    form = AnonymityForm(request.POST, organisations=choices)
    if form.is_valid():
        try:
            k = metrics_services.anonymity_threshold_set(
                organisation=form.cleaned_data["organisation"], k=form.cleaned_data["k"],
                scope=scope, actor=_user(request))
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Groups of fewer than {k} respondents are now hidden.")
            return HttpResponseRedirect(reverse("dashboard_settings"))
    return _page(request, status=403 if not choices else 422, anonymity_form=form)


@login_required
@require_POST
def digest_set(request: HttpRequest) -> HttpResponse:
    form = DigestForm(request.POST)
    if not form.is_valid():
        return _page(request, status=422, digest_form=form)
    weekly = bool(form.cleaned_data["weekly"])
    services.digest_preference_set(user=_user(request), weekly=weekly)
    messages.success(request, "You will get the weekly digest." if weekly
                     else "You will no longer get the weekly digest.")
    return HttpResponseRedirect(reverse("dashboard_settings"))
