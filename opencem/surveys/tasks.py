"""Celery entry points of the surveys app: thin, each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from opencem.surveys import distribution
from opencem.surveys.models import InvitationChannel, InvitationStatus


@shared_task(name="surveys.evaluate_triggers")
def evaluate_triggers(interaction_ids: list[int]) -> int:
    """Make the invitations that survey triggers call for after these interactions.

    Those already due (a trigger without delay) are mailed now, not at the scheduler's next
    run: without a broker there is no scheduler, and with one the customer should not wait.
    """
    made = distribution.triggers_evaluate(interaction_ids=interaction_ids)
    now = timezone.now()
    for invitation in made:
        if (invitation.status == InvitationStatus.SCHEDULED
                and invitation.channel == InvitationChannel.EMAIL
                and invitation.scheduled_for is not None and invitation.scheduled_for <= now):
            send_invitation.delay(invitation.pk)
    return len(made)


@shared_task(name="surveys.send_invitation")
def send_invitation(invitation_id: int) -> bool:
    """Mail one invitation that is due (idempotent: a sent one is not sent again)."""
    return distribution.invitation_send(invitation_id=invitation_id)


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
