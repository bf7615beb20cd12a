"""A notification's mail written out directly (``wire``) is byte for byte what Django's own
message would send, and what it cannot write is left to Django."""

from __future__ import annotations

import random
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings

from opencem.closedloop import wire
from opencem.closedloop.tests.live import free_port

DATE = "Mon, 30 Nov 2026 16:40:40 -0000"
TOKEN = 7628150349588359162


@pytest.fixture
def fixed(monkeypatch):
    """The same Date header and boundary on both sides."""
    monkeypatch.setattr("django.core.mail.message.formatdate", lambda **kw: DATE)
    monkeypatch.setattr(wire, "formatdate", lambda **kw: DATE)
    monkeypatch.setattr(wire.secrets, "randbelow", lambda n: TOKEN)
    monkeypatch.setattr("email.generator.random.randrange", lambda n: TOKEN)


def _mail(subject: str, body: str, html: str | None, to: str = "owner@example.com",
          sender: str = "OpenCEM <cx@localhost>") -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=subject, body=body, to=[to], from_email=sender)
    if html is not None:
        message.attach_alternative(html, "text/html")
    message.extra_headers["Message-ID"] = "<notification-42@example.com>"
    return message


def _django(message: EmailMultiAlternatives) -> bytes:
    return message.message().as_bytes(linesep="\r\n")


LONG_SUBJECT = "Case 12345 is yours: " + "Détracteurs · NPS 3 — magasin de la gare " * 4
CASES = [
    ("Case 1 is yours: Detractors · NPS 1", "Case 1 at Store 02.\n\nhttp://x/cases/1/\n",
     "<!doctype html>\n<p>Case 1 · <b>NPS 1</b></p>\n"),
    ("Plain ASCII subject", "ascii only\n", "<p>ascii</p>"),
    ("Sans HTML", "caf\u00e9 cr\u00e8me\r\nwindows\rold mac\nunix", None),
    (LONG_SUBJECT, "x\n" * 3, "<p>y</p>\n\n"),
    ("A" * 120, "no newline at the end", "\n"),
    ("emoji 😀 subject", "emoji 😀 body\n", "<p>😀</p>"),
    ("Almost too long lines", ("é" * 499) + "\n" + "a" * 998 + "\n", "b" * 998),
    ("Leading dots and From", ".\n..\nFrom here\n--boundary-ish\n", "<p>.</p>"),
]


@pytest.mark.parametrize(("subject", "body", "html"), CASES)
def test_the_bytes_are_djangos(fixed, subject, body, html):
    message = _mail(subject, body, html)
    assert wire.wire(message) == _django(message)


@pytest.mark.parametrize(("to", "sender"), [
    ("Zoë Owner <zoe@example.com>", "OpenCEM <cx@localhost>"),
    ("owner@bücher.example", "Équipe CX <cx@example.com>"),
])
def test_addresses_are_djangos(fixed, to, sender):
    message = _mail("Hello", "Body\n", "<p>Body</p>", to=to, sender=sender)
    assert wire.wire(message) == _django(message)


def test_random_texts_are_djangos(fixed):
    rng = random.Random(6)
    alphabet = "ab Zé·—😀\n\r\t<>&=-.\u2028"
    for _ in range(200):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 80)))
        html = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 80)))
        subject = "".join(rng.choice(alphabet.replace("\n", "").replace("\r", ""))
                          for _ in range(rng.randrange(1, 120)))
        message = _mail(subject, body, rng.choice([html, None]))
        assert wire.wire(message) == _django(message), (subject, body, html)


@pytest.mark.parametrize("message_id", [
    "<notification-1@example.com>", f"<notification-{10 ** 70}@example.com>",
    "<a b@c>", "<a;b,c@d>", "<é@x>", "x" * 200,
    "<" + "n" * 62 + "@x>", "<" + "n" * 63 + "@x>", "<" + "n" * 64 + "@x>"])
def test_message_ids_are_djangos(fixed, message_id):
    message = _mail("Hello", "Body\n", "<p>Body</p>")
    message.extra_headers["Message-ID"] = message_id
    assert wire.wire(message) == _django(message)


def test_boundaries_are_djangos(monkeypatch):
    monkeypatch.setattr("django.core.mail.message.formatdate", lambda **kw: DATE)
    monkeypatch.setattr(wire, "formatdate", lambda **kw: DATE)
    for token in (0, 1, 10 ** 18, 2 ** 63 - 2):
        monkeypatch.setattr(wire.secrets, "randbelow", lambda n, t=token: t)
        monkeypatch.setattr("email.generator.random.randrange", lambda n, t=token: t)
        message = _mail("Hello", "Body\n", "<p>Body</p>")
        assert wire.wire(message) == _django(message)


@pytest.mark.parametrize("change", [
    lambda m: m.attach("a.txt", "attached", "text/plain"),
    lambda m: setattr(m, "cc", ["cc@example.com"]),
    lambda m: m.extra_headers.update({"Reply-To": "r@example.com"}),
    lambda m: setattr(m, "body", "x" * 999),  # quoted-printable
    lambda m: setattr(m, "body", ""),
    lambda m: setattr(m, "subject", "two\nlines"),
    lambda m: m.attach_alternative("{}", "application/json"),
])
def test_other_shapes_are_left_to_django(change):
    message = _mail("Hello", "Body\n", "<p>Body</p>")
    change(message)
    assert wire.wire(message) is None


class _Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd)
        with self.lock:
            self.got.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def test_the_backend_sends_them_as_django_would(fixed):
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mails = [_mail(*CASES[0], to="Zoë <zoe@example.com>"),
                 _mail("Hello", "x" * 999, None)]  # left to Django
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                               EMAIL_HOST="127.0.0.1", EMAIL_PORT=port):
            backend = wire.backend()
            assert isinstance(backend, wire.SMTPBackend)
            assert backend.send_messages(mails) == 2
            expected = [_django(m) for m in mails]
    finally:
        controller.stop()
    assert [g[0] for g in inbox.got] == ["cx@localhost", "cx@localhost"]
    assert inbox.got[0][1] == ["zoe@example.com"]
    # smtplib ends the data with a line end where it has none; the rest arrives as sent.
    assert [g[2] for g in inbox.got] == [e if e.endswith(b"\r\n") else e + b"\r\n"
                                         for e in expected]
