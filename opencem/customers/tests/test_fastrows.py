"""The import's fast path for interaction rows must agree with the API's schema path: a row it
takes is one the schema path takes, to the same values; everything else it leaves alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from opencem.customers import fastrows
from opencem.customers.bulk import check_rows
from opencem.customers.choices import Channel
from opencem.customers.importing import _INTERACTIONS, _with_zone
from opencem.customers.services import MAX_FUTURE, InteractionInput, Pair
from opencem.customers.staging import copy_text

LONDON = ZoneInfo("Europe/London")


def schema_path(body: dict[str, Any], zone: ZoneInfo | None
                ) -> tuple[InteractionInput, list[Pair] | None] | None:
    """What the API's schema and ingestion's checks make of ``body`` (None: rejected)."""
    try:
        (model,) = _INTERACTIONS.validate_python([body])
    except ValidationError:
        return None
    item = _with_zone(model.to_input(), zone)
    checked = check_rows([item])
    return None if checked.errors else (item, checked.groups[0])


def fast_path(body: dict[str, Any], zone: ZoneInfo | None, *, copy: bool = False
              ) -> fastrows.FastRow | None:
    return fastrows.interaction_row(body, zone, timezone.now() + MAX_FUTURE, copy=copy)


def row(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"source": "pos", "external_id": "T-1", "channel": "store",
                            "kind": "purchase", "occurred_at": "2026-03-01T10:00:00Z",
                            "unit": "STORE-A", "value": "12.5",
                            "customer": {"email": "Ann@Example.com"}, "attributes": {"n": "3"}}
    body.update(overrides)
    return body


DROP: Any = object()  # the key left out
TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
ANY_TIME = st.tuples(
    st.datetimes(min_value=datetime(1969, 1, 1), max_value=datetime(2100, 1, 1),
                 timezones=st.none() | st.just(UTC) | st.timezones()),
    st.sampled_from("T ")).map(lambda pair: pair[0].isoformat(sep=pair[1]))
# Every field of a row that both paths take, in several spellings...
VALID = {
    "source": st.sampled_from(["pos", "till:1", "a" * 64]),
    "external_id": st.sampled_from(["T-1", "x" * 200, "a\tb", "a\\b", "\\N", "say \"hi\""]),
    "channel": st.sampled_from(Channel.values),
    "kind": st.sampled_from(["purchase", "k" * 50, "x.y-z_1"]),
    "occurred_at": st.sampled_from(["2026-03-01T10:00:00Z", "2026-03-01 10:00:00+01:00",
                                    "2026-03-01T10:00:00.5-05:30", "2026-03-01T10:00Z"]),
    "unit": st.sampled_from(["STORE-A", "u" * 64, ""]),
    "touchpoint": st.sampled_from(["", "checkout", DROP]),
    "value": st.sampled_from(["12.50", "12.5", "-0", "999999999999.99", None, DROP]),
    "attributes": st.sampled_from([{}, {"basket": "3"}, {"note": 'say "hi"\n\tback\\slash'},
                                   DROP]),
    "customer": st.sampled_from([{"email": "Ann@Example.com"}, {"phone": "07700 900123"},
                                 {"email": "a@b.co", "name": "Ann", "attributes": {"t": "g"}},
                                 {"loyalty_id": "ab 123", "email": "a@b.co"}, None, DROP]),
}
# ...and, for each field, what else a file may hold there, valid or not.
EDGES: dict[str, list[Any]] = {
    "source": ["a" * 65, "Bad Source", "pos\n", "", "p\x00s", None, 5, DROP],
    "external_id": [" ", "x" * 201, "T\x001", "line\nbreak", 5, DROP],
    "channel": ["pigeon", "", "STORE", None, DROP],
    "kind": ["Big Purchase!", "k" * 51, "k" * 50 + "\n", "", DROP],
    "occurred_at": [
        "2026-03-01T10:00", "2026-02-30T10:00:00Z", "2026-03-01T10:00:00.123456+00:00",
        "2026-03-01T10:00:00.1234567Z", "2026-03-01t10:00:00z", "1700000000", "2026-03-01",
        "2026-03-01T24:00:00Z", "2026-03-01T23:59:60Z", "2026-03-01T10:00:00+23:59",
        "2026-03-01T10:00:00+24:00", "2026-03-01T10:00:00+0100", "2026-03-01T10:00:00+01",
        "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1970-01-01T00:30:00+01:00",
        "2999-01-01T00:00:00Z", "0000-01-01T00:00:00Z", " 2026-03-01T10:00:00Z", "",
        1700000000, None, DROP,
        "2026-10-25T01:30:00", "2026-03-29T01:30:00",  # ambiguous, missing in London
    ],
    "unit": ["u" * 65, "A\x00", 7, None, DROP],
    "touchpoint": ["Check Out", "t" * 65, "t" * 64, None],
    "value": [
        "1.100", "0012.50", "9999999999999.9", "1e2", "+1", ".5", "1.", "lots", "", " 1",
        "1_000", "000000000000.00", "0000000000000.00", "NaN", "-1234567890123", 1.234, 12,
        True],
    "attributes": [
        ["x"], None, {"": 1}, {"k": float("nan")}, {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
        {"k": "\x00"}, {"k": [1, 2.5, True, None]}, "text", {str(i): i for i in range(201)},
        {str(i): "v" for i in range(200)}, {str(i): "v" for i in range(201)}, {"k" * 100: "v"},
        {"k" * 101: "v"}, {"": "v"}, {"k": "v\x00"}, {"k\x00": "v"}],
    "customer": [
        {"email": "not-an-email"}, {"email": ""}, {"email": "", "phone": "+44 7700 900123"},
        {"phone": "12"}, {"name": "No identity"},
        {"identities": [{"kind": "email", "value": "a@b.co"}]}, {"email": None},
        {"surprise": 1}, {"email": 5}, "ann@example.com", {"crm_id": "c" * 321},
        {"crm_id": "c" * 320}, {"email": "a@b.co", "name": None}, {"email": "a@b.co", "name": ""},
        {"email": "a@b.co", "attributes": None}, {"email": "a@b.co", "attributes": []},
        {"device_id": " d 1 ", "account_id": "D 1"}, {"email": "A@B.CO", "crm_id": "x"},
        {"social_handle": "\x00"}, {"email": "a@b.co", "name": "n" * 201}, [],
        {"email": "a@b.co", "surprise": 1},
        {"email": "a@b.co", "identities": [{"kind": "phone", "value": "+447700900123"}]}],
}
# Free text and times hypothesis makes up, besides the listed ones.
MADE_UP = {"source": TEXTS, "external_id": TEXTS, "kind": TEXTS, "occurred_at": ANY_TIME}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid row with up to three fields swapped for an edge case (or an unknown field)."""
    body = {name: draw(values) for name, values in VALID.items()}
    swapped = draw(st.integers(0, 3))
    for name in draw(st.lists(st.sampled_from(sorted(EDGES)), min_size=swapped,
                              max_size=swapped, unique=True)):
        body[name] = draw(st.sampled_from(EDGES[name]) | MADE_UP.get(name, st.nothing()))
    if draw(st.integers(0, 19)) == 0:
        body["surprise"] = True
    return {k: v for k, v in body.items() if v is not DROP}


def test_the_fast_path_knows_the_current_schemas():
    assert fastrows.ENABLED


def test_a_plain_valid_row_takes_the_fast_path_to_the_schema_paths_result():
    body = row(touchpoint="checkout", customer={"email": "Ann@Example.com", "name": "Ann"})
    fast = fast_path(body, None)
    slow = schema_path(body, None)
    assert fast is not None
    assert slow is not None
    assert fast[4] == slow[0]
    assert (fast[0], fast[1], fast[2], fast[3]) == (
        ("pos", "T-1"), "STORE-A", [("email", "ann@example.com")], slow[0].customer)


def check_agreement(body: dict[str, Any], zone: ZoneInfo | None) -> None:
    """The fast path leaves ``body`` alone, or makes of it what the schema path makes."""
    fast = fast_path(body, zone)
    slow = schema_path(body, zone)
    if fast is None:
        return
    assert slow is not None, f"the fast path took a row the API rejects: {body!r}"
    item, group = slow
    stored = fast[4]
    assert isinstance(stored, InteractionInput)
    assert stored == item
    # Equal is not enough where equal values print differently.
    assert stored.occurred_at.isoformat() == item.occurred_at.isoformat()
    assert str(stored.value) == str(item.value)
    assert (fast[0], fast[1], fast[2]) == ((item.source, item.external_id), item.unit, group)
    assert fast[3] == (item.customer if item.customer is not None and (
        item.customer.name is not None or item.customer.attributes) else None)
    copied = fast_path(body, zone, copy=True)
    assert copied is not None
    assert copied[4] == copy_text(item.channel, item.kind, item.occurred_at, item.touchpoint,
                                  item.attributes, item.value, item.source, item.external_id)


@pytest.mark.parametrize("zone", [None, LONDON])
@pytest.mark.parametrize(("name", "value"), [
    (name, value) for name, values in EDGES.items() for value in values])
def test_each_edge_case_alone_gets_the_schema_paths_verdict(name, value, zone):
    body = row(**{name: value})
    check_agreement({k: v for k, v in body.items() if v is not DROP}, zone)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), zone=st.sampled_from([None, LONDON]))
def test_the_fast_path_takes_only_what_the_schema_path_takes_and_to_the_same_values(body, zone):
    check_agreement(body, zone)


def test_a_time_past_tomorrow_is_left_to_the_schema_path_which_names_it():
    later = (timezone.now() + MAX_FUTURE + timedelta(minutes=1)).isoformat()
    assert fast_path(row(occurred_at=later), None) is None
    assert schema_path(row(occurred_at=later), None) is None
