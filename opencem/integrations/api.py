"""Webhook endpoints, their delivery log, redelivery and secret rotation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import api_user, request_scope
from opencem.core.text import CleanStr
from opencem.integrations import services
from opencem.integrations.models import Delivery, WebhookEndpoint

router = Router(tags=["webhooks"])


class EndpointIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: CleanStr = Field(max_length=200)
    url: CleanStr = Field(max_length=2000, description="A public http(s) URL.")
    topics: list[CleanStr] = Field(max_length=10, description=", ".join(services.TOPICS))
    active: bool = True


class EndpointOut(Schema):
    id: int
    name: str
    url: str
    topics: list[str]
    active: bool
    disabled_reason: str
    secret: str
    previous_secret_expires_at: datetime | None
    created_at: datetime


class AttemptOut(Schema):
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int
    manual: bool


class DeliveryOut(Schema):
    id: int
    endpoint: int
    event_id: int
    topic: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    tries: list[AttemptOut]


def endpoint_out(e: WebhookEndpoint) -> dict[str, Any]:
    return {"id": e.pk, "name": e.name, "url": e.url, "topics": e.topics, "active": e.active,
            "disabled_reason": e.disabled_reason, "secret": e.secret,
            "previous_secret_expires_at": e.previous_secret_expires_at,
            "created_at": e.created_at}


def delivery_out(d: Delivery) -> dict[str, Any]:
    return {"id": d.pk, "endpoint": d.endpoint_id, "event_id": d.event_id, "topic": d.topic,
            "message_id": d.message_id, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at, "last_status_code": d.last_status_code,
            "last_error": d.last_error, "created_at": d.created_at,
            "delivered_at": d.delivered_at,
            "tries": [{"at": t.at, "status_code": t.status_code, "error": t.error,
                       "duration_ms": t.duration_ms, "manual": t.manual}
                      for t in d.tries.all()]}


def _input(payload: EndpointIn) -> services.EndpointInput:
    return services.EndpointInput(name=payload.name, url=payload.url,
                                  topics=list(payload.topics), active=payload.active)


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    return services.webhook_endpoint_get(scope=request_scope(request), endpoint_id=endpoint_id)


@router.get("/webhooks", response=list[EndpointOut], summary="Webhook endpoints")
def endpoint_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [endpoint_out(e) for e in services.webhook_endpoints(scope=request_scope(request))]


@router.post("/webhooks", response={201: EndpointOut},
             summary="Add an endpoint (its signing secret is in the answer)")
def endpoint_create(request: HttpRequest, payload: EndpointIn) -> Status[dict[str, Any]]:
    made = services.webhook_endpoint_create(data=_input(payload), scope=request_scope(request),
                                            actor=api_user(request))
    return Status(201, endpoint_out(made))


@router.get("/webhooks/{endpoint_id}", response=EndpointOut, summary="One endpoint")
def endpoint_get(request: HttpRequest, endpoint_id: int) -> dict[str, Any]:
    return endpoint_out(_endpoint(request, endpoint_id))


@router.put("/webhooks/{endpoint_id}", response=EndpointOut, summary="Change an endpoint")
def endpoint_update(request: HttpRequest, endpoint_id: int, payload: EndpointIn
                    ) -> dict[str, Any]:
    return endpoint_out(services.webhook_endpoint_update(
        endpoint=_endpoint(request, endpoint_id), data=_input(payload),
        scope=request_scope(request)))


@router.delete("/webhooks/{endpoint_id}", response={204: None}, summary="Remove an endpoint")
def endpoint_delete(request: HttpRequest, endpoint_id: int) -> Status[None]:
    services.webhook_endpoint_delete(endpoint=_endpoint(request, endpoint_id),
                                     scope=request_scope(request))
    return Status(204, None)


@router.post("/webhooks/{endpoint_id}/rotate-secret", response=EndpointOut,
             summary="A new secret; the old one also signs for 24 hours")
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> dict[str, Any]:
    return endpoint_out(services.webhook_endpoint_rotate_secret(
        endpoint=_endpoint(request, endpoint_id), scope=request_scope(request)))


@router.get("/webhooks/{endpoint_id}/deliveries", response=list[DeliveryOut],
            summary="The delivery log, newest first")
def delivery_list(request: HttpRequest, endpoint_id: int) -> list[dict[str, Any]]:
    return [delivery_out(d) for d in services.deliveries_of(
        endpoint=_endpoint(request, endpoint_id))]


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", response=DeliveryOut,
             summary="Send a delivery again now")
def redeliver(request: HttpRequest, delivery_id: int) -> dict[str, Any]:
    scope = request_scope(request)
    delivery = services.delivery_redeliver(
        delivery=services.delivery_get(scope=scope, delivery_id=delivery_id), scope=scope)
    return delivery_out(delivery)
