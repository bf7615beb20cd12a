"""Celery entry points of the closed loop: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from opencem.closedloop.cases import cases_escalate_overdue
from opencem.closedloop.followup import case_followup_send, cases_followup_send_due
from opencem.closedloop.mailer import notifications_send_due


@shared_task(name="closedloop.send_notification")
def send_notification(notification_id: int | None = None) -> int:
    """Woken once per transaction that wrote mails: send every one due (oldest first) over
    one mail connection. ``notification_id`` is what earlier versions sent; still taken so
    that their messages left in the queue run."""
    del notification_id  # sent with the others that are due
    return notifications_send_due()


@shared_task(name="closedloop.send_due_notifications")
def send_due_notifications() -> int:
    """Mails whose wake-up was lost or whose server failed (beat)."""
    return notifications_send_due()


@shared_task(name="closedloop.send_followup")
def send_followup(case_id: int) -> bool:
    return case_followup_send(case_id=case_id)


@shared_task(name="closedloop.sweep")
def sweep() -> int:
    """Escalate cases past their SLA and send follow-ups left behind (beat)."""
    return cases_escalate_overdue() + cases_followup_send_due()
