"""``opencem import interactions`` and ``opencem import customers``: the customer hub's import
kinds (the machinery they plug into is ``opencem.core.importing``).

Rows are checked with the API's own schemas and stored through ``bulk.BulkLoader`` with the
rules of ``interactions_ingest`` / ``customer_upsert``, set-based per batch (the fast path:
interaction files run to millions of rows). Interaction rows that are plainly valid are
checked by ``fastrows`` instead of pydantic, to the same result; the reading process hands
the writer ``staging.Staged`` batches, for PostgreSQL with each row already in COPY form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.utils import timezone
from pydantic import TypeAdapter

from opencem.accounts.selectors import Scope, scope_for_actor
from opencem.core.importing import (
    BatchOutcome,
    ImportFailed,
    ImportKind,
    ImportOptions,
    PreparedRows,
    Row,
    RowError,
    RowReader,
    RowShape,
    RowWriter,
    kind_register,
    validate_models,
    with_zone,
)
from opencem.customers.bulk import BulkLoader, check_rows
from opencem.customers.choices import IdentityKind
from opencem.customers.fastrows import FastRow, interaction_row
from opencem.customers.schemas import CustomerRef, CustomerUpsertIn, InteractionIn
from opencem.customers.services import MAX_FUTURE, CustomerInput, InteractionInput
from opencem.customers.staging import Staged, copy_text, has_details

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
    ingestion (``check_rows``), ahead of the writing; each batch becomes a ``Staged`` one.

    Most rows take ``fastrows.interaction_row``; the others (and every bad row) the schema
    path, which names errors as the API does. ``copy``: stage rows for PostgreSQL's COPY.
    """

    shape = INTERACTION_SHAPE

    def __init__(self, *, copy: bool = False) -> None:
        self.copy = copy

    def prepare(self, rows: Sequence[Row], zone: ZoneInfo | None) -> PreparedRows:
        latest = timezone.now() + MAX_FUTURE
        fast = interaction_row
        copy = self.copy
        # Each row as the loader takes it, or None while the schema path has it to check.
        ready: list[FastRow | None] = [
            None if row.problem is not None else fast(row.body, zone, latest, copy=copy)
            for row in rows]
        errors: dict[int, list[RowError]] = {}
        slow = [i for i, entry in enumerate(ready) if entry is None]
        if slow:
            self._schema_path(rows, slow, zone, ready, errors)
        good = [i for i, entry in enumerate(ready) if entry is not None]
        entries = [entry for entry in ready if entry is not None]
        stored = [entry[4] for entry in entries]
        # One object per unit code: the batch pickles each once, not once a row.
        codes: dict[str, str] = {}
        return PreparedRows(good, Staged(
            keys=[entry[0] for entry in entries],
            units=[codes.setdefault(entry[1], entry[1]) for entry in entries],
            groups=[entry[2] for entry in entries],
            details={i: entry[3] for i, entry in enumerate(entries) if entry[3] is not None},
            copy_rows=cast("list[str]", stored) if copy else None,
            items=None if copy else cast("list[InteractionInput]", stored)), errors)

    def _schema_path(self, rows: Sequence[Row], positions: list[int], zone: ZoneInfo | None,
                     ready: list[FastRow | None], errors: dict[int, list[RowError]]) -> None:
        """Check the rows at ``positions`` with the API's schema and ``check_rows``: the
        good ones fill ``ready``, the others ``errors`` (both by position in the batch)."""
        models, refused = validate_models(_INTERACTIONS, [rows[i] for i in positions])
        for j, found in refused.items():
            errors[positions[j]] = [RowError(positions[j], e.field, e.message) for e in found]
        valid = [(positions[j], _with_zone(m.to_input(), zone))
                 for j, m in enumerate(models) if m is not None]
        checked = check_rows([item for _, item in valid])
        for k, (i, item) in enumerate(valid):
            if k in checked.errors:
                errors[i] = [RowError(i, e.field, e.message) for e in checked.errors[k]]
                continue
            stored: str | InteractionInput = item
            if self.copy:
                stored = copy_text(item.channel, item.kind, item.occurred_at, item.touchpoint,
                                   item.attributes, item.value, item.source, item.external_id)
            ready[i] = ((item.source, item.external_id), item.unit, checked.groups[k],
                         item.customer if has_details(item.customer) else None, stored)


class InteractionWriter(RowWriter):
    def __init__(self, loader: BulkLoader) -> None:
        self.loader = loader

    def store(self, payload: Staged) -> BatchOutcome:
        return self.loader.ingest_staged(payload)


class InteractionsKind(ImportKind):
    name = "interactions"
    help = "contacts through any channel (as POST /api/v1/interactions)"

    def start(self, *, options: ImportOptions, actor: User | None
              ) -> tuple[RowReader, RowWriter]:
        loader = BulkLoader(scope=import_scope(options, actor), actor=actor)
        return InteractionRows(copy=loader.copies), InteractionWriter(loader)


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
