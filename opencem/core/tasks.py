"""Celery entry points of the core app: thin, each calls one service."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from opencem.core.relay import outbox_drain, outbox_relay_run
from opencem.core.services import idempotency_records_purge


@shared_task(name="core.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge()


@shared_task(name="core.ping")
def ping(marker: str) -> str:
    """Answers with its argument: lets operators and tests see that a worker is alive."""
    return f"pong:{marker}"


@shared_task(name="core.outbox_relay")
def outbox_relay(woken_at: float | None = None) -> int:
    """Hand the pending outbox events to their consumers (woken when events commit)."""
    return outbox_relay_run(woken_at=woken_at)


@shared_task(name="core.outbox_sweep")
def outbox_sweep() -> int:
    """Drain what a lost wake-up message left behind (beat)."""
    return outbox_drain(older_than=timedelta(seconds=10))
