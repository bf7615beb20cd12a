"""Walks (each customer's whole path in one row, PostgreSQL) give exactly the counts of the
Python pass over every step, on random data: whatever the window cuts, whatever the scope
hides, after new interactions arrive out of order and after customers merge."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection

from opencem.accounts.selectors import Scope
from opencem.conftest import Org
from opencem.customers.selectors import customer_find_by_identity
from opencem.customers.services import customers_merge
from opencem.journeys import path_walks
from opencem.journeys.models import Journey, PathWalk
from opencem.journeys.path_counts import aggregate_in_python
from opencem.journeys.paths import path_aggregates, paths_refresh, responses_of, steps_in
from opencem.journeys.selectors import Window, window_of
from opencem.journeys.tests.factories import (
    AT,
    SYSTEM,
    contact,
    make_journey,
    make_survey,
    respond,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

KINDS = ["session", "session", "purchase", "delivery", "call", "call", "chat"]
CUSTOMERS = 30


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("walks are kept on PostgreSQL")


def _random_contacts(org: Org, rng: random.Random, count: int, *, days: int = 40) -> None:
    units = [org.web, org.store_a, org.store_b, org.company]
    for _ in range(count):
        # Whole hours, so ties in time (ordered by interaction) happen too.
        at = AT + timedelta(hours=rng.randrange(days * 24))
        contact(rng.choice(units), kind=rng.choice(KINDS), channel=rng.choice(["web", "store"]),
                email=f"c{rng.randrange(CUSTOMERS)}@example.com", at=at)


def _random_responses(org: Org, rng: random.Random, count: int, name: str) -> None:
    _, version = make_survey(org.company, name=name)
    for _ in range(count):
        nps = rng.choice([None, *range(11)])
        csat = rng.choice([None, 1, 2, 3, 4, 5]) if nps is None else rng.choice([None, 4])
        if nps is None and csat is None:
            csat = 2
        respond(version, rng.choice([org.company, org.store_a]), nps=nps, csat=csat,
                email=f"c{rng.randrange(CUSTOMERS)}@example.com",
                at=AT + timedelta(hours=rng.randrange(40 * 24)))


def _windows() -> list[Window]:
    day = AT.date()
    return [window_of(day - timedelta(days=1), day + timedelta(days=60)),
            window_of(day + timedelta(days=10), day + timedelta(days=60)),
            window_of(day - timedelta(days=5), day + timedelta(days=25)),
            window_of(day + timedelta(days=12), day + timedelta(days=14))]


def _scopes(org: Org) -> list[Scope]:
    return [SYSTEM,
            dataclasses.replace(SYSTEM, unit_ids=frozenset({org.web.pk, org.company.pk,
                                                            org.store_a.pk})),
            dataclasses.replace(SYSTEM, unit_ids=frozenset({org.store_a.pk}))]


def _check_every_window_and_scope(org: Org, journey: Journey) -> None:
    paths_refresh(journey=journey)
    for window in _windows():
        for scope in _scopes(org):
            responses = responses_of(scope, window)
            steps = steps_in(scope, journey, window)
            fast, _ = path_walks.aggregate_walks(scope, journey, window, steps, responses)
            brute = aggregate_in_python(steps, responses)
            assert fast == brute, (window, scope.unit_ids)
    # Not an empty comparison: the widest window sees every customer with paths and answers.
    widest = _windows()[0]
    fast, _ = path_walks.aggregate_walks(SYSTEM, journey, widest,
                                         steps_in(SYSTEM, journey, widest),
                                         responses_of(SYSTEM, widest))
    assert fast.customers == PathWalk.objects.filter(journey=journey).count() > 0
    assert fast.gaps
    assert fast.preceding


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_walks_count_exactly_as_every_step_does(org: Org, seed: int) -> None:
    rng = random.Random(seed)
    _random_contacts(org, rng, 160)
    _random_responses(org, rng, 40, "First")
    journey = make_journey()
    _check_every_window_and_scope(org, journey)
    # Interactions arrive late and out of order, for old and new customers, then a response.
    _random_contacts(org, rng, 40, days=45)
    _random_responses(org, rng, 10, "Second")
    _check_every_window_and_scope(org, journey)
    survivor = customer_find_by_identity(scope=SYSTEM, text="c1@example.com")
    absorbed = customer_find_by_identity(scope=SYSTEM, text="c2@example.com")
    assert survivor is not None
    assert absorbed is not None
    customers_merge(survivor=survivor, absorbed=absorbed, actor=None, reason="same person")
    assert not PathWalk.objects.filter(customer_id=absorbed.pk).exists()
    _check_every_window_and_scope(org, journey)


def test_customers_wholly_in_the_window_and_scope_are_counted_from_their_walks(
        org: Org) -> None:
    rng = random.Random(7)
    _random_contacts(org, rng, 120)
    journey = make_journey()
    paths_refresh(journey=journey)
    everything = _windows()[0]
    with mock.patch.object(path_walks, "aggregate_in_sql",
                           wraps=path_walks.aggregate_in_sql) as from_steps:
        counted = path_aggregates(scope=SYSTEM, journey=journey, window=everything)
        assert from_steps.call_count == 0
        assert counted.customers == PathWalk.objects.filter(journey=journey).count()
        # A window that cuts through customers' paths counts those customers from steps.
        path_aggregates(scope=SYSTEM, journey=journey, window=_windows()[1])
        assert from_steps.call_count == 1


def test_a_remap_rebuilds_the_walks(org: Org) -> None:
    from opencem.journeys.models import Touchpoint  # noqa: PLC0415
    from opencem.journeys.services import touchpoint_update  # noqa: PLC0415

    rng = random.Random(11)
    _random_contacts(org, rng, 80)
    journey = make_journey()
    paths_refresh(journey=journey)
    call = Touchpoint.objects.get(stage__journey=journey, name="Support call")
    touchpoint_update(scope=SYSTEM, touchpoint_id=call.pk, changes={"rule": {"kinds": ["chat"]}})
    _random_responses(org, rng, 20, "After the remap")
    _check_every_window_and_scope(org, journey)
