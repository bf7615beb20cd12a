from __future__ import annotations

import pytest

from opencem.customers.identities import IdentityError, guess_kinds, normalise


@pytest.mark.parametrize(("kind", "raw", "expected"), [
    ("email", "  Ann.Lee@Example.COM ", "ann.lee@example.com"),
    ("phone", "07700 900123", "+447700900123"),
    ("phone", "+44 (0)7700-900-123", "+447700900123"),
    ("phone", "+1 415 555 2671", "+14155552671"),
    ("loyalty_id", " ab 12 34 ", "AB1234"),
    ("crm_id", "crm-001", "CRM-001"),
])
def test_identities_are_normalised(kind, raw, expected):
    assert normalise(kind, raw) == expected


@pytest.mark.parametrize(("kind", "raw"), [
    ("email", "not an email"),
    ("phone", "12"),
    ("phone", "call me"),
    ("email", ""),
    ("crm_id", "a\x00b"),
    ("shoe_size", "42"),
])
def test_bad_identities_are_refused(kind, raw):
    with pytest.raises(IdentityError):
        normalise(kind, raw)


def test_search_text_with_an_at_sign_is_only_an_email():
    assert guess_kinds("ann@example.com") == ["email"]
    assert guess_kinds("+44 7700 900123")[0] == "phone"
