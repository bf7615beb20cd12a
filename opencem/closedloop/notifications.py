"""The notification outbox: mails are written as rows with the change that asks for them and
sent once that has committed (``mailer``); the sweeper retries what failed or was never
woken."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from celery import current_task
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone

from opencem.closedloop.mailer import send_soon
from opencem.closedloop.models import Alert, Case, Notification
from opencem.core.statements import insert_objects
from opencem.core.transactions import CommitHook, on_commit_once


@dataclass(frozen=True)
class Mail:
    """A mail to write from ``closedloop/email/<template>{_subject.txt,.txt,.html}``."""

    kind: str
    to_email: str
    template: str
    context: dict[str, Any]
    case: Case | None = None
    alert: Alert | None = None


def notifications_queue(*, mails: Sequence[Mail]) -> list[Notification]:
    """Write mails to send, with one insert however many; call it inside the transaction of
    the change they tell about. The sender is woken once that transaction commits."""
    if not mails:
        return []
    site = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL}
    rows = []
    for mail in mails:
        context = {**mail.context, **site, **_about_case(mail.context.get("case"))}
        subject = " ".join(render_to_string(f"closedloop/email/{mail.template}_subject.txt",
                                            context).split())[:300]
        rows.append(Notification(
            kind=mail.kind, case=mail.case, alert=mail.alert, to_email=mail.to_email,
            subject=subject,
            body_text=render_to_string(f"closedloop/email/{mail.template}.txt", context),
            body_html=render_to_string(f"closedloop/email/{mail.template}.html", context)))
    made = insert_objects(rows)
    # One wake-up per transaction however many mails it wrote.
    on_commit_once(_Wake, lambda wake: wake.ids.extend(n.pk for n in made))
    return made


def _about_case(case: Case | None) -> dict[str, str]:
    """What the mails about a case show of it, worked out once for the mail's three parts:
    the link to its page and its due time (as the ``date`` filter would write it, in the
    current time zone)."""
    if case is None:
        return {}
    due = (formats.date_format(timezone.localtime(case.due_at), "j M Y H:i e")
           if case.due_at is not None else "")
    return {"case_url": f"{settings.SITE_URL}{reverse('case_detail', args=[case.pk])}",
            "case_due": due}


def notification_queue(*, kind: str, to_email: str, template: str, context: dict[str, Any],
                       case: Case | None = None, alert: Alert | None = None) -> Notification:
    """Write one mail to send (``notifications_queue``)."""
    (made,) = notifications_queue(mails=[Mail(kind, to_email, template, context, case, alert)])
    return made


class _Wake(CommitHook):
    """What runs once a transaction that wrote mails has committed. In a worker process (the
    outbox relay, the sweepers) the mails go to the process's own sender thread
    (``mailer.send_soon``): a task queued for them would wait behind whatever the worker's
    processes are busy with, such as the rest of a burst. Elsewhere (a web request never
    talks to a mail server; tests run tasks in-process) the sender task is queued."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self) -> None:
        if current_task and not current_task.request.is_eager:
            send_soon(self.ids)
            return
        from opencem.closedloop.tasks import send_notification  # noqa: PLC0415 (tasks import this)

        send_notification.delay()
