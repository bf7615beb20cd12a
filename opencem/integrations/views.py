"""Webhook pages: the endpoints, one endpoint with its delivery log, redelivery and secret
rotation. Administrators of the whole organisation only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from opencem.accounts.selectors import Scope, request_scope
from opencem.core.errors import ApplicationError, NotFound
from opencem.integrations import services
from opencem.integrations.forms import EndpointForm
from opencem.integrations.models import WebhookEndpoint


def _admin(request: HttpRequest) -> Scope:
    scope = request_scope(request)
    if scope.admin_unit_ids is not None:
        raise PermissionDenied("Webhooks are set by administrators of the whole organisation.")
    return scope


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    try:
        return services.webhook_endpoint_get(scope=_admin(request), endpoint_id=endpoint_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _save(request: HttpRequest, form: EndpointForm, endpoint: WebhookEndpoint | None
          ) -> WebhookEndpoint | None:
    scope = _admin(request)
    if not form.is_valid():
        return None
    try:
        if endpoint is None:
            return services.webhook_endpoint_create(data=form.to_input(), scope=scope,
                                                    actor=request.user)  # type: ignore[arg-type]
        return services.webhook_endpoint_update(endpoint=endpoint, data=form.to_input(),
                                                scope=scope)
    except ApplicationError as exc:
        field = str(exc.errors[0].loc[0]) if exc.errors and exc.errors[0].loc else None
        form.add_error(field if field in form.fields else None, exc.errors[0].message
                       if exc.errors else exc.message)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_list(request: HttpRequest) -> HttpResponse:
    scope = _admin(request)
    form = EndpointForm(request.POST or None)
    made = _save(request, form, None) if request.method == "POST" else None
    if made is not None:
        messages.success(request, "Endpoint added; copy its signing secret below.")
        return redirect("webhook_detail", endpoint_id=made.pk)
    return render(request, "integrations/endpoint_list.html", {
        "endpoints": services.webhook_endpoints(scope=scope), "form": form},
        status=422 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    initial = {"name": endpoint.name, "url": endpoint.url, "topics": endpoint.topics,
               "active": endpoint.active}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and _save(request, form, endpoint) is not None:
        messages.success(request, "Endpoint saved.")
        return redirect("webhook_detail", endpoint_id=endpoint.pk)
    return render(request, "integrations/endpoint_detail.html", {
        "endpoint": endpoint, "form": form,
        "deliveries": services.deliveries_of(endpoint=endpoint, limit=50)},
        status=422 if request.method == "POST" else 200)


@login_required
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    services.webhook_endpoint_rotate_secret(endpoint=endpoint, scope=_admin(request))
    messages.success(request, "New secret made; the old one also signs for 24 hours.")
    return redirect("webhook_detail", endpoint_id=endpoint.pk)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    services.webhook_endpoint_delete(endpoint=endpoint, scope=_admin(request))
    messages.success(request, "Endpoint removed.")
    return redirect("webhook_list")


@login_required
@require_POST
def redeliver(request: HttpRequest, delivery_id: int) -> HttpResponse:
    scope = _admin(request)
    try:
        delivery = services.delivery_get(scope=scope, delivery_id=delivery_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        done = services.delivery_redeliver(delivery=delivery, scope=scope)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        code = f" (HTTP {done.last_status_code})" if done.last_status_code else ""
        messages.success(request, f"Sent again: {done.get_status_display().lower()}{code}.")
    return redirect("webhook_detail", endpoint_id=delivery.endpoint_id)
