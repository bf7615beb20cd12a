"""Sending the notification outbox: one wake-up per transaction, a mail marked sent as soon as
the mail server took it, and never sent by two senders at once."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import psycopg
import pytest
from django.core import mail
from django.db import connection, transaction

from opencem.closedloop import mailer, notifications
from opencem.closedloop.choices import NotificationKind
from opencem.closedloop.models import Notification
from opencem.closedloop.notifications import Mail, notifications_queue

pytestmark = pytest.mark.django_db


def _queue(n: int) -> list[Notification]:
    return notifications_queue(mails=[
        Mail(NotificationKind.CUSTOMER, f"c{i}@example.com", "customer",
             {"case": None, "subject": f"Hello {i}", "body": "Sorry", "sender": "Ann"})
        for i in range(n)])


def test_one_wake_up_per_transaction_however_many_mails(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        _queue(2)
        _queue(1)
    assert len(callbacks) == 1
    assert callbacks[0].__self__.ids == list(Notification.objects.order_by("id")
                                             .values_list("id", flat=True))


def test_in_a_worker_the_mails_go_to_its_sender_thread(monkeypatch,
                                                        django_capture_on_commit_callbacks):
    handed: list[list[int]] = []
    monkeypatch.setattr(notifications, "send_soon", handed.append)
    worker_task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    monkeypatch.setattr(notifications, "current_task", worker_task)
    with django_capture_on_commit_callbacks(execute=True):
        made = _queue(3)
    assert handed == [[n.pk for n in made]]
    assert mail.outbox == []  # not sent in the committing code itself


class _Killed(BaseException):
    """The worker process dying (nothing catches it)."""


def test_a_mail_is_marked_sent_as_soon_as_the_server_took_it(monkeypatch):
    first, second, third = _queue(3)
    real_send = mailer.EmailMultiAlternatives.send
    sent: list[str] = []

    def send_then_die(message, *args, **kwargs):
        if sent:
            raise _Killed
        sent.append(message.to[0])
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(mailer.EmailMultiAlternatives, "send", send_then_die)
    with pytest.raises(_Killed):
        mailer.notifications_send_due()
    statuses = dict(Notification.objects.values_list("id", "status"))
    assert statuses == {first.pk: "sent", second.pk: "pending", third.pk: "pending"}
    monkeypatch.undo()
    # A sender after the crash sends the rest, and the first mail once only.
    assert mailer.notifications_send_due() == 2
    assert [m.to[0] for m in mail.outbox] == [first.to_email, second.to_email, third.to_email]


def test_a_mail_another_sender_is_sending_is_left_to_it():
    if connection.vendor != "postgresql":
        pytest.skip("senders claim mails with PostgreSQL's advisory locks")
    held, free = _queue(2)
    settings = connection.settings_dict
    other = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432,
                            user=settings["USER"], dbname=settings["NAME"], autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [mailer.LOCKS, held.pk])
        assert mailer.notifications_send_due() == 1
        assert [m.to[0] for m in mail.outbox] == [free.to_email]
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [mailer.LOCKS, held.pk])
        assert mailer.notifications_send_due() == 1
    finally:
        other.close()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([held.to_email, free.to_email])


def test_a_kept_connection_the_server_dropped_is_opened_again():
    from django.test import override_settings  # noqa: PLC0415

    from opencem.closedloop import wire  # noqa: PLC0415
    from opencem.closedloop.tests.live import smtp_server  # noqa: PLC0415

    first, second, third = _queue(3)
    with smtp_server() as (inbox, port), override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1", EMAIL_PORT=port):
        kept = mailer.mail_connection()
        assert isinstance(kept, wire.SMTPBackend)
        try:
            assert mailer.notifications_send(ids=[first.pk], mail=kept) == 1
            before = kept.connection
            assert before is not None  # left open for the next mails
            before.sock.shutdown(socket.SHUT_RDWR)  # gone under the sender's feet
            assert mailer.notifications_send(ids=[second.pk, third.pk], mail=kept) == 2
            assert kept.connection is not None
            assert kept.connection is not before
        finally:
            kept.close()
        got = sorted(str(m["Message-ID"]) for m in inbox.messages)
    assert got == sorted(mailer._message(n).extra_headers["Message-ID"]
                         for n in (first, second, third))
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert {m["Subject"] for m in inbox.messages} == {"Hello 0", "Hello 1", "Hello 2"}
