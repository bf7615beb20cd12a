"""Housekeeping writes shared by every app."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from opencem.core.models import IdempotencyRecord, OutboxEvent
from opencem.core.relay import outbox_wake
from opencem.core.statements import insert_objects, insert_sql


def idempotency_records_purge() -> int:
    """Delete remembered answers older than OPENCEM_IDEMPOTENCY_HOURS; returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.OPENCEM_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def outbox_emit(*, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event; call it inside the transaction of the change it announces. The relay
    is woken once that transaction commits."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    outbox_wake()
    return event


def outbox_emit_many(*, events: Sequence[tuple[str, dict[str, Any]]]) -> list[OutboxEvent]:
    """Record several ``(topic, payload)`` events, in this order, with one statement; call it
    inside the transaction of the change they announce."""
    if not events:
        return []
    made = insert_objects([OutboxEvent(topic=topic, payload=payload) for topic, payload in events])
    outbox_wake()
    return made


def outbox_emit_sql(*, events: Sequence[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """The insert of ``(topic, payload)`` events, in this order, as one SQL statement that
    returns the events' ids, to run as a part of a bigger statement
    (``opencem.core.statements``); a payload may be an ``Expr`` that the statement works out
    (the id of a row it inserts). The caller wakes the relay (``relay.outbox_wake``) once
    the statement ran; that adds nothing to the statement itself."""
    return insert_sql(OutboxEvent, [{"topic": topic, "payload": payload}
                                    for topic, payload in events], returning=("id",))
