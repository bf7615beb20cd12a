"""Outbound webhooks per the Standard Webhooks specification: endpoints, signing, delivery
with retries for at least 72 hours, 410 disabling the endpoint, redelivery by hand and
secret rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from opencem.accounts.selectors import Scope
from opencem.core.errors import NotFound, PermissionDenied, invalid
from opencem.integrations.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from opencem.integrations.safety import resolve_public

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

TOPICS = ("response.completed", "feedback.created", "case.created", "case.updated",
          "case.closed", "alert.fired")
# Waits between tries: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h — the last try
# comes about 75.6 hours after the first.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
ROTATION_OVERLAP = timedelta(hours=24)
TIMEOUT_SECONDS = 10
USER_AGENT = "OpenCEM-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` with the secret's key bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def signature_header(endpoint: WebhookEndpoint, *, message_id: str, timestamp: int, body: str,
                     now: datetime) -> str:
    """Every valid signature, space separated: the current secret's and, for a day after a
    rotation, the previous one's, so receivers can switch over without a gap."""
    found = [sign(secret=endpoint.secret, message_id=message_id, timestamp=timestamp,
                  body=body)]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at \
            and endpoint.previous_secret_expires_at > now:
        found.append(sign(secret=endpoint.previous_secret, message_id=message_id,
                          timestamp=timestamp, body=body))
    return " ".join(found)


# --- endpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointInput:
    name: str
    url: str
    topics: list[str]
    active: bool = True


def _check_admin(scope: Scope) -> None:
    # Webhooks carry events of the whole organisation, so only its administrators set them.
    if scope.admin_unit_ids is not None:
        raise PermissionDenied("webhooks are set by administrators of the whole organisation")


def _check(data: EndpointInput) -> None:
    if not data.name.strip() or len(data.name) > 200:
        raise invalid(["name"], "give a name of at most 200 characters")
    if len(data.url) > 2000:
        raise invalid(["url"], "at most 2000 characters")
    resolve_public(data.url)
    if not data.topics or any(t not in TOPICS for t in data.topics):
        raise invalid(["topics"], f"choose one or more of {', '.join(TOPICS)}")


def webhook_endpoint_create(*, data: EndpointInput, scope: Scope, actor: User | None
                            ) -> WebhookEndpoint:
    """Add an endpoint with a new secret; it receives the events from now on."""
    _check_admin(scope)
    _check(data)
    return WebhookEndpoint.objects.create(
        name=data.name.strip(), url=data.url, topics=list(dict.fromkeys(data.topics)),
        active=data.active, secret=new_secret(), created_by=actor)


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, data: EndpointInput, scope: Scope
                            ) -> WebhookEndpoint:
    """Change an endpoint; turning it on again clears why it was turned off."""
    _check_admin(scope)
    _check(data)
    endpoint.name, endpoint.url = data.name.strip(), data.url
    endpoint.topics = list(dict.fromkeys(data.topics))
    if data.active and not endpoint.active:
        endpoint.disabled_reason = ""
    endpoint.active = data.active
    endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, scope: Scope) -> None:
    _check_admin(scope)
    endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, scope: Scope,
                                   now: datetime | None = None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing alongside it for ``ROTATION_OVERLAP``."""
    _check_admin(scope)
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
        endpoint.secret = new_secret()
        endpoint.save()
    return endpoint


def webhook_endpoints(*, scope: Scope) -> QuerySet[WebhookEndpoint]:
    _check_admin(scope)
    return WebhookEndpoint.objects.all()


def webhook_endpoint_get(*, scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    found = webhook_endpoints(scope=scope).filter(pk=endpoint_id).first()
    if found is None:
        raise NotFound("No such webhook endpoint.")
    return found


def deliveries_of(*, endpoint: WebhookEndpoint, limit: int = 100) -> list[Delivery]:
    return list(endpoint.deliveries.prefetch_related("tries").order_by("-id")[:limit])


def delivery_get(*, scope: Scope, delivery_id: int) -> Delivery:
    _check_admin(scope)
    found = Delivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if found is None:
        raise NotFound("No such delivery.")
    return found


# --- delivering -----------------------------------------------------------------------------


def delivery_queue(*, endpoint: WebhookEndpoint, event_id: int, topic: str,
                   payload: dict[str, Any], occurred_at: datetime) -> Delivery | None:
    """Record the event for the endpoint (once), to be sent after this transaction."""
    body = json.dumps({"type": topic, "timestamp": occurred_at.isoformat(),
                       "data": payload}, separators=(",", ":"), sort_keys=True)
    delivery, made = Delivery.objects.get_or_create(
        endpoint=endpoint, event_id=event_id,
        defaults={"topic": topic, "body": body, "message_id": f"msg_{event_id}_{endpoint.pk}"})
    if not made:
        return None
    pk = delivery.pk
    transaction.on_commit(lambda: _wake(pk), robust=True)
    return delivery


def _wake(pk: int) -> None:
    from opencem.integrations.tasks import deliver  # noqa: PLC0415 (tasks import this)

    deliver.delay(pk)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]  # http.client's own
            raw, server_hostname=self.host)


def _post(delivery: Delivery, now: datetime) -> tuple[int | None, str]:
    """POST the delivery; returns the status code (None when no answer) and an error."""
    endpoint = delivery.endpoint
    try:
        parts, address = resolve_public(endpoint.url)
    except Exception as exc:  # a refused or unresolvable host is this try's failure
        return None, str(getattr(exc, "message", exc))[:500]
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json", "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(endpoint, message_id=delivery.message_id,
                                              timestamp=timestamp, body=delivery.body,
                                              now=now)}
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = cls(parts.hostname or "", parts.port, address, TIMEOUT_SECONDS)
    try:
        conn.request("POST", path, body=delivery.body.encode(), headers=headers)
        answer = conn.getresponse()
        answer.read(64 * 1024)
        status = answer.status
    except (OSError, http.client.HTTPException) as exc:
        return None, repr(exc)[:500]
    finally:
        conn.close()
    if 300 <= status < 400:
        return status, "redirects are not followed"
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def delivery_send(*, delivery_id: int, now: datetime | None = None, manual: bool = False
                  ) -> Delivery | None:
    """Try a pending delivery once (held locked, so no two workers send it together): 2xx
    delivers it; 410 turns the endpoint off; anything else is tried again on
    ``RETRY_SCHEDULE`` until it runs out."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = Delivery.objects.select_related("endpoint").filter(
            pk=delivery_id, status=DeliveryStatus.PENDING)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        delivery = qs.first()
        if delivery is None:
            return None
        endpoint = delivery.endpoint
        if not endpoint.active:
            delivery.status, delivery.last_error = DeliveryStatus.FAILED, "endpoint disabled"
            delivery.save(update_fields=["status", "last_error"])
            return delivery
        started = time.monotonic()
        status, error = _post(delivery, now)
        DeliveryAttempt.objects.create(delivery=delivery, status_code=status, error=error,
                                       duration_ms=int((time.monotonic() - started) * 1000),
                                       manual=manual)
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = status, error
        if status is not None and 200 <= status < 300:
            delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, now
        elif status == 410:
            delivery.status = DeliveryStatus.FAILED
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                active=False, disabled_reason=f"answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC")
        elif delivery.attempts > len(RETRY_SCHEDULE):
            delivery.status = DeliveryStatus.FAILED
        else:
            wait = RETRY_SCHEDULE[min(delivery.attempts, len(RETRY_SCHEDULE)) - 1]
            delivery.next_attempt_at = now + timedelta(seconds=wait)
        delivery.save()
        return delivery


def deliveries_send_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send the pending deliveries that are due (the sweeper); returns how many were tried."""
    now = now or timezone.now()
    due = list(Delivery.objects.filter(status=DeliveryStatus.PENDING, endpoint__active=True)
               .exclude(next_attempt_at__gt=now).order_by("id")
               .values_list("id", flat=True)[:limit])
    return sum(delivery_send(delivery_id=pk, now=now) is not None for pk in due)


def delivery_redeliver(*, delivery: Delivery, scope: Scope) -> Delivery:
    """Send a delivery again now, by hand, whatever became of it (same webhook-id, so a
    receiver that has it already can tell)."""
    _check_admin(scope)
    if not delivery.endpoint.active:
        raise invalid(["endpoint"], "turn the endpoint on again first")
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING,
                                                   next_attempt_at=None)
    sent = delivery_send(delivery_id=delivery.pk, manual=True)
    return sent or Delivery.objects.get(pk=delivery.pk)
