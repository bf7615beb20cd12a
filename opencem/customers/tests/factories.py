"""Builders for customer-hub test data."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any

_ids = count(1)


def interaction_body(*, unit: str = "STORE-A", email: str | None = "ann@example.com",
                     **overrides: Any) -> dict[str, Any]:
    """A valid interaction as an integrator would send it; override any field."""
    body: dict[str, Any] = {
        "source": "pos",
        "external_id": f"T-{next(_ids)}",
        "channel": "store",
        "kind": "purchase",
        "occurred_at": datetime(2026, 3, 1, 10, 0, tzinfo=UTC).isoformat(),
        "unit": unit,
        "value": 59.90,
        "attributes": {"items": 2},
    }
    if email is not None:
        body["customer"] = {"email": email}
    body.update(overrides)
    return body
