"""A batch of interactions as the bulk loader (``bulk.BulkLoader``) stores it.

The importer checks rows in a reading process of its own and hands each batch to the writing
process; what crosses over is a ``Staged`` batch of plain columns. For PostgreSQL each row's
own columns are already in ``COPY`` text form, so the writer only adds the ids it learns from
the database (the row's, its customer's and its unit's) before streaming the lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

from opencem.customers.services import CustomerInput, InteractionInput, Pair

Key = tuple[str, str]

# The columns of ``Interaction`` a COPY writes: the loader's three, then the row's own (in
# ``copy_text`` order), then the time of storing.
COPY_COLUMNS = ("id", "customer_id", "unit_id", "channel", "kind", "occurred_at", "touchpoint",
                "attributes", "value", "source", "external_id", "created_at")
NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(channel: str, kind: str, occurred_at: datetime,  # noqa: PLR0917 (see below)
              touchpoint: str, attributes: dict[str, Any], value: Decimal | None, source: str,
              external_id: str) -> str:
    """A row's own columns in PostgreSQL's ``COPY`` text format (tab-separated, ``\\N`` for
    null, backslash escapes). Positional, as it runs once per imported row and keyword calls
    cost more."""
    attrs = json_text(attributes)
    texts = (channel, kind, touchpoint, attrs, source, external_id)
    # Escaping is rarely needed (a tab or backslash in an id, a quote in an attribute), so
    # one search over all the text decides for the row.
    if _COPY_SPECIAL.search("".join(texts)):
        channel, kind, touchpoint, attrs, source, external_id = (
            t.translate(_COPY_ESCAPES) for t in texts)
    amount = NULL if value is None else str(value)
    return (f"{channel}\t{kind}\t{occurred_at.isoformat()}\t{touchpoint}\t{attrs}\t{amount}\t"
            f"{source}\t{external_id}")


def json_text(value: dict[str, Any]) -> str:
    """``value`` as JSON: ``json.dumps``, with a shortcut for an object of text values (what
    a CSV file's ``attr.*`` columns make), which is most rows."""
    if not value:
        return "{}"
    try:
        # The quoting ``json.dumps`` uses, in C; it refuses anything but text.
        return "{" + ",".join([f"{encode_basestring_ascii(k)}:{encode_basestring_ascii(v)}"
                               for k, v in value.items()]) + "}"
    except TypeError:
        return json.dumps(value)


@dataclass(frozen=True)
class Staged:
    """A batch of interactions as the loader stores it: one entry per row in each column.

    ``details`` holds the customer input of rows that set a name or customer attributes (by
    row). PostgreSQL loads ``copy_rows`` (``copy_text`` of each row); other databases load
    ``items``. Plain lists of strings and tuples, cheap to send between processes.
    """

    keys: list[Key]
    units: list[str]
    groups: list[list[Pair] | None]
    details: dict[int, CustomerInput] = field(default_factory=dict)
    copy_rows: list[str] | None = None
    items: list[InteractionInput] | None = None


def has_details(customer: CustomerInput | None) -> bool:
    """Whether storing the row changes its customer's name or attributes."""
    return customer is not None and (customer.name is not None or bool(customer.attributes))


def stage(items: Sequence[InteractionInput], groups: Sequence[list[Pair] | None], *,
          copy: bool, skip: Container[int] = ()) -> Staged:
    """``items`` (with their normalised identities) as a ``Staged`` batch; rows at positions
    in ``skip`` (rejected already) are not rendered."""
    return Staged(
        keys=[(it.source, it.external_id) for it in items], units=[it.unit for it in items],
        groups=list(groups),
        details={i: it.customer for i, it in enumerate(items)
                 if it.customer is not None and has_details(it.customer)},
        copy_rows=[
            "" if i in skip else copy_text(it.channel, it.kind, it.occurred_at, it.touchpoint,
                                           it.attributes, it.value, it.source, it.external_id)
            for i, it in enumerate(items)] if copy else None,
        items=None if copy else list(items))
