"""A notification's mail in the bytes Django's SMTP backend sends, written out directly.

Django builds a tree of ``email`` package objects for each mail and has the package's
generator write it out: for a burst of alert mails that is most of a sender's time, far more
than talking to the mail server. A notification's mail has one shape (a text part, maybe an
HTML alternative, a few headers), so ``wire`` writes those bytes itself, with the package's
own header folding and Django's own header checks, and ``SMTPBackend`` sends them. Anything
of another shape (attachments, more headers, lines too long for 8bit, another charset) is
left to Django, as are the other mail backends. The tests hold the two to the same bytes.
"""

from __future__ import annotations

import re
import secrets
import smtplib
import sys
from email.policy import compat32
from email.utils import formatdate
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail import message as django_message
from django.core.mail.backends.smtp import EmailBackend

# What Django's message writes with: the package's compat32 policy, CRLF line ends.
_POLICY = compat32.clone(linesep="\r\n")
_NEWLINES = re.compile(rb"\r\n|\r|\n")
_LIMIT = django_message.RFC5322_EMAIL_LINE_LENGTH_LIMIT  # longer lines: quoted-printable
_PART = 'text/{}; charset="utf-8"'
_SMTP = "django.core.mail.backends.smtp.EmailBackend"


def _header(name: str, value: str) -> bytes:
    """A header as Django stores it (``forbid_multi_line_headers``: newlines refused,
    non-ASCII encoded) and the package writes it (folded)."""
    name, value = django_message.forbid_multi_line_headers(name, value, "utf-8")
    return _POLICY.fold_binary(name, value)


_fixed = lru_cache(maxsize=1024)(_header)  # headers that repeat from mail to mail
_WIDTH = _POLICY.max_line_length or 78
_PLAIN = re.compile(r"[!-~]+")  # printable ASCII without spaces
_DIGITS = "0" * 19  # the place of a boundary's random number


def _token(name: str, value: str) -> bytes:
    """A header whose value is one short printable ASCII word (a Message-ID): the package
    writes it as it is, on the header's line."""
    if (len(name) + 2 + len(value) > _WIDTH or not _PLAIN.fullmatch(value)
            or ";" in value or "," in value):
        return _header(name, value)
    return f"{name}: {value}\r\n".encode()


@lru_cache(maxsize=4)
def _multipart(subtype: str) -> bytes:
    """The Content-Type of a multipart message with a placeholder boundary, folded."""
    return _header("Content-Type", f'{subtype}; boundary="{"=" * 15}{_DIGITS}=="')


@lru_cache(maxsize=256)
def _sanitized(address: str) -> str:
    return django_message.sanitize_address(address, "utf-8")


def _body(text: str) -> tuple[bytes, bytes] | None:
    """A text part's transfer encoding and body, as Django's ``SafeMIMEText`` and the
    package's generator write them; None when it would be quoted-printable."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if any(len(line.encode(errors="surrogateescape")) > _LIMIT for line in text.splitlines()):
        return None
    cte = "7bit" if text.isascii() else "8bit"
    return _fixed("Content-Transfer-Encoding", cte), b"\r\n".join(_NEWLINES.split(raw))


def wire(message: EmailMultiAlternatives) -> bytes | None:
    """``message.message().as_bytes(linesep="\\r\\n")`` for a mail of the plain shape
    (a text body, at most one HTML alternative, no attachments, no headers but a
    Message-ID, UTF-8), written directly; None for any other."""
    if (message.attachments or message.cc or message.bcc or message.reply_to
            or message.encoding is not None or settings.DEFAULT_CHARSET != "utf-8"
            or message.content_subtype != "plain" or not message.body
            or set(message.extra_headers) != {"Message-ID"}):
        return None
    alternatives = list(message.alternatives)
    if len(alternatives) > 1 or any(a[1] != "text/html" for a in alternatives):
        return None
    texts = [str(message.body), *(str(a[0]) for a in alternatives)]
    bodies = [_body(text) for text in texts]
    if any(b is None for b in bodies):
        return None
    subject = str(message.subject)
    if "\n" in subject or "\r" in subject:
        return None  # Django refuses it (BadHeaderError)
    headers = [
        _header("Subject", subject),
        _fixed("From", str(message.from_email)),
        *([_fixed("To", ", ".join(str(v) for v in message.to))] if message.to else []),
        _fixed("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)),
        _token("Message-ID", str(message.extra_headers["Message-ID"])),
    ]
    version = _fixed("MIME-Version", "1.0")
    if not alternatives:
        cte, body = bodies[0]  # type: ignore[misc]
        return b"".join([_fixed("Content-Type", _PART.format("plain")), version, cte,
                         *headers, b"\r\n", body])
    # The email package's form of boundary: 15 '=', a random 19-digit number, '=='.
    digits = f"{secrets.randbelow(sys.maxsize):019d}"
    boundary = f"{'=' * 15}{digits}=="
    if any(boundary in text for text in texts):
        return None
    # Digits in place of digits: the header folds the same way.
    kind = _multipart("multipart/alternative").replace(_DIGITS.encode(), digits.encode(), 1)
    out = [kind, version, *headers, b"\r\n"]
    mark = f"--{boundary}\r\n".encode()
    for i, (subtype, found) in enumerate(zip(("plain", "html"), bodies, strict=False)):
        cte, body = found  # type: ignore[misc]
        out += [b"\r\n" if i else b"", mark, _fixed("Content-Type", _PART.format(subtype)),
                version, cte, b"\r\n", body]
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out)


class SMTPBackend(EmailBackend):
    """Django's SMTP backend, sending the mails ``wire`` can write out as it writes them."""

    def _send(self, email_message: Any) -> bool:
        data = wire(email_message) if email_message.recipients() else None
        smtp = self.connection
        if data is None or smtp is None:
            return bool(super()._send(email_message))  # type: ignore[misc]
        try:
            smtp.sendmail(_sanitized(str(email_message.from_email)),
                          [_sanitized(str(a)) for a in email_message.recipients()], data)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


def backend() -> Any:
    """A connection of the configured mail backend: ``SMTPBackend`` for Django's SMTP one."""
    if settings.EMAIL_BACKEND == _SMTP:
        return SMTPBackend()
    return get_connection()
