"""Path analytics from real interactions: each customer's sequence of touchpoints, the most
common paths, drop-offs, scores by path, what precedes detractors, time between touchpoints;
kept incrementally and within the viewer's scope."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection

from opencem.accounts.selectors import scope_for_user
from opencem.conftest import Org, Persona
from opencem.journeys import paths
from opencem.journeys.models import PathState, PathStep, Touchpoint
from opencem.journeys.path_counts import (
    Aggregates,
    aggregate_in_python,
    bucket_of,
    bucket_start,
    quantile_hours,
)
from opencem.journeys.paths import (
    path_aggregates,
    path_report,
    paths_refresh,
    responses_of,
    steps_in,
)
from opencem.journeys.selectors import window_of
from opencem.journeys.services import touchpoint_update
from opencem.journeys.tests.factories import (
    AT,
    SYSTEM,
    WINDOW,
    contact,
    make_journey,
    make_survey,
    respond,
)

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def data(org: Org) -> Org:
    """Six customers browse, buy in store 2 hours later, and get a delivery a day after
    (browsing twice in a row, for one of them); five browse, buy and then call, and answer a
    survey after the call with NPS 2."""
    _, version = make_survey(org.company)
    for i in range(6):
        email = f"happy{i}@example.com"
        contact(org.web, kind="session", channel="web", email=email, at=AT)
        if i == 0:
            contact(org.web, kind="session", channel="web", email=email, at=AT + HOUR)
        contact(org.store_a, kind="purchase", email=email, at=AT + 2 * HOUR)
        contact(org.web, kind="delivery", channel="delivery", email=email,
                at=AT + 26 * HOUR)
    for i in range(5):
        email = f"upset{i}@example.com"
        contact(org.web, kind="session", channel="web", email=email, at=AT)
        contact(org.store_a, kind="purchase", email=email, at=AT + 2 * HOUR)
        call = contact(org.company, kind="call", channel="call_centre", email=email,
                       at=AT + 50 * HOUR)
        respond(version, org.company, nps=2, csat=1, email=email, interaction_id=call,
                at=AT + 51 * HOUR)
    return org


def _paths(persona: Persona, journey_id: int) -> dict:
    response = persona.api().get(f"/api/v1/journeys/{journey_id}/paths?{WINDOW}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_most_common_paths_with_scores_by_path(data: Org, admin: Persona) -> None:
    journey = make_journey()
    body = _paths(admin, journey.pk)
    assert body["customers"] == 11
    assert body["steps"] == 34
    paths = [(p["steps"], p["customers"]) for p in body["paths"]]
    assert paths == [(["Browse", "Store checkout", "Delivery"], 6),
                     (["Browse", "Store checkout", "Support call"], 5)]
    upset = body["paths"][1]
    assert upset["nps"]["value"] == pytest.approx(-100.0)
    assert upset["nps"]["n"] == 5
    assert upset["csat"]["value"] == pytest.approx(0.0)
    assert body["paths"][0]["nps"] is None


def test_drop_offs_detractor_paths_and_time_between_touchpoints(data: Org,
                                                               admin: Persona) -> None:
    journey = make_journey()
    body = _paths(admin, journey.pk)
    drops = {d["touchpoint"]: d for d in body["drop_offs"]}
    assert drops["Delivery"] == {"touchpoint": "Delivery", "stage": "Receive", "reached": 6,
                                 "ended": 6, "rate": 100.0}
    assert drops["Browse"]["reached"] == 11
    assert drops["Browse"]["ended"] == 0
    assert body["detractor_paths"] == [{
        "steps": ["Browse", "Store checkout", "Support call"], "detractors": 5,
        "responses": 5, "rate": 100.0}]
    gaps = {(g["source"], g["target"]): g for g in body["gaps"]}
    # The repeated session counts once, from the first of them.
    assert gaps[("Browse", "Store checkout")]["median_hours"] == pytest.approx(2.0)
    assert gaps[("Store checkout", "Delivery")]["median_hours"] == pytest.approx(24.0)
    assert gaps[("Store checkout", "Support call")]["count"] == 5
    flows = {(f["depth"], f["source"], f["target"]): f["customers"] for f in body["flows"]}
    assert flows[(0, "Browse", "Store checkout")] == 11
    assert flows[(1, "Store checkout", "Delivery")] == 6
    assert flows[(2, "Delivery", None)] == 6


def test_a_manager_sees_the_steps_at_their_own_units_only(
        data: Org, manager_a: Persona, manager_b: Persona) -> None:
    journey = make_journey()
    mine = _paths(manager_a, journey.pk)
    assert mine["customers"] == 11
    assert [p["steps"] for p in mine["paths"]] == [["Store checkout"]]
    assert _paths(manager_b, journey.pk)["customers"] == 0


def test_a_refresh_reads_only_what_arrived_since_the_last_one(data: Org) -> None:
    journey = make_journey()
    window = window_of(AT.date() - timedelta(days=30), AT.date() + timedelta(days=30))
    first = path_report(scope=SYSTEM, journey=journey, window=window)
    state = PathState.objects.get(journey=journey)
    steps = PathStep.objects.filter(journey=journey).count()
    assert steps == 34
    late = contact(data.company, kind="call", channel="call_centre",
                   email="happy1@example.com", at=AT + 80 * HOUR)
    second = path_report(scope=SYSTEM, journey=journey, window=window)
    state.refresh_from_db()
    assert state.last_interaction_id == late
    assert PathStep.objects.filter(journey=journey).count() == steps + 1
    assert first.paths[0].customers == 6
    assert second.paths[0].customers == 5
    assert paths_refresh(journey=journey).last_interaction_id == late


def test_a_remap_rebuilds_the_steps(data: Org) -> None:
    journey = make_journey()
    window = window_of(AT.date(), AT.date() + timedelta(days=5))
    path_report(scope=SYSTEM, journey=journey, window=window)
    call = Touchpoint.objects.get(stage__journey=journey, name="Support call")
    touchpoint_update(scope=SYSTEM, touchpoint_id=call.pk,
                      changes={"rule": {"kinds": ["chat"]}})
    report = path_report(scope=SYSTEM, journey=journey, window=window)
    assert not PathStep.objects.filter(journey=journey, touchpoint=call).exists()
    assert [p.steps for p in report.paths] == [
        ("Browse", "Store checkout", "Delivery"), ("Browse", "Store checkout")]


def test_paths_taken_by_fewer_than_k_customers_are_not_shown(org: Org,
                                                            admin: Persona) -> None:
    for i in range(4):
        contact(org.web, kind="session", channel="web", email=f"few{i}@example.com")
    journey = make_journey()
    body = _paths(admin, journey.pk)
    assert body["customers"] == 4
    assert body["paths"] == []
    assert body["flows"] == []
    assert body["drop_offs"] == []


@pytest.mark.postgres
def test_postgresql_aggregates_exactly_as_the_python_pass(data: Org, manager_a: Persona
                                                           ) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    from opencem.journeys.paths_sql import aggregate_in_sql  # noqa: PLC0415

    journey = make_journey()
    contact(data.company, kind="call", channel="call_centre", email="happy1@example.com",
            at=AT + 80 * HOUR)
    paths_refresh(journey=journey)
    window = window_of(AT.date() - timedelta(days=30), AT.date() + timedelta(days=30))
    for scope in (SYSTEM, scope_for_user(manager_a.user)):
        steps, responses = steps_in(scope, journey, window), responses_of(scope, window)
        assert aggregate_in_sql(steps, responses) == aggregate_in_python(steps, responses)


def _counts_afresh(journey, window) -> Aggregates:
    return aggregate_in_python(steps_in(SYSTEM, journey, window), responses_of(SYSTEM, window))


def test_new_interactions_and_responses_are_counted_incrementally(data: Org) -> None:
    journey = make_journey()
    window = window_of(AT.date() - timedelta(days=30), AT.date() + timedelta(days=30))
    path_report(scope=SYSTEM, journey=journey, window=window)
    _, version = make_survey(data.company, name="Later")
    # A customer's path changes, a new customer arrives, and an old one answers a survey.
    contact(data.company, kind="call", channel="call_centre", email="happy3@example.com",
            at=AT + 30 * HOUR)
    contact(data.web, kind="session", channel="web", email="new@example.com",
            at=AT + 40 * HOUR)
    respond(version, data.company, nps=1, email="happy4@example.com", at=AT + 30 * HOUR)
    with mock.patch("opencem.journeys.paths._aggregate", wraps=paths._aggregate) as counted:
        incremental = path_aggregates(scope=SYSTEM, journey=journey, window=window)
    # Two counts over the three customers touched, none over everyone.
    assert counted.call_count == 2
    for call in counted.call_args_list:
        assert call.args[0].values("customer_id").distinct().count() <= 3
    assert incremental == _counts_afresh(journey, window)
    assert incremental.customers == 12
    report = path_report(scope=SYSTEM, journey=journey, window=window)
    assert report.customers == 12


def test_time_between_touchpoints_is_counted_to_the_minute_then_quarter_then_day() -> None:
    assert [bucket_start(bucket_of(m)) for m in (0, 119, 120, 134, 135, 2879, 2880, 4319,
                                                 4320)] == [
        0, 119, 120, 120, 135, 2865, 2880, 2880, 4320]
    assert quantile_hours({bucket_of(60): 9, bucket_of(6000): 1}, 0.5) == 1.0
    assert quantile_hours({bucket_of(60): 9, bucket_of(6000): 1}, 0.9) == 1.0
    assert quantile_hours({bucket_of(60): 8, bucket_of(6000): 2}, 0.9) == 96.0  # 100 h: day 4


def test_the_scheduled_task_maps_new_interactions_for_every_journey(data: Org) -> None:
    from opencem.journeys.tasks import refresh_paths  # noqa: PLC0415

    journey = make_journey()
    other = make_journey(name="Second")
    assert refresh_paths.delay().get() == 2
    assert PathStep.objects.filter(journey=journey).count() == 34
    assert PathStep.objects.filter(journey=other).count() == 34


def test_a_merge_moves_the_steps_and_a_new_response_renews_the_report(data: Org) -> None:
    from opencem.customers.selectors import customer_find_by_identity  # noqa: PLC0415
    from opencem.customers.services import customers_merge  # noqa: PLC0415

    journey = make_journey()
    window = window_of(AT.date() - timedelta(days=30), AT.date() + timedelta(days=30))
    before = path_report(scope=SYSTEM, journey=journey, window=window)
    assert before.customers == 11
    survivor = customer_find_by_identity(scope=SYSTEM, text="happy0@example.com")
    absorbed = customer_find_by_identity(scope=SYSTEM, text="happy1@example.com")
    assert survivor is not None
    assert absorbed is not None
    customers_merge(survivor=survivor, absorbed=absorbed, actor=None, reason="same person")
    assert not PathStep.objects.filter(customer_id=absorbed.pk).exists()
    after = path_report(scope=SYSTEM, journey=journey, window=window)
    assert after.customers == 10
    _, version = make_survey(data.company, name="Late survey")
    respond(version, data.company, nps=0, email="happy2@example.com", at=AT + 30 * HOUR)
    renewed = path_report(scope=SYSTEM, journey=journey, window=window)
    assert after.paths[0].steps == ("Browse", "Store checkout", "Delivery")
    assert after.paths[0].nps is None
    assert renewed.paths[0].nps is not None
    assert renewed.paths[0].nps.n == 1
    assert renewed.paths[0].nps.suppressed  # one respondent: under k
