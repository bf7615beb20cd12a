"""The customer's experience on one timeline, newest first, from every source that has one.

Each source is a provider: given customer ids, a scope and a cursor position, it returns
its own newest entries before that position. The timeline merges them by time. Interactions
and merges are built in; surveys, feedback and cases register their providers from their
apps' ``ready()``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from opencem.accounts.selectors import Scope
from opencem.core.errors import invalid
from opencem.customers.models import CustomerMerge, Interaction

Position = tuple[datetime, str, int]  # (occurred_at, entry kind, id): a total order


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to or with the customer."""

    kind: str
    id: int
    occurred_at: datetime
    title: str
    channel: str = ""
    unit: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def position(self) -> Position:
        return (self.occurred_at, self.kind, self.id)


Provider = Callable[[list[int], Scope, Position | None, int], list[TimelineEntry]]
_providers: dict[str, Provider] = {}


def register_provider(name: str, provider: Provider) -> None:
    _providers[name] = provider


def before_filter(before: Position | None, *, kind: str, time_field: str) -> Q:
    """The rows of a provider of ``kind`` that come strictly after ``before`` (newest first)."""
    if before is None:
        return Q()
    at, before_kind, before_id = before
    same_time = Q(**{time_field: at})
    if kind < before_kind:
        tie = same_time
    elif kind == before_kind:
        tie = same_time & Q(id__lt=before_id)
    else:
        tie = Q(pk__in=[])
    return Q(**{f"{time_field}__lt": at}) | tie


def _interactions(customer_ids: list[int], scope: Scope, before: Position | None,
                  limit: int) -> list[TimelineEntry]:
    qs = Interaction.objects.filter(customer_id__in=customer_ids).select_related("unit")
    if scope.unit_ids is not None:
        qs = qs.filter(unit_id__in=scope.unit_ids)
    qs = qs.filter(before_filter(before, kind="interaction", time_field="occurred_at"))
    entries = []
    for it in qs.order_by("-occurred_at", "-id")[: limit + 1]:
        title = it.kind.replace("_", " ").capitalize()
        if it.value is not None:
            title += f" · {it.value:,.2f}"
        entries.append(TimelineEntry(
            kind="interaction", id=it.pk, occurred_at=it.occurred_at, title=title,
            channel=it.get_channel_display(), unit=it.unit.name,
            detail={"source": it.source, "external_id": it.external_id,
                    "touchpoint": it.touchpoint, "attributes": it.attributes,
                    "value": None if it.value is None else str(it.value)}))
    return entries


def _merges(customer_ids: list[int], scope: Scope, before: Position | None,
            limit: int) -> list[TimelineEntry]:
    qs = CustomerMerge.objects.filter(survivor_id__in=customer_ids)
    qs = qs.filter(before_filter(before, kind="merge", time_field="created_at"))
    return [TimelineEntry(kind="merge", id=m.pk, occurred_at=m.created_at,
                          title=f"Record {m.absorbed_id} merged into this customer",
                          detail={"reason": m.reason, "identities": m.details.get("identities")})
            for m in qs.order_by("-created_at", "-id")[: limit + 1]]


register_provider("interactions", _interactions)
register_provider("merges", _merges)


def encode_position(pos: Position) -> str:
    raw = json.dumps([pos[0].isoformat(), pos[1], pos[2]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(cursor: str) -> Position:
    try:
        at, kind, ident = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return (datetime.fromisoformat(at), str(kind), int(ident))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid(["cursor"], "is not a cursor this API gave out") from exc


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None


def customer_timeline(*, customer_ids: list[int], scope: Scope, cursor: str | None = None,
                      limit: int = 50) -> TimelinePage:
    """Entries from every provider, newest first, ``limit`` at a time."""
    if not 1 <= limit <= 200:
        raise invalid(["limit"], "must be between 1 and 200")
    before = decode_position(cursor) if cursor else None
    merged: list[TimelineEntry] = []
    for provider in _providers.values():
        merged += provider(customer_ids, scope, before, limit)
    merged.sort(key=lambda e: _key(e.position), reverse=True)
    page = merged[:limit]
    more = len(merged) > limit
    return TimelinePage(page, encode_position(page[-1].position) if more and page else None)


def _key(pos: Position) -> tuple[float, str, int]:
    return (pos[0].timestamp(), pos[1], pos[2])
