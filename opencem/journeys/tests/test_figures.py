"""The journey map's figures: each touchpoint's volume, actual score with its interval (the
metrics app's), the gap to target and whether it is significant, within the viewer's scope
and the anonymity rules; the emotion curve and the gap ranking."""

from __future__ import annotations

from datetime import date

import pytest

from opencem.conftest import Org, Persona
from opencem.journeys.models import Touchpoint
from opencem.journeys.selectors import journey_figures, journey_stages, window_of
from opencem.journeys.services import touchpoint_update
from opencem.journeys.tests.factories import (
    SYSTEM,
    WINDOW,
    contact,
    make_journey,
    make_survey,
    respond,
)
from opencem.metrics.scores import ScaleCounts, csat, nps
from opencem.textanalytics.services import analysis_run_pending

pytestmark = pytest.mark.django_db


def _cards(persona: Persona, journey_id: int) -> dict:
    response = persona.api().get(f"/api/v1/journeys/{journey_id}/metrics?{WINDOW}")
    assert response.status_code == 200, response.content
    return response.json()


def test_each_card_has_volume_actual_with_its_interval_and_gap(data: Org,
                                                               admin: Persona) -> None:
    journey = make_journey()
    body = _cards(admin, journey.pk)
    cards = {c["name"]: c for c in body["touchpoints"]}
    checkout = cards["Store checkout"]
    expected = csat(ScaleCounts(1, 5, (0, 10, 0, 0, 10)))
    assert checkout["volume"] == 20
    assert checkout["actual"]["n"] == 20
    assert checkout["actual"]["value"] == pytest.approx(expected.value)
    assert checkout["actual"]["low"] == pytest.approx(expected.low)
    assert checkout["actual"]["high"] == pytest.approx(expected.high)
    assert checkout["gap"] == pytest.approx(-30.0)
    assert checkout["significant"] is True

    delivery = cards["Delivery"]
    assert delivery["actual"]["value"] == pytest.approx(500 / 6)
    assert delivery["gap"] == pytest.approx(500 / 6 - 85)
    assert delivery["significant"] is False

    relationship = cards["Relationship"]
    assert relationship["volume"] == 0
    assert relationship["actual"]["value"] == pytest.approx(
        nps(ScaleCounts(0, 10, (0,) * 10 + (10,))).value)
    assert relationship["gap"] == pytest.approx(70.0)
    assert cards["Browse"]["actual"] == {"value": None, "n": 0, "low": None, "high": None,
                                         "small_sample": True, "suppressed": True}


def test_a_touchpoint_under_k_shows_no_score_and_no_gap(data: Org, admin: Persona) -> None:
    journey = make_journey()
    call = next(c for c in _cards(admin, journey.pk)["touchpoints"]
                if c["name"] == "Support call")
    assert call["volume"] == 3
    assert call["actual"]["n"] == 3
    assert call["actual"]["suppressed"] is True
    assert call["actual"]["value"] is None
    assert call["gap"] is None
    assert call["significant"] is False
    assert call["priority"] == 0


def test_a_manager_gets_figures_from_their_own_store_only(
        data: Org, manager_a: Persona, manager_b: Persona) -> None:
    journey = make_journey()
    mine = {c["name"]: c for c in _cards(manager_a, journey.pk)["touchpoints"]}
    assert mine["Store checkout"]["actual"]["n"] == 20
    assert mine["Delivery"]["actual"]["n"] == 0
    assert mine["Relationship"]["actual"]["n"] == 0
    theirs = {c["name"]: c for c in _cards(manager_b, journey.pk)["touchpoints"]}
    assert theirs["Store checkout"]["volume"] == 0
    assert theirs["Store checkout"]["actual"]["n"] == 0


def test_remapping_on_an_attribute_counts_only_the_matching_interactions(
        data: Org, admin: Persona) -> None:
    journey = make_journey()
    delivery = Touchpoint.objects.get(stage__journey=journey, name="Delivery")
    touchpoint_update(scope=SYSTEM, touchpoint_id=delivery.pk, changes={
        "rule": {"kinds": ["delivery"], "attributes": {"late": True}}})
    card = next(c for c in _cards(admin, journey.pk)["touchpoints"] if c["name"] == "Delivery")
    assert card["volume"] == 2
    assert card["actual"]["n"] == 2


def test_the_gap_ranking_weighs_importance_shortfall_and_reach(data: Org,
                                                               admin: Persona) -> None:
    journey = make_journey()
    body = _cards(admin, journey.pk)
    cards = {c["touchpoint"]: c for c in body["touchpoints"]}
    ranked = [cards[i]["name"] for i in body["gaps"]]
    assert ranked == ["Store checkout", "Delivery"]
    checkout = cards[body["gaps"][0]]
    assert checkout["shortfall"] == pytest.approx(30.0)
    assert checkout["priority"] == pytest.approx(3 * 30.0 * 20)
    delivery = cards[body["gaps"][1]]
    assert delivery["priority"] == pytest.approx(2 * (85 - 500 / 6) * 6)


def test_the_emotion_curve_puts_each_stage_on_one_scale(data: Org, admin: Persona) -> None:
    journey = make_journey()
    curve = {p["stage"]: p for p in _cards(admin, journey.pk)["emotion"]}
    assert list(curve) == ["Discover", "Buy", "Receive", "Get help", "Renew"]
    # CSAT 50% is the middle of 0..100 → 0; the target 80% → 60.
    assert curve["Buy"]["measured"] == pytest.approx(0.0)
    assert curve["Buy"]["desired"] == pytest.approx(60.0)
    assert curve["Buy"]["emotion"] == pytest.approx(0.0)
    # NPS 100 is the top of −100..100.
    assert curve["Renew"]["measured"] == pytest.approx(100.0)
    assert curve["Discover"]["measured"] is None
    assert curve["Get help"]["measured"] is None  # its only touchpoint is under k


def test_one_touchpoints_metrics_and_a_bad_window(data: Org, admin: Persona) -> None:
    journey = make_journey()
    checkout = Touchpoint.objects.get(stage__journey=journey, name="Store checkout")
    api = admin.api()
    one = api.get(f"/api/v1/touchpoints/{checkout.pk}/metrics?{WINDOW}")
    assert one.status_code == 200
    assert one.json()["stage"] == "Buy"
    assert one.json()["actual"]["n"] == 20
    bad = api.get(f"/api/v1/journeys/{journey.pk}/metrics?from=2025-06-01&to=2025-01-01")
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["field"] == "from"


def test_the_figures_take_four_queries_whatever_the_number_of_touchpoints(
        data: Org, django_assert_max_num_queries: object) -> None:
    journey = make_journey()
    stages = journey_stages(journey)
    with django_assert_max_num_queries(5):  # type: ignore[operator]
        figures = journey_figures(scope=SYSTEM, journey=journey, stages=stages,
                                  window=window_of(date(2025, 1, 1), date(2025, 6, 30)))
    assert len(figures) == 5


def test_a_card_says_what_its_comments_say_once_k_of_them_are_analysed(
        org: Org, admin: Persona) -> None:
    _, version = make_survey(org.company)
    for i in range(6):
        ref = contact(org.web, kind="delivery", channel="delivery",
                      email=f"late{i}@example.com")
        respond(version, org.web, csat=1, interaction_id=ref,
                comment="The parcel arrived late and the driver was rude.")
    for i in range(3):  # three call comments: under k
        ref = contact(org.company, kind="call", channel="call_centre",
                      email=f"queue{i}@example.com")
        respond(version, org.company, csat=2, interaction_id=ref,
                comment="I waited forty minutes on hold.")
    analysis_run_pending()
    cards = {c["name"]: c for c in _cards(admin, make_journey().pk)["touchpoints"]}
    delivery = cards["Delivery"]["voice"]
    assert delivery["analysed"] == 6
    assert delivery["negative"] == 6
    assert delivery["net_sentiment"] == -100.0
    assert "delivery" in {t["category"].lower() for t in delivery["themes"]}
    assert cards["Support call"]["voice"] is None
    assert cards["Store checkout"]["voice"] is None
