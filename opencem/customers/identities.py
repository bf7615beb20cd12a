"""Normalisation of customer identities, so that one person is one key whatever the spelling.

- email: trimmed and lower-cased as a whole (providers treat the local part case-insensitively
  in practice);
- phone: parsed and written as E.164 (``+447700900123``); numbers without a country prefix are
  read in ``OPENCEM_PHONE_REGION``;
- every other kind: whitespace removed and upper-cased (``ab 123`` and ``AB123`` are one card).
"""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings

from opencem.customers.choices import IdentityKind

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPACE_RE = re.compile(r"\s+")
MAX_VALUE = 320


class IdentityError(ValueError):
    """The value cannot be an identity of that kind."""


def normalise(kind: str, value: str) -> str:
    """Return the canonical form of ``value`` for ``kind`` or raise IdentityError."""
    if kind not in IdentityKind.values:
        raise IdentityError(f"unknown identity kind {kind!r}")
    if not isinstance(value, str):
        raise IdentityError("must be text")
    if "\x00" in value:
        raise IdentityError("must not contain NUL bytes")
    raw = value.strip()
    if not raw:
        raise IdentityError("must not be empty")
    if len(raw) > MAX_VALUE:
        raise IdentityError(f"must be at most {MAX_VALUE} characters")
    if kind == IdentityKind.EMAIL:
        email = raw.lower()
        if not _EMAIL_RE.match(email):
            raise IdentityError(f"{value!r} is not an email address")
        return email
    if kind == IdentityKind.PHONE:
        return _phone(raw)
    return _SPACE_RE.sub("", raw).upper()


def _phone(raw: str) -> str:
    try:
        number = phonenumbers.parse(raw, settings.OPENCEM_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise IdentityError(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise IdentityError(f"{raw!r} is not a possible phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def guess_kinds(text: str) -> list[str]:
    """The identity kinds a search string could be, most specific first."""
    text = text.strip()
    if "@" in text:
        return [IdentityKind.EMAIL]
    kinds: list[str] = []
    if re.fullmatch(r"[+()\d\s.-]{6,}", text):
        kinds.append(IdentityKind.PHONE)
    kinds += [k for k in IdentityKind.values if k not in (IdentityKind.EMAIL, IdentityKind.PHONE)]
    return kinds
