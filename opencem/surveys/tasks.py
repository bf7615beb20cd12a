"""Celery entry points of the surveys app: thin, each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task

from opencem.surveys import distribution


@shared_task(name="surveys.evaluate_triggers")
def evaluate_triggers(interaction_ids: list[int]) -> int:
    """Make the invitations that survey triggers call for after these interactions."""
    return len(distribution.triggers_evaluate(interaction_ids=interaction_ids))


@shared_task(name="surveys.sweep_triggers")
def sweep_triggers() -> int:
    """Evaluate the last hour's interactions again, for tasks a lost message dropped."""
    return distribution.triggers_sweep()


@shared_task(name="surveys.send_due_invitations")
def send_due_invitations() -> int:
    return distribution.invitations_send_due()


@shared_task(name="surveys.send_reminders")
def send_reminders() -> int:
    return distribution.reminders_send()


@shared_task(name="surveys.expire_invitations")
def expire_invitations() -> int:
    return distribution.invitations_expire()


def enqueue_trigger_evaluation(interaction_ids: list[int]) -> None:
    """Ingest hook: runs after the interactions are committed, so the worker finds them."""
    evaluate_triggers.delay(list(interaction_ids))
