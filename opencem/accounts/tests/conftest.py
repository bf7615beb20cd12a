"""Helpers of the accounts tests (the browser fixtures are in ``opencem/conftest.py``)."""

from __future__ import annotations

from typing import Any

from opencem.conftest import Persona, Session

__all__ = ["Session", "ingest"]


def ingest(persona: Persona, *, email: str, unit: str, name: str | None = None,
           attributes: dict[str, Any] | None = None, count: int = 1,
           interaction_attributes: dict[str, Any] | None = None) -> int:
    """Record ``count`` store purchases of one customer the way an integrator does, and return
    the customer's id.

    It goes through the public API, which stores them with ``interactions_ingest``: the
    accounts app sits below customers in the import layers, so its tests do not import
    customers' modules.
    """
    api = persona.api()
    customer: dict[str, Any] = {"email": email, "name": name}
    if attributes is not None:
        customer["attributes"] = attributes
    customer_id = 0
    for i in range(count):
        response = api.post_json("/api/v1/interactions", {
            "source": "pos", "external_id": f"{email}-{unit}-{i}", "channel": "store",
            "kind": "purchase", "occurred_at": f"2026-03-{i + 1:02d}T10:00:00+00:00",
            "unit": unit, "value": "19.90",
            "attributes": interaction_attributes or {"basket_size": i + 1},
            "customer": customer})
        assert response.status_code == 201, response.content
        customer_id = int(response.json()["customer_id"])
    return customer_id
