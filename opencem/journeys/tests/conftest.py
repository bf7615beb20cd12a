"""Shared data of the journeys tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opencem.conftest import Org
from opencem.journeys.tests.factories import contact, make_survey, respond


@pytest.fixture
def data(org: Org) -> Org:
    """At store A: 20 purchases, half rated 5 and half 2 (CSAT 50% against 80%). Deliveries:
    6 rated (5 of them 5, one 3: 83% against 85%), two of them late. Three calls (under k).
    Ten relationship NPS answers of 10, about no interaction."""
    _, version = make_survey(org.company)
    for i in range(20):
        ref = contact(org.store_a, kind="purchase", email=f"buyer{i}@example.com")
        respond(version, org.store_a, csat=5 if i % 2 else 2, interaction_id=ref)
    for i in range(6):
        ref = contact(org.web, kind="delivery", channel="delivery",
                      email=f"parcel{i}@example.com", attributes={"late": i < 2})
        respond(version, org.web, csat=3 if i == 0 else 5, interaction_id=ref)
    for i in range(3):
        ref = contact(org.company, kind="call", channel="call_centre",
                      email=f"caller{i}@example.com")
        respond(version, org.company, csat=1, interaction_id=ref)
    respond(version, org.company, count=10, nps=10, touchpoint="relationship")
    # Outside the window: never counted.
    old = contact(org.store_a, kind="purchase", at=datetime(2024, 6, 1, tzinfo=UTC))
    respond(version, org.store_a, csat=1, interaction_id=old, at=datetime(2024, 6, 1, 13,
                                                                           tzinfo=UTC))
    return org
