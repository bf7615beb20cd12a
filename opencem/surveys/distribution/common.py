"""What every part of distribution shares: the background scope, the slug rules and the
permission check for designing distribution."""

from __future__ import annotations

import re

from opencem.accounts.selectors import WHOLE_ORGANISATION, Scope
from opencem.core.errors import PermissionDenied, invalid
from opencem.surveys.models import Survey

# Background work sees the whole organisation; what it writes was asked for by a designer.
SYSTEM_SCOPE = WHOLE_ORGANISATION

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
ATTRIBUTE_RE = re.compile(r"^(?!.*__)[A-Za-z0-9_]{1,64}$")  # "__" would read as a lookup
SLUG_MESSAGE = "must be a lower-case slug (letters, digits, _ . -)"
ATTRIBUTE_MESSAGE = "must be 1-64 letters, digits or single '_'"


def check_design(scope: Scope, survey: Survey | None) -> None:
    """Triggers and contact rules are designed by admins and analysts of the survey's unit;
    rules for every survey by those of the whole organisation."""
    if survey is None:
        if scope.design_unit_ids is not None:
            raise PermissionDenied("rules for every survey need the admin or analyst role at "
                                   "the top of the organisation", loc=["survey"])
    elif not scope.designs_unit(survey.unit_id):
        raise PermissionDenied(f"designing distribution for {survey.unit.code!r} needs the "
                               "admin or analyst role there", loc=["survey"])


def check_range(loc: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise invalid([loc], f"must be between {low} and {high}")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
