"""``opencem import interactions`` and ``opencem import customers``: the customer hub's import
kinds (the machinery they plug into is ``opencem.core.importing``).

Rows are checked with the API's own schemas and stored through ``bulk.BulkLoader`` with the
rules of ``interactions_ingest`` / ``customer_upsert``, set-based per batch (the fast path:
interaction files run to millions of rows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from pydantic import TypeAdapter

from opencem.accounts.selectors import Scope, scope_for_actor
from opencem.core.importing import (
    BatchOutcome,
    ImportFailed,
    ImportKind,
    ImportOptions,
    PreparedRows,
    Row,
    RowReader,
    RowShape,
    RowWriter,
    kind_register,
    validate_models,
    with_zone,
)
from opencem.customers.bulk import BulkLoader, Checked, check_rows
from opencem.customers.choices import IdentityKind
from opencem.customers.schemas import CustomerRef, CustomerUpsertIn, InteractionIn
from opencem.customers.services import CustomerInput, InteractionInput

IDENTITY_FIELDS = tuple(IdentityKind.values)
PERSON_FIELDS = (*IDENTITY_FIELDS, "name")
INTERACTION_SHAPE = RowShape(
    fields=("source", "external_id", "channel", "kind", "occurred_at", "unit", "touchpoint",
            "value"),
    person=PERSON_FIELDS)
CUSTOMER_SHAPE = RowShape(fields=("unit", *PERSON_FIELDS), takes_source=False)


def import_scope(options: ImportOptions, actor: User | None) -> Scope:
    """The scope an import runs with; refused when it may write nothing."""
    scope = scope_for_actor(actor)
    if not scope.can_write:
        raise ImportFailed(f"{options.username} has no role that may write customer data")
    return scope


# -- validation -------------------------------------------------------------------------------


# The importers validate with the API's schemas through subclasses that change two things,
# neither of which changes a rule or a message: django-ninja's wrapper, which validates every
# input twice so that ORM objects can stand in for dicts (rows are plain dicts), is reduced to
# one pass; and ``pairs`` reads the identity kinds from a tuple, where the API's reads Django's
# ``IdentityKind.values``, rebuilt on every access (about half the cost of a row).


def one_pass(cls: Any, values: Any, handler: Callable[[Any], Any], info: Any) -> Any:
    """Stands in for django-ninja's root validator in import row schemas (see above)."""
    return handler(values)


def _pairs(self: Any) -> tuple[tuple[str, str], ...]:
    named = [(k, getattr(self, k)) for k in IDENTITY_FIELDS if getattr(self, k)]
    return tuple(named + [(i.kind.value, i.value) for i in self.identities])


class RowCustomer(CustomerRef):
    """``CustomerRef`` for import rows: the same fields, rules and messages."""

    _run_root_validator = classmethod(one_pass)  # type: ignore[assignment]  # see above
    pairs = _pairs


class _RowCustomerUpsert(CustomerUpsertIn):
    _run_root_validator = classmethod(one_pass)  # type: ignore[assignment]  # see above
    pairs = _pairs


class _RowInteraction(InteractionIn):
    _run_root_validator = classmethod(one_pass)  # type: ignore[assignment]  # see above
    customer: RowCustomer | None = None


_INTERACTIONS = TypeAdapter(list[_RowInteraction])
_CUSTOMERS = TypeAdapter(list[_RowCustomerUpsert])


def _with_zone(item: InteractionInput, zone: ZoneInfo | None) -> InteractionInput:
    if zone is None or item.occurred_at.tzinfo is not None:
        return item
    return dataclasses.replace(item, occurred_at=with_zone(item.occurred_at, zone))


# -- interactions -----------------------------------------------------------------------------


class InteractionRows(RowReader):
    """Interaction rows: ``InteractionIn`` bodies, then the database-free checks of
    ingestion (``check_rows``), ahead of the writing."""

    shape = INTERACTION_SHAPE

    def prepare(self, rows: Sequence[Row], zone: ZoneInfo | None) -> PreparedRows:
        models, errors = validate_models(_INTERACTIONS, rows)
        good = [i for i, m in enumerate(models) if m is not None]
        inputs = [_with_zone(m.to_input(), zone) for m in models if m is not None]
        return PreparedRows(good, (inputs, check_rows(inputs)), errors)


class InteractionWriter(RowWriter):
    def __init__(self, loader: BulkLoader) -> None:
        self.loader = loader

    def store(self, payload: tuple[list[InteractionInput], Checked]) -> BatchOutcome:
        inputs, checked = payload
        return self.loader.ingest(inputs, skip_invalid=True, checked=checked)


class InteractionsKind(ImportKind):
    name = "interactions"
    help = "contacts through any channel (as POST /api/v1/interactions)"

    def start(self, *, options: ImportOptions, actor: User | None
              ) -> tuple[RowReader, RowWriter]:
        loader = BulkLoader(scope=import_scope(options, actor), actor=actor)
        return InteractionRows(), InteractionWriter(loader)


# -- customers --------------------------------------------------------------------------------


class CustomerRows(RowReader):
    """Customer rows: ``CustomerUpsertIn`` bodies (identities at the top, not in
    ``customer``)."""

    shape = CUSTOMER_SHAPE

    def prepare(self, rows: Sequence[Row], zone: ZoneInfo | None) -> PreparedRows:
        models, errors = validate_models(_CUSTOMERS, rows)
        good = [i for i, m in enumerate(models) if m is not None]
        inputs = [(m.to_input(), m.unit) for m in models if m is not None]
        return PreparedRows(good, inputs, errors)


class CustomerWriter(RowWriter):
    def __init__(self, loader: BulkLoader) -> None:
        self.loader = loader

    def store(self, payload: list[tuple[CustomerInput, str | None]]) -> BatchOutcome:
        return self.loader.upsert_customers(payload)


class CustomersKind(ImportKind):
    name = "customers"
    help = "customers by their identities, with name, attributes and unit"

    def start(self, *, options: ImportOptions, actor: User | None
              ) -> tuple[RowReader, RowWriter]:
        loader = BulkLoader(scope=import_scope(options, actor), actor=actor)
        return CustomerRows(), CustomerWriter(loader)


def register() -> None:
    """Make both kinds importable by ``opencem import`` (from ``AppConfig.ready()``)."""
    kind_register(CustomersKind())
    kind_register(InteractionsKind())
