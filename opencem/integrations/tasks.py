"""Celery entry points of the integrations app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from opencem.integrations.services import deliveries_send_due, delivery_send


@shared_task(name="integrations.deliver")
def deliver(delivery_id: int) -> bool:
    return delivery_send(delivery_id=delivery_id) is not None


@shared_task(name="integrations.deliver_due")
def deliver_due() -> int:
    """Retries that are due, and deliveries whose wake-up was lost (beat)."""
    return deliveries_send_due()
