"""Celery entry points of the core app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from opencem.core.services import idempotency_records_purge


@shared_task(name="core.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge()


@shared_task(name="core.ping")
def ping(marker: str) -> str:
    """Answers with its argument: lets operators and tests see that a worker is alive."""
    return f"pong:{marker}"
