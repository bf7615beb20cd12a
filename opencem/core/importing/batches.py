"""Helpers the kinds share to check and store a batch of rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar, overload
from zoneinfo import ZoneInfo

from django.db import transaction
from pydantic import TypeAdapter, ValidationError

from opencem.core.errors import ApplicationError
from opencem.core.importing.contract import BatchOutcome, Row, RowError, row_errors

T = TypeVar("T")
Loc = tuple[str | int, ...]


def validate_models(adapter: TypeAdapter[list[T]], rows: Sequence[Row]
                    ) -> tuple[list[T | None], dict[int, list[RowError]]]:
    """Validate a batch with one schema call; on failure, find the bad rows and validate the
    rest again, so every row gets the API's messages and good rows pay no per-row cost.

    ``adapter`` validates a list of the kind's API schema; errors are named without the list
    index, as the single-item endpoint names them.
    """
    errors: dict[int, list[RowError]] = {}
    for i, row in enumerate(rows):
        if row.problem is not None:
            errors[i] = [RowError(i, "", row.problem)]
    pending = [i for i in range(len(rows)) if i not in errors]
    while pending:
        try:
            models = adapter.validate_python([rows[i].body for i in pending])
        except ValidationError as exc:
            bad: set[int] = set()
            for e in exc.errors():
                position = pending[int(e["loc"][0])]
                bad.add(position)
                loc = ".".join(str(p) for p in e["loc"][1:])
                errors.setdefault(position, []).append(RowError(position, loc, str(e["msg"])))
            pending = [i for i in pending if i not in bad]
            continue
        out: list[T | None] = [None] * len(rows)
        for i, model in zip(pending, models, strict=True):
            out[i] = model
        return out, errors
    return [None] * len(rows), errors


@overload
def with_zone(value: datetime, zone: ZoneInfo | None) -> datetime: ...
@overload
def with_zone(value: None, zone: ZoneInfo | None) -> None: ...
def with_zone(value: datetime | None, zone: ZoneInfo | None) -> datetime | None:
    """A time without a zone read in the zone the operator named (DST rules included)."""
    if value is None or zone is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


class Stored(Protocol):
    @property
    def created(self) -> bool: ...


def store_each(items: Sequence[T], store: Callable[[Sequence[T], Loc | None], Sequence[Stored]]
               ) -> BatchOutcome:
    """Store a batch through a service that takes batches all or nothing, keeping the good
    rows of a batch it refuses.

    ``store(items, loc_prefix)`` is the service. The batch is offered whole first (the common
    case, one call); when the service refuses it, each row is offered alone, inside one
    transaction so that the batch still commits as one, and every refusal is reported with
    the fields the single-item endpoint names.
    """
    if not items:
        return BatchOutcome(created=0, existing=0)
    try:
        results = store(items, ("items",))
    except ApplicationError:
        pass
    else:
        created = sum(1 for r in results if r.created)
        return BatchOutcome(created=created, existing=len(results) - created)
    created = existing = 0
    errors: list[RowError] = []
    with transaction.atomic():
        for i, item in enumerate(items):
            try:
                # A savepoint per row: a refusal midway leaves the batch's other rows intact.
                with transaction.atomic():
                    (result,) = store([item], None)
            except ApplicationError as exc:
                errors += row_errors(i, exc)
                continue
            created += result.created
            existing += not result.created
    return BatchOutcome(created=created, existing=existing, errors=errors)
