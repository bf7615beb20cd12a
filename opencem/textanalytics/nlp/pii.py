"""PII redaction: emails, phone numbers, payment cards (Luhn-checked), IBANs (mod-97-checked),
and names and street addresses where a pattern gives them away.

Each finding is replaced by a bracketed tag (``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``,
``[NAME]``, ``[ADDRESS]``, ``[POSTCODE]``), so readers still see that something was there.
Numbers are checked before they are taken for a card or an IBAN, so an order number is kept;
phone numbers are recognised by shape (a leading ``+``, ``00`` or ``0``, or separated digit
groups) because a missed phone number costs more than a masked order number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
CARD = re.compile(r"(?<![\d])(?:\d[ \-]?){12,18}\d(?![\d])")
PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ().\-/]{6,}\d(?![\d])")
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
_STREET_WORDS = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Close|Way|Court|Place|Crescent|"
                 r"Gardens|Terrace|Boulevard|Blvd|Grove|Square|Hill|Row|Walk|Mews|Strasse|"
                 r"Straße|Rue|Calle")
ADDRESS = re.compile(rf"\b\d{{1,4}}[A-Za-z]?,? (?:[A-Z][\w'\-]+ ){{1,3}}(?:{_STREET_WORDS})\b\.?")
_NAME = r"[A-Z][a-z'\-]+(?: [A-Z][a-z'\-]+){0,2}"
NAME = re.compile(
    rf"(?:\b(?:[Mm]y name is|[Mm]y name's|[Nn]ame:|[Ii] am|[Ii]'m|[Tt]his is|[Cc]alled|"
    rf"[Rr]egards,|[Tt]hanks,|[Ss]igned,?)\s+)(?P<name>{_NAME})"
    rf"|\b(?:Mr|Mrs|Ms|Miss|Dr|Mx)\.? (?P<titled>{_NAME})")
# Words that follow "I am" / "I'm" / "this is" far more often than a name does.
_NOT_NAMES = frozenset([
    "A", "An", "The", "So", "Not", "Very", "Really", "Still", "Just", "Disappointed", "Happy",
    "Unhappy", "Sorry", "Writing", "Going", "Calling", "Never", "Always", "Absolutely",
    "Extremely", "Quite", "Totally", "Fed", "Sure", "Glad", "Pleased", "Angry", "Upset",
    "Done", "Now", "It", "This", "That", "Here", "There", "Back", "Tired", "Waiting",
    "Frustrated", "Shocked", "Appalled", "Delighted", "Impressed", "Unable", "Able", "Afraid",
    "Amazed", "Annoyed", "Confused", "Concerned", "Hoping", "Looking", "Trying", "Also",
    "Again", "Only",
])


@dataclass(frozen=True)
class Finding:
    """One piece of PII: its kind and where it was in the original text."""

    kind: str
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` passes the Luhn check that every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    """True when ``value`` (spaces allowed) passes the ISO 13616 mod-97 check."""
    compact = value.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


_DATE = re.compile(r"\d{1,4}([/.\-])\d{1,2}\1\d{1,4}")


def _phone_like(candidate: str) -> bool:
    if _DATE.fullmatch(candidate):
        return False
    digits = sum(ch.isdigit() for ch in candidate)
    if not 8 <= digits <= 15:
        return False
    stripped = candidate.lstrip("(")
    if stripped.startswith(("+", "00", "0")):
        return True
    # Without a trunk or country prefix, separated groups (555-123-4567, 212 555 0100) still
    # read as a phone number; a bare run of digits reads as an order or account number.
    return len(re.findall(r"[ ().\-/]+", candidate.strip("()"))) >= 2


def find_pii(text: str) -> list[Finding]:
    """Every piece of PII in ``text``, without overlaps, in order."""
    found: list[Finding] = []
    taken = bytearray(len(text))

    def add(kind: str, start: int, end: int) -> None:
        if any(taken[start:end]):
            return
        taken[start:end] = b"\x01" * (end - start)
        found.append(Finding(kind, start, end))

    for m in EMAIL.finditer(text):
        add("EMAIL", m.start(), m.end())
    for m in IBAN.finditer(text):
        if iban_ok(m.group()):
            add("IBAN", m.start(), m.end())
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            add("CARD", m.start(), m.end())
    for m in PHONE.finditer(text):
        candidate = m.group().rstrip(" .-/(")
        if _phone_like(candidate):
            add("PHONE", m.start(), m.start() + len(candidate))
    for m in ADDRESS.finditer(text):
        add("ADDRESS", m.start(), m.end())
    for m in POSTCODE.finditer(text):
        add("POSTCODE", m.start(), m.end())
    for m in NAME.finditer(text):
        group = "name" if m.group("name") else "titled"
        name = m.group(group)
        first = name.split(" ")[0]
        if group == "name" and first in _NOT_NAMES:
            continue
        add("NAME", m.start(group), m.end(group))
    found.sort(key=lambda f: f.start)
    return found


def redact(text: str) -> tuple[str, list[Finding]]:
    """``text`` with every piece of PII replaced by its ``[KIND]`` tag, and the findings."""
    findings = find_pii(text)
    if not findings:
        return text, findings
    parts: list[str] = []
    at = 0
    for f in findings:
        parts.append(text[at:f.start])
        parts.append(f"[{f.kind}]")
        at = f.end
    parts.append(text[at:])
    return "".join(parts), findings
