"""Keyset (cursor) pagination: stable and fast at any depth, unlike OFFSET on 10M rows."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet

from opencem.core.errors import invalid

M = TypeVar("M", bound=Model)

MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def encode_cursor(values: list[object]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[object]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(["cursor"], "is not a cursor this API gave out") from exc
    if not isinstance(values, list) or len(values) != size:
        raise invalid(["cursor"], "is not a cursor this API gave out")
    return values


def keyset_page(
    qs: QuerySet[M], *, cursor: str | None, limit: int, time_field: str | None = None
) -> Page[M]:
    """Newest first by ``(time_field, id)``, or by ``id`` alone when no time field is given."""
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(["limit"], f"must be between 1 and {MAX_LIMIT}")
    if time_field:
        qs = qs.order_by(f"-{time_field}", "-id")
        if cursor:
            at, last_id = decode_cursor(cursor, 2)
            try:
                at_dt = datetime.fromisoformat(str(at))
                last = int(str(last_id))
            except ValueError as exc:
                raise invalid(["cursor"], "is not a cursor this API gave out") from exc
            qs = qs.filter(Q(**{f"{time_field}__lt": at_dt})
                           | Q(**{time_field: at_dt, "id__lt": last}))
    else:
        qs = qs.order_by("-id")
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            try:
                qs = qs.filter(id__lt=int(str(last_id)))
            except ValueError as exc:
                raise invalid(["cursor"], "is not a cursor this API gave out") from exc
    items = list(qs[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last_item = items[-1]
        key: list[object] = [getattr(last_item, time_field)] if time_field else []
        next_cursor = encode_cursor([*key, last_item.pk])
    return Page(items=items, next_cursor=next_cursor)
