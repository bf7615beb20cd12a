"""The notification outbox: mails are written as rows with the change that asks for them and
sent once that has committed; the sweeper retries what failed or was never woken."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as db
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from opencem.closedloop.choices import NotificationStatus
from opencem.closedloop.models import Alert, Case, Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def notification_queue(*, kind: str, to_email: str, template: str, context: dict[str, Any],
                       case: Case | None = None, alert: Alert | None = None) -> Notification:
    """Write a mail to send from ``closedloop/email/<template>{_subject.txt,.txt,.html}``;
    call it inside the transaction of the change it tells about."""
    context = {**context, "site_name": settings.SITE_NAME, "site_url": settings.SITE_URL}
    subject = " ".join(render_to_string(f"closedloop/email/{template}_subject.txt",
                                        context).split())[:300]
    notification = Notification.objects.create(
        kind=kind, case=case, alert=alert, to_email=to_email, subject=subject,
        body_text=render_to_string(f"closedloop/email/{template}.txt", context),
        body_html=render_to_string(f"closedloop/email/{template}.html", context))
    transaction.on_commit(lambda: _wake(notification.pk), robust=True)
    return notification


def _wake(pk: int) -> None:
    from opencem.closedloop.tasks import send_notification  # noqa: PLC0415 (tasks import this)

    send_notification.delay(pk)


def _message(n: Notification, connection: Any = None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=n.subject, body=n.body_text, to=[n.to_email],
                                     from_email=settings.DEFAULT_FROM_EMAIL,
                                     connection=connection)
    if n.body_html:
        message.attach_alternative(n.body_html, "text/html")
    # The same id on every try: a mail server or client that got it already can tell.
    host = settings.SITE_URL.split("//")[-1].split("/")[0].split(":")[0] or "localhost"
    message.extra_headers["Message-ID"] = f"<notification-{n.pk}@{host}>"
    return message


def notification_send(*, notification_id: int, now: datetime | None = None,
                      connection: Any = None) -> bool:
    """Send one pending notification; returns whether it went out now. The row stays locked
    while it is sent, so two workers never send it both; a failure is retried with backoff
    (``MAX_ATTEMPTS`` tries). ``connection`` is an open mail connection to reuse."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING)
        if db.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        n = qs.first()
        if n is None:
            return False
        try:
            _message(n, connection).send()
        except Exception as exc:
            # A mail server that is down or refuses: keep the row and try later.
            log.warning("notification %s not sent: %r", n.pk, exc)
            n.attempts += 1
            n.last_error = repr(exc)[:1000]
            n.next_attempt_at = now + timedelta(minutes=2 ** n.attempts)
            if n.attempts >= MAX_ATTEMPTS:
                n.status = NotificationStatus.FAILED
            n.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
            return False
        n.status, n.sent_at = NotificationStatus.SENT, now
        n.attempts += 1
        n.save(update_fields=["status", "sent_at", "attempts"])
        return True


def notifications_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the pending notifications that are due over one mail connection (the sweeper,
    and each wake-up: a burst of mails goes out in a few sessions, not one per mail);
    returns how many went."""
    now = now or timezone.now()
    due = list(Notification.objects.filter(status=NotificationStatus.PENDING)
               .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
               .order_by("id").values_list("id", flat=True)[:limit])
    if not due:
        return 0
    mail = get_connection()
    try:
        mail.open()
    except Exception:
        # Each send below opens its own connection and records its own failure.
        log.warning("mail server unreachable; sending one by one", exc_info=True)
        mail = None
    try:
        return sum(notification_send(notification_id=pk, now=now, connection=mail)
                   for pk in due)
    finally:
        if mail is not None:
            mail.close()
