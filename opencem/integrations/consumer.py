"""The webhooks' outbox consumer: each event of a subscribed topic becomes one delivery per
endpoint, committed with the event's processed mark (so never two, never none)."""

from __future__ import annotations

from opencem.core.relay import Consumer, Event, register_consumer
from opencem.integrations.models import WebhookEndpoint
from opencem.integrations.services import TOPICS, delivery_queue

NAME = "webhooks"


def _subscribed(topic: str) -> list[WebhookEndpoint]:
    # Few endpoints: filtered here, since SQLite cannot look inside a JSON list.
    return [e for e in WebhookEndpoint.objects.filter(active=True) if topic in e.topics]


def _active(topic: str) -> bool:
    return bool(_subscribed(topic))


def handle(event: Event) -> None:
    for endpoint in _subscribed(event.topic):
        if endpoint.created_at <= event.created_at:
            delivery_queue(endpoint=endpoint, event_id=event.id, topic=event.topic,
                           payload=event.payload, occurred_at=event.created_at)


def register() -> None:
    register_consumer(Consumer(name=NAME, topics=frozenset(TOPICS), handle=handle,
                               active=_active))
