"""Consistency charts: a metric across comparable units with control-chart flags, under the
same scope and anonymity rules as every other figure."""

from __future__ import annotations

from datetime import date

import pytest

from opencem.accounts.models import Unit
from opencem.accounts.selectors import scope_for_user
from opencem.accounts.services import unit_create
from opencem.conftest import Org, Persona
from opencem.core.errors import ApplicationError
from opencem.metrics.scores import NpsCounts
from opencem.metrics.selectors import ControlFlag, MetricFilters, consistency_chart
from opencem.metrics.stats import nps_control_chart
from opencem.metrics.tests.factories import SYSTEM, Answers, make_survey, record_many

pytestmark = pytest.mark.django_db

MARCH = MetricFilters(start=date(2025, 3, 1), end=date(2025, 3, 31))


def answers(unit: Unit, version: object, **scores: int) -> list[tuple[object, ...]]:
    """(unit, answers, at, complete, touchpoint, channel, email) rows: ``scores`` maps an
    NPS score (as ``s9``) to how many gave it."""
    rows = []
    for name, count in scores.items():
        rows += [(unit, Answers(nps=int(name[1:])), None, True, "", "", None)] * count
    return rows


@pytest.fixture
def stores(org: Org) -> dict[str, Unit]:
    """Five stores under North: four alike, one far worse, and one with 3 respondents."""
    _, version = make_survey(org.company)
    found = {"A": org.store_a, "B": org.store_b}
    for code in ("C", "D", "E", "F"):
        found[code] = unit_create(code=f"STORE-{code}", name=f"Store {code}", parent=org.north)
    rows = []
    for code in ("A", "B", "C", "D"):
        rows += answers(found[code], version, s10=30, s8=10, s3=10)
    rows += answers(found["E"], version, s10=5, s8=5, s2=40)
    rows += answers(found["F"], version, s10=3)
    record_many(version, rows)
    return found


def test_the_unit_far_below_the_others_is_flagged(stores: dict[str, Unit]) -> None:
    chart = consistency_chart(scope=SYSTEM, metric="nps", filters=MetricFilters(
        unit="NORTH", start=MARCH.start, end=MARCH.end))
    assert chart.kind == "store"
    flags = {p.unit.code: p.point.flag for p in chart.points}
    assert flags["STORE-E"] == ControlFlag.BELOW
    assert [p.unit.code for p in chart.outside] == ["STORE-E"]


def test_a_unit_under_k_and_the_one_hiding_it_are_shown_suppressed(
        stores: dict[str, Unit]) -> None:
    chart = consistency_chart(scope=SYSTEM, metric="nps", filters=MetricFilters(
        unit="NORTH", start=MARCH.start, end=MARCH.end))
    points = {p.unit.code: p.point for p in chart.points}
    assert points["STORE-F"].flag == ControlFlag.SUPPRESSED
    assert points["STORE-F"].value is None
    # North minus the other stores would give F away, so one more store is hidden too.
    hidden = [code for code, point in points.items() if point.flag == ControlFlag.SUPPRESSED]
    assert len(hidden) == 2


def test_the_centre_pools_only_the_units_shown(stores: dict[str, Unit]) -> None:
    chart = consistency_chart(scope=SYSTEM, metric="nps", filters=MetricFilters(
        unit="NORTH", start=MARCH.start, end=MARCH.end))
    shown = {p.unit.code for p in chart.points if p.point.value is not None}
    counts = {"STORE-A": NpsCounts(30, 10, 10), "STORE-B": NpsCounts(30, 10, 10),
              "STORE-C": NpsCounts(30, 10, 10), "STORE-D": NpsCounts(30, 10, 10),
              "STORE-E": NpsCounts(5, 5, 40)}
    expected = nps_control_chart({c: counts[c] for c in shown})
    assert chart.centre == pytest.approx(next(iter(expected.values())).centre)


def test_a_store_managers_chart_shows_nothing_of_the_other_stores(
        stores: dict[str, Unit], manager_a: Persona) -> None:
    chart = consistency_chart(scope=scope_for_user(manager_a.user), metric="nps",
                              filters=MetricFilters(start=MARCH.start, end=MARCH.end))
    assert chart.root.code == "STORE-A"
    assert chart.points == []
    assert chart.centre is None


def test_another_unit_is_refused(stores: dict[str, Unit], manager_a: Persona) -> None:
    with pytest.raises(ApplicationError) as refused:
        consistency_chart(scope=scope_for_user(manager_a.user), metric="nps",
                          filters=MetricFilters(unit="STORE-B"))
    assert refused.value.status == 403


def test_means_and_unknown_kinds_are_refused_naming_the_parameter(
        stores: dict[str, Unit]) -> None:
    with pytest.raises(ApplicationError) as mean:
        consistency_chart(scope=SYSTEM, metric="ces")
    assert mean.value.errors[0].loc == ("metric",)
    with pytest.raises(ApplicationError) as kind:
        consistency_chart(scope=SYSTEM, metric="nps", kind="planet")
    assert kind.value.errors[0].loc == ("kind",)


def test_the_api_gives_the_chart(stores: dict[str, Unit], admin: Persona) -> None:
    response = admin.api().get("/api/v1/dashboards/consistency",
                               {"metric": "nps", "unit": "NORTH", "from": "2025-03-01",
                                "to": "2025-03-31"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == "store"
    assert body["k"] == 5
    flags = {p["unit"]: p["flag"] for p in body["points"]}
    assert flags["STORE-E"] == "below"
    assert flags["STORE-F"] == "suppressed"
    assert next(p for p in body["points"] if p["unit"] == "STORE-F")["value"] is None
