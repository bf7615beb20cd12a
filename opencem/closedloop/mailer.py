"""Sending the notification outbox's mails: in batches over one mail connection, each mail
marked sent as soon as the mail server has taken it.

Exactly once, as far as mail allows: two senders never send the same mail (each claims
its mails with a session lock of the database, ``_claim``, which a killed worker's
connection gives up with it), and a mail is marked sent in a statement of its own right
after the mail server took it, so a worker killed in the middle of a batch sends again only
the mail each of its sender threads was handing over at that instant, with the same
Message-ID.

In a worker process the mails a transaction wrote are handed, once it has committed, to the
process's sender threads (``send_soon``): they talk to the mail server while the work that
wrote them (the outbox relay) goes on with the next events, instead of waiting for the mail
server's replies, and instead of a queued task waiting behind that work for a free process.
"""

from __future__ import annotations

import logging
import os
import queue
import smtplib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection as db
from django.db.models import Q, QuerySet
from django.utils import timezone

from opencem.closedloop import wire
from opencem.closedloop.choices import NotificationStatus
from opencem.closedloop.models import Notification
from opencem.core.statements import fetch

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# The key space of the senders' session locks (pg_try_advisory_lock(int, int)).
LOCKS = 0x6E6F7469  # "noti"
# A sender thread with nothing to send for this long gives its database connection back.
IDLE_SECONDS = 30.0
# A sender thread's (``_Sender``) own state: ``async_commit``, the database connection it
# turned synchronous commit off on (other threads have no such attribute).
_thread = threading.local()


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


def notifications_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the pending notifications that are due, oldest first, over one mail connection
    (the sender task and the sweeper); returns how many went."""
    now = now or timezone.now()
    due = list(_due(now).values_list("id", flat=True)[:limit])
    return notifications_send(ids=due, now=now, one_by_one=True) or 0


def _due(now: datetime) -> QuerySet[Notification]:
    return (Notification.objects.filter(status=NotificationStatus.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("id"))


def notifications_send(*, ids: list[int], now: datetime | None = None,
                       one_by_one: bool = False, mail: Any = None) -> int | None:
    """Send the due notifications among ``ids`` over one mail connection; returns how many
    went, or None when the mail server could not be reached and ``one_by_one`` is off
    (with it on, each send opens a connection of its own and records its own failure).
    ``mail``: an open mail connection (``mail_connection``) to send over, left open;
    without it one is opened for these mails and closed after them."""
    if not ids:
        return 0
    now = now or timezone.now()
    own = mail is None
    if own:
        mail = mail_connection()
        if mail is None:
            if not one_by_one:
                return None
            log.warning("mail server unreachable; sending one by one")
    sent = 0
    try:
        with _claim(ids, now) as pending:
            for n in pending:
                sent += _send_one(n, mail, now)
    finally:
        if own and mail is not None:
            mail.close()
    return sent


def mail_connection() -> Any:
    """An open connection to the mail server, or None when it cannot be reached (Django's
    SMTP backend writes notification mails out with ``wire``)."""
    mail = wire.backend()
    try:
        mail.open()
    except Exception:
        log.warning("mail server unreachable", exc_info=True)
        return None
    return mail


def _deliver(n: Notification, mail: Any) -> None:
    try:
        _message(n, mail).send()
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as exc:
        # The server closed the connection (one kept from earlier mails, say) or is closing
        # it (421): the mail was not taken; once more over a new connection.
        if mail is None or (isinstance(exc, smtplib.SMTPResponseException)
                            and exc.smtp_code != 421):
            raise
        mail.close()
        mail.open()
        _message(n, mail).send()


def _send_one(n: Notification, mail: Any, now: datetime) -> bool:
    try:
        _deliver(n, mail)
    except Exception as exc:
        # A mail server that is down or refuses: keep the row and try later.
        log.warning("notification %s not sent: %r", n.pk, exc)
        n.attempts += 1
        failed = n.attempts >= MAX_ATTEMPTS
        Notification.objects.filter(pk=n.pk).update(
            attempts=n.attempts, last_error=repr(exc)[:1000],
            next_attempt_at=now + timedelta(minutes=2 ** n.attempts),
            status=NotificationStatus.FAILED if failed else NotificationStatus.PENDING)
        return False
    _mark_sent(n.pk, n.attempts + 1)
    return True


def _mark_sent(pk: int, attempts: int) -> None:
    """``status = sent`` for one notification, in a statement of its own: a burst marks
    thousands one by one, so it is written out once and prepared once per connection."""
    table = db.ops.quote_name(Notification._meta.db_table)
    # The table's name comes from the model.
    fetch(f"UPDATE {table} SET status = %s, sent_at = %s, attempts = %s "  # noqa: S608
          "WHERE id = %s RETURNING id",
          [NotificationStatus.SENT.value, db.ops.adapt_datetimefield_value(timezone.now()),
           attempts, pk])


@contextmanager
def _claim(ids: list[int], now: datetime) -> Iterator[list[Notification]]:
    """The notifications among ``ids`` that are still due and that no other sender is
    sending, held for this sender until the block ends.

    On PostgreSQL each is claimed with a session-level advisory lock, not a row lock: a
    row lock would hold a transaction open over the whole batch, and the marks of the mails
    sent must commit one by one. The rows are read again once locked, so a mail another
    sender marked sent before letting go of it is left out. Each mark is committed without
    waiting for the disk (``synchronous_commit`` off for the batch, or for as long as a
    sender thread's own connection lasts): a mark lost to a crash
    of the database server itself would send that mail once more, never lose one, and a
    flush per mail would make a burst's mails queue behind the disk. Elsewhere (SQLite: one
    writer at a time) the due rows are read as they are."""
    if db.vendor != "postgresql":
        yield list(_due(now).filter(pk__in=ids))
        return
    held = [row[0] for row in fetch(
        "SELECT id FROM unnest(%s::bigint[]) AS t(id) "
        "WHERE pg_try_advisory_lock(%s, mod(id, 2147483647)::int)", [ids, LOCKS])]
    if not held:
        yield []
        return
    outside = db.get_autocommit()
    # A sender thread's connection is its own and does nothing else: set once, left so.
    kept = hasattr(_thread, "async_commit")
    try:
        if outside and not (kept and _thread.async_commit is db.connection):
            with db.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            if kept:
                _thread.async_commit = db.connection
        yield list(_due(now).filter(pk__in=held))
    finally:
        if outside and not kept:
            with db.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        fetch("SELECT pg_advisory_unlock(%s, mod(id, 2147483647)::int) "
              "FROM unnest(%s::bigint[]) AS t(id)", [LOCKS, held])


class _Sender(threading.Thread):
    """One of a worker process's senders: sends the slices of mails handed to them over a
    mail connection of its own, kept open while more slices are waiting (at most KEEP
    mails): a burst's mails go without a new conversation with the server every few
    mails."""

    def __init__(self, todo: queue.SimpleQueue[list[int]]) -> None:
        super().__init__(name="opencem-mail-sender", daemon=True)
        self.todo = todo

    def run(self) -> None:
        _thread.async_commit = None
        mail: Any = None  # the mail connection kept from the slice before, if any
        carried = 0  # how many mails it carried
        while True:
            try:
                if mail is None:
                    ids = self.todo.get(timeout=IDLE_SECONDS)
                else:
                    ids = self.todo.get_nowait()
            except queue.Empty:
                if mail is None:
                    db.close()
                _close(mail)
                mail = None
                continue
            try:
                if mail is None:
                    mail, carried = mail_connection(), 0
                if mail is None:
                    _queue_task()  # the mail server is unreachable: the task records it
                    continue
                carried += notifications_send(ids=ids, mail=mail) or 0
            except Exception:
                # The mails stay pending: the sweeper sends them.
                log.exception("mails %s not sent now; left to the sweeper", ids)
                db.close_if_unusable_or_obsolete()
                carried = KEEP
            if carried >= KEEP or getattr(mail, "connection", True) is None:
                # Enough for one connection, or one lost and not opened again.
                _close(mail)
                mail = None


def _close(mail: Any) -> None:
    if mail is not None:
        try:
            mail.close()
        except Exception:
            log.warning("mail connection not closed cleanly", exc_info=True)


# A worker process sends with SENDERS threads, each taking SLICE mails at a time: most of a
# mail's time is spent waiting for the mail server's replies (four per mail), and several
# conversations at once wait together.
SENDERS = 4
SLICE = 5
# A sender's mail connection carries at most this many mails, then a new one is opened.
KEEP = 100
# How long the thread holding the interpreter may keep it while another waits (Python's
# default is 5 ms): a sender waits for the mail server's reply four times a mail and then for
# the interpreter, which the relay's thread in the same process, busy with the rest of a
# burst, would otherwise hold for up to 5 ms each time. Set in a process once it sends from
# threads (worker processes only).
SWITCH_INTERVAL = 0.0005
_senders: tuple[int, queue.SimpleQueue[list[int]], list[_Sender]] | None = None
_senders_lock = threading.Lock()


def send_soon(ids: list[int]) -> None:
    """Have this process's sender threads send the mails ``ids`` (committed) at once."""
    global _senders  # noqa: PLW0603 (one set of sender threads per process)
    with _senders_lock:
        if _senders is None or _senders[0] != os.getpid():
            todo: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
            _senders = (os.getpid(), todo, [])
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        _, todo, threads = _senders
        threads[:] = [t for t in threads if t.is_alive()]
        while len(threads) < SENDERS:
            threads.append(_Sender(todo))
            threads[-1].start()
    for start in range(0, len(ids), SLICE):
        todo.put(list(ids[start:start + SLICE]))


def _queue_task() -> None:
    from opencem.closedloop.tasks import send_notification  # noqa: PLC0415 (tasks import this)

    send_notification.delay()
