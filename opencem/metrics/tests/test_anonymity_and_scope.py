"""Anonymity (k) and scope: no figure of a group under k, none that subtraction recovers,
and a manager never sees another unit's figures by any parameter of the API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencem.feedback.models import Response
from opencem.metrics.models import (
    DailyRollup,
    DailyUnitRollup,
    MetricTarget,
    MonthlyRollup,
    MonthlyUnitRollup,
    OrganisationPolicy,
    RatingRollup,
)
from opencem.metrics.tests.factories import Answers, make_survey, record_many

pytestmark = pytest.mark.django_db

K = 5
MONTHS = ["2025-01-01", "2025-02-01", "2025-03-01"]
RANGE = {"from": "2025-01-01", "to": "2025-03-31"}


def get(persona, **params):
    response = persona.api().get("/api/v1/metrics", {"metric": "nps", **RANGE, **params})
    assert response.status_code == 200, response.content
    return response.json()["groups"]


def by_key(groups, *dims):
    return {tuple(g["key"][d] for d in dims): g for g in groups}


def assert_remainder_is_safe(parent, children):
    """What subtraction reveals (parent minus visible children) is nobody or at least k."""
    if parent["suppressed"]:
        assert all(c["suppressed"] for c in children)
        return
    remainder = parent["n"] - sum(c["n"] for c in children if not c["suppressed"])
    assert remainder == 0 or remainder >= K


def fill(org, counts):
    """``counts[(unit index, month index)]`` responses with varied scores."""
    Response.objects.all().delete()
    for model in (DailyRollup, MonthlyRollup, DailyUnitRollup, MonthlyUnitRollup,
                  RatingRollup):
        model.objects.all().delete()
    _, version = make_survey(org.company, name="Anonymity")
    units = [org.company, org.north, org.store_a, org.store_b, org.web]
    rows = []
    for (unit, month), n in counts.items():
        for i in range(n):
            rows.append((units[unit], Answers(nps=(i * 7 + unit + month) % 11),
                         datetime(2025, month + 1, 1 + i, 12, tzinfo=UTC), True, "", "", None))
    if rows:
        record_many(version, rows)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(counts=st.dictionaries(st.tuples(st.integers(0, 4), st.integers(0, 2)),
                              st.integers(0, 9), max_size=15))
def test_no_group_under_k_is_shown_or_recoverable_from_its_parent_and_siblings(admin, org,
                                                                                counts):
    fill(org, counts)
    cube = by_key(get(admin, group_by="unit,month"), "unit", "month")
    totals = by_key(get(admin, group_by="unit"), "unit")
    children = {"ACME": ["NORTH", "WEB"], "NORTH": ["STORE-A", "STORE-B"]}
    for group in [*cube.values(), *totals.values()]:
        if group["n"] < K:
            assert group["suppressed"]
        if group["suppressed"]:
            assert group["value"] is group["low"] is group["high"] is None
    for month in MONTHS:
        for parent, kids in children.items():
            if (parent, month) in cube:
                assert_remainder_is_safe(cube[(parent, month)],
                                         [cube[(c, month)] for c in kids if (c, month) in cube])
    for parent, kids in children.items():
        if (parent,) in totals:
            assert_remainder_is_safe(totals[(parent,)],
                                     [totals[(c,)] for c in kids if (c,) in totals])
    for (unit,), total in totals.items():
        # The months of a unit against its figure for the whole range.
        assert_remainder_is_safe(total, [cube[(unit, m)] for m in MONTHS if (unit, m) in cube])
        # And the same unit asked for on its own is shown, or hidden, just the same.
        alone = get(admin, unit=unit)
        assert [g["suppressed"] for g in alone] == [total["suppressed"]]
        by_month = by_key(get(admin, unit=unit, group_by="month"), "month")
        assert {m: g["suppressed"] for (m,), g in by_month.items()} == {
            m: g["suppressed"] for (u, m), g in cube.items() if u == unit}


def test_a_small_store_hides_its_sibling_too_when_the_parent_would_give_it_away(admin, org):
    fill(org, {(2, 0): 3, (3, 0): 20})  # STORE-A has 3 respondents, STORE-B 20
    groups = by_key(get(admin, unit="NORTH", group_by="unit"), "unit")
    assert groups[("NORTH",)]["suppressed"] is False
    assert groups[("STORE-A",)]["suppressed"] is True
    assert groups[("STORE-B",)]["suppressed"] is True  # or NORTH − STORE-B = STORE-A
    assert groups[("STORE-B",)]["n"] == 20
    # Asked for directly, STORE-B stays hidden: the answers agree with each other.
    assert get(admin, unit="STORE-B")[0]["suppressed"] is True


def test_filters_are_protected_like_groups_the_rest_of_a_unit_cannot_be_subtracted(admin, org):
    _, version = make_survey(org.company)
    record_many(version, [(org.store_a, Answers(nps=9), None, True, "", "store", None)] * 12
                + [(org.store_a, Answers(nps=2), None, True, "", "web", None)] * 2)
    store = get(admin, unit="STORE-A", **{"from": "2025-03-01"})
    assert store[0]["suppressed"] is False
    # STORE-A minus its store channel would be the two web respondents: hidden as well.
    by_store = get(admin, unit="STORE-A", channel="store", **{"from": "2025-03-01"})
    assert (by_store[0]["n"], by_store[0]["suppressed"]) == (12, True)


def test_admins_may_raise_k_for_their_organisation_but_not_lower_it(admin, manager_a, org):
    fill(org, {(2, 0): 7})
    assert get(admin, unit="STORE-A")[0]["suppressed"] is False
    response = admin.api().put("/api/v1/metrics/anonymity", {"organisation": "ACME", "k": 8},
                               content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {"organisation": "ACME", "k": 8, "minimum": 5}
    assert get(admin, unit="STORE-A")[0]["suppressed"] is True
    lowered = admin.api().put("/api/v1/metrics/anonymity", {"organisation": "ACME", "k": 3},
                              content_type="application/json")
    assert lowered.status_code == 422
    assert lowered.json()["error"]["errors"][0]["field"] == "k"
    by_manager = manager_a.api().put("/api/v1/metrics/anonymity",
                                     {"organisation": "ACME", "k": 20},
                                     content_type="application/json")
    assert by_manager.status_code in (403, 422)
    assert OrganisationPolicy.objects.get().anonymity_k == 8
    assert admin.api().get("/api/v1/metrics/anonymity", {"organisation": "ACME"}).json()[
        "k"] == 8


@pytest.fixture
def two_stores(org):
    _, version = make_survey(org.company)
    record_many(version, [(org.store_a, Answers(nps=10), None, True, "", "", None)] * 10
                + [(org.store_b, Answers(nps=0), None, True, "", "", None)] * 10)


@pytest.mark.usefixtures("two_stores")
def test_a_manager_sees_only_their_own_units_figures(manager_a):
    groups = get(manager_a, group_by="unit", **{"from": "2025-03-01"})
    assert [(g["key"]["unit"], g["n"], g["value"]) for g in groups] == [("STORE-A", 10, 100.0)]
    assert [g["n"] for g in get(manager_a, **{"from": "2025-03-01"})] == [10]


@pytest.mark.usefixtures("two_stores")
@pytest.mark.parametrize("unit", ["STORE-B", "NORTH", "ACME"])
def test_a_manager_cannot_ask_for_another_unit(manager_a, unit):
    response = manager_a.api().get("/api/v1/metrics", {"metric": "nps", "unit": unit})
    assert response.status_code == 403
    assert response.json()["error"]["errors"][0]["field"] == "unit"


@pytest.mark.usefixtures("two_stores")
def test_a_manager_gets_no_comparison_with_a_parent_they_may_not_see(manager_a, admin):
    query = {"unit": "STORE-A", "compare": "parent", "from": "2025-03-01"}
    assert get(admin, **query)[0]["comparison"]["baseline"]["value"] == -100.0
    assert get(manager_a, **query)[0]["comparison"] is None


@pytest.mark.usefixtures("two_stores")
def test_a_manager_sees_only_their_own_units_targets(admin, manager_a):
    for unit, value in (("STORE-A", 40), ("STORE-B", 50)):
        admin.api().put("/api/v1/metrics/targets", {"unit": unit, "metric": "nps",
                                                    "value": value},
                        content_type="application/json")
    targets = manager_a.api().get("/api/v1/metrics/targets").json()
    assert [(t["unit"], t["value"]) for t in targets] == [("STORE-A", 40.0)]
    refused = manager_a.api().put("/api/v1/metrics/targets",
                                  {"unit": "STORE-A", "metric": "nps", "value": 90},
                                  content_type="application/json")
    assert refused.status_code == 403
    assert MetricTarget.objects.get(unit__code="STORE-A").value == 40.0


def test_someone_without_a_unit_sees_no_figures(outsider):
    response = outsider.api().get("/api/v1/metrics", {"metric": "nps"})
    assert response.status_code == 403


def test_the_api_needs_a_key(org, client):
    assert client.get("/api/v1/metrics", {"metric": "nps"}).status_code == 401
