"""The import's fast path for interaction rows: the common valid row, checked by hand.

Every interaction row of an import must meet ``InteractionIn`` (the API's schema) and
``check_interaction``, and its identities must normalise. Checking that with pydantic costs
tens of microseconds a row, which is most of an import's time. ``interaction_row`` accepts a
row only when it is plainly valid (text where the schema takes text, a timestamp in the usual
ISO 8601 form, an amount such as ``12.50``, a customer named by identity fields) and returns
exactly what the schema path makes of it. Anything else (any error, and any form it does not
know) returns None, and the row goes through the schema path, which names its error with the
API's field and message. The fast path can thus make valid rows cheaper but never change what
is accepted, what is stored or what a rejection says; ``tests/test_fastrows.py`` holds it to
that against the schema on many generated rows.

It steps aside (``ENABLED`` false) when the schemas have fields or validators it does not
know, so a change to the API may slow imports down but never slip past them. Length limits
are read from the schemas.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from annotated_types import MaxLen  # pydantic's own form of ``max_length``
from pydantic import BaseModel

from opencem.core.text import check_json_object
from opencem.customers.bulk import cached_normalise
from opencem.customers.choices import IdentityKind
from opencem.customers.identities import IdentityError
from opencem.customers.schemas import CENTS, CustomerRef, InteractionIn

# Ingestion's own patterns and bounds, so that both paths read the same rules.
from opencem.customers.services import (
    _CHANNELS,
    EARLIEST,
    SLUG_RE,
    SOURCE_RE,
    CustomerInput,
    InteractionInput,
    Pair,
)
from opencem.customers.staging import Key, copy_text

_INTERACTION_FIELDS = {"source", "external_id", "customer", "channel", "kind", "occurred_at",
                       "unit", "touchpoint", "value", "attributes"}
_KINDS = tuple(IdentityKind.values)
_CUSTOMER_FIELDS = {*_KINDS, "identities", "name", "attributes"}
_CUSTOMER_FAST = _CUSTOMER_FIELDS - {"identities"}  # a list of objects: the schema path
ENABLED = (
    set(InteractionIn.model_fields) == _INTERACTION_FIELDS
    and set(CustomerRef.model_fields) == _CUSTOMER_FIELDS
    and set(InteractionIn.__pydantic_decorators__.model_validators) == {"_run_root_validator"}
    and set(CustomerRef.__pydantic_decorators__.model_validators) == {"_run_root_validator",
                                                                      "_needs_identity"}
    and not InteractionIn.__pydantic_decorators__.field_validators
    and not CustomerRef.__pydantic_decorators__.field_validators)


def _max_length(model: type[BaseModel], name: str) -> int:
    """The ``max_length`` the schema gives the field."""
    return next(m.max_length for m in model.model_fields[name].metadata if isinstance(m, MaxLen))


_SOURCE, _EXTERNAL_ID, _CHANNEL, _KIND, _UNIT, _TOUCHPOINT = (
    _max_length(InteractionIn, name)
    for name in ("source", "external_id", "channel", "kind", "unit", "touchpoint"))
_NAME = _max_length(CustomerRef, "name")
_IDENTITY_LIMITS = {kind: _max_length(CustomerRef, kind) for kind in _KINDS}
_KIND_ORDER = {kind: i for i, kind in enumerate(_KINDS)}
# ``check_json_object``'s limits on an object's keys.
_MAX_KEYS, _MAX_KEY = 200, 100

# Forms both pydantic and ``datetime.fromisoformat`` read, to the same value; pydantic reads
# more (unix times, 't' and 'z', seven-digit fractions), which the schema path handles.
_TIME_RE = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?"
                      r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?")
# Within ``max_digits=14, decimal_places=2`` however written; other spellings take the
# schema path.
_AMOUNT_RE = re.compile(r"-?\d{1,12}(?:\.\d{1,2})?")
_ABSENT: Any = object()

# What a fast row yields: its key, unit code, normalised identities, the customer input when
# it names a name or customer attributes, and the row to store (``copy_text`` or the input).
FastRow = tuple[Key, str, list[Pair] | None, CustomerInput | None, str | InteractionInput]


def interaction_row(body: dict[str, Any], zone: ZoneInfo | None, latest: datetime, *,
                    copy: bool) -> FastRow | None:
    """``body`` checked as the API and ingestion check it, or None to leave it to them.

    ``zone`` reads a timestamp without one (the import's ``--timezone``); ``latest`` is the
    latest time a row may have (now and a day, worked out once per batch, a moment before
    ingestion's own check would work it out, so never later than it). ``copy``: the row to
    store is its ``copy_text``, else its ``InteractionInput``.
    """
    # The order of the checks is the cheapest first; it does not matter which one fails.
    if not ENABLED or not _INTERACTION_FIELDS.issuperset(body):
        return None
    get = body.get
    source, external_id, channel = get("source"), get("external_id"), get("channel")
    kind, unit, when, touchpoint = get("kind"), get("unit"), get("occurred_at"), get(
        "touchpoint", "")
    if (type(source) is not str or type(external_id) is not str or type(channel) is not str
            or type(kind) is not str or type(unit) is not str or type(when) is not str
            or type(touchpoint) is not str):
        return None
    if (len(source) > _SOURCE or len(external_id) > _EXTERNAL_ID or len(channel) > _CHANNEL
            or len(kind) > _KIND or len(unit) > _UNIT or len(touchpoint) > _TOUCHPOINT
            # The patterns below admit no NUL; these two fields have no pattern.
            or "\x00" in external_id or "\x00" in unit):
        return None
    if (not SOURCE_RE.match(source) or not external_id.strip() or channel not in _CHANNELS
            or not SLUG_RE.match(kind) or (touchpoint and not SLUG_RE.match(touchpoint))
            or not _TIME_RE.fullmatch(when)):
        return None
    occurred_at = _time(when, zone, latest)
    amount = get("value")
    value = None if amount is None else _amount(amount)
    attributes = get("attributes", _ABSENT)
    if attributes is _ABSENT:
        attributes = {}
    elif not _json_object(attributes):
        return None
    if occurred_at is None or (amount is not None and value is None):
        return None
    customer = detail = group = None
    person = get("customer")
    if person is not None:
        found = _customer(person, copy=copy)
        if found is None:
            return None
        customer, detail, group = found
    stored: str | InteractionInput
    if copy:
        stored = copy_text(channel, kind, occurred_at, touchpoint, attributes, value, source,
                           external_id)
    else:
        stored = InteractionInput(
            source=source, external_id=external_id, channel=channel, kind=kind,
            occurred_at=occurred_at, unit=unit, customer=customer, touchpoint=touchpoint,
            value=value, attributes=attributes)
    return (source, external_id), unit, group, detail, stored


def _time(text: str, zone: ZoneInfo | None, latest: datetime) -> datetime | None:
    try:
        occurred_at = datetime.fromisoformat(text)
    except ValueError:
        return None
    if occurred_at.tzinfo is None:
        if zone is None:
            return None
        occurred_at = occurred_at.replace(tzinfo=zone)
    if occurred_at < EARLIEST or occurred_at > latest:
        return None
    return occurred_at


def _amount(value: Any) -> Decimal | None:
    if type(value) is not str or not _AMOUNT_RE.fullmatch(value):
        return None
    return Decimal(value).quantize(CENTS)


def _json_object(value: Any) -> bool:
    """Whether the schema's ``Attributes`` (``check_json_object``) takes ``value``."""
    if type(value) is not dict:
        return False
    # An object of text values (what ``attr.*`` columns make) is checked here at a glance,
    # with check_json_object's limits; anything else by check_json_object itself.
    if len(value) <= _MAX_KEYS and all(
            type(k) is str and type(v) is str and 0 < len(k) <= _MAX_KEY
            and "\x00" not in k and "\x00" not in v for k, v in value.items()):
        return True
    try:
        check_json_object(value)
    except ValueError:
        return False
    return True


def _text(value: Any, limit: int) -> bool:
    """A text the schema's ``CleanStr`` of at most ``limit`` characters takes as it is."""
    return type(value) is str and len(value) <= limit and "\x00" not in value


def _customer(body: Any, *, copy: bool) -> tuple[CustomerInput | None, CustomerInput | None,
                                                 list[Pair]] | None:
    """``CustomerRef`` without ``identities[]``: its input (only where used: a row stored by
    COPY needs it only when it sets a name or attributes), the same when it sets a name or
    attributes, and the identities normalised."""
    if type(body) is not dict or not _CUSTOMER_FAST.issuperset(body):
        return None
    name, attributes = body.get("name"), body.get("attributes")
    if ((name is not None and not _text(name, _NAME))
            or (attributes is not None and not _json_object(attributes))):
        return None
    named: list[Pair] = []
    for field, value in body.items():
        limit = _IDENTITY_LIMITS.get(field)
        if limit is None or value is None:
            continue
        if not _text(value, limit):
            return None
        if value:  # an empty identity is no identity, as in ``CustomerRef.pairs``
            named.append((field, value))
    if not named:
        return None
    if len(named) > 1:
        named.sort(key=lambda pair: _KIND_ORDER[pair[0]])
    group = _normalised(named)
    if group is None:
        return None
    sets_details = name is not None or bool(attributes)
    if copy and not sets_details:
        return None, None, group
    customer = CustomerInput(identities=tuple(named), name=name, attributes=attributes)
    return customer, customer if sets_details else None, group


def _normalised(named: list[Pair]) -> list[Pair] | None:
    """As ``bulk._normalise_identities`` makes them, or None when one does not normalise."""
    try:
        if len(named) == 1:
            kind, value = named[0]
            return [(kind, cached_normalise(kind, value))]
        return list(dict.fromkeys([(kind, cached_normalise(kind, value))
                                   for kind, value in named]))
    except IdentityError:
        return None
