"""Journeys, stages and touchpoints through the API: designing, reading within scope,
refusing bad input with the one error shape (and changing nothing), export and import."""

from __future__ import annotations

import pytest

from opencem.conftest import Org, Persona
from opencem.journeys.models import Journey, Stage, Touchpoint
from opencem.journeys.tests.factories import journey_doc, make_journey

pytestmark = pytest.mark.django_db


def _names(body: dict) -> list[tuple[str, list[str]]]:
    return [(s["name"], [t["name"] for t in s["touchpoints"]]) for s in body["stages"]]


def test_an_admin_designs_a_journey_stage_by_stage(admin: Persona) -> None:
    api = admin.api()
    created = api.post_json("/api/v1/journeys", {"name": "Online", "unit": "ACME",
                                                  "persona": "Busy parent"})
    assert created.status_code == 201, created.content
    journey_id = created.json()["id"]
    for name in ("Buy", "Receive"):
        assert api.post_json(f"/api/v1/journeys/{journey_id}/stages",
                             {"name": name}).status_code == 201
    first = api.post_json(f"/api/v1/journeys/{journey_id}/stages",
                          {"name": "Discover", "position": 0})
    assert [s["name"] for s in first.json()["stages"]] == ["Discover", "Buy", "Receive"]
    buy = first.json()["stages"][1]["id"]
    tp = api.post_json(f"/api/v1/stages/{buy}/touchpoints", {"touchpoint": {
        "name": "Checkout", "channel": "web", "owner_unit": "WEB",
        "rule": {"kinds": ["order"], "attributes": {"express": True}},
        "metric": "csat", "target": 80, "desired": "Pays in a minute", "importance": 2}})
    assert tp.status_code == 201, tp.content
    assert tp.json()["rule"]["attributes"] == {"express": True}
    assert tp.json()["owner_unit"] == "WEB"

    renamed = api.patch(f"/api/v1/stages/{buy}", {"name": "Purchase", "position": 2},
                        content_type="application/json")
    assert _names(renamed.json()) == [("Discover", []), ("Receive", []),
                                      ("Purchase", ["Checkout"])]


def test_a_touchpoint_is_renamed_remapped_and_moved_to_another_stage(admin: Persona) -> None:
    journey = make_journey()
    api = admin.api()
    tp = Touchpoint.objects.get(stage__journey=journey, name="Support call")
    discover = Stage.objects.get(journey=journey, name="Discover")
    response = api.patch(f"/api/v1/touchpoints/{tp.pk}", {
        "changes": {"name": "Call us", "rule": {"kinds": ["call"], "channels": ["call_centre"]}},
        "stage": discover.pk, "position": 0}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = api.get(f"/api/v1/journeys/{journey.pk}").json()
    assert _names(body)[0] == ("Discover", ["Call us", "Browse"])
    assert _names(body)[3] == ("Get help", [])
    assert body["stages"][0]["touchpoints"][0]["rule"]["channels"] == ["call_centre"]
    assert [t["position"] for t in body["stages"][0]["touchpoints"]] == [0, 1]


def test_deleting_a_stage_closes_the_gap_in_positions(admin: Persona) -> None:
    journey = make_journey()
    buy = Stage.objects.get(journey=journey, name="Buy")
    assert admin.api().delete(f"/api/v1/stages/{buy.pk}").status_code == 204
    assert list(journey.stages.values_list("name", "position")) == [
        ("Discover", 0), ("Receive", 1), ("Get help", 2), ("Renew", 3)]
    assert not Touchpoint.objects.filter(name="Store checkout").exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"rule": {}}, "rule"),
    ({"rule": {"kinds": ["call"], "attributes": {"Bad Key": 1}}}, "rule.attributes"),
    ({"rule": {"channels": ["pigeon"]}}, "rule.channels.0"),
    ({"metric": "csat", "target": 120}, "target"),
    ({"metric": "nps", "target": -101}, "target"),
    ({"owner_unit": "NOWHERE"}, "owner_unit"),
    ({"importance": 0}, "importance"),
])
def test_a_bad_touchpoint_change_is_refused_and_nothing_changes(
        admin: Persona, change: dict, field: str) -> None:
    journey = make_journey()
    tp = Touchpoint.objects.get(stage__journey=journey, name="Support call")
    before = (tp.rule, tp.target, tp.owner_unit_id, tp.importance, tp.metric)
    response = admin.api().patch(f"/api/v1/touchpoints/{tp.pk}", {"changes": change},
                                 content_type="application/json")
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["errors"][0]["field"].startswith(field)
    tp.refresh_from_db()
    assert (tp.rule, tp.target, tp.owner_unit_id, tp.importance, tp.metric) == before


def test_a_manager_reads_the_company_journey_but_may_not_change_it(
        manager_a: Persona, outsider: Persona) -> None:
    journey = make_journey()
    api = manager_a.api()
    assert [j["name"] for j in api.get("/api/v1/journeys").json()] == ["Retail"]
    assert api.get(f"/api/v1/journeys/{journey.pk}").status_code == 200
    refused = api.patch(f"/api/v1/journeys/{journey.pk}", {"name": "Mine"},
                        content_type="application/json")
    assert refused.status_code == 403
    assert api.post_json(f"/api/v1/journeys/{journey.pk}/stages",
                         {"name": "X"}).status_code == 403
    assert outsider.api().get(f"/api/v1/journeys/{journey.pk}").status_code == 404
    assert outsider.api().get("/api/v1/journeys").json() == []
    journey.refresh_from_db()
    assert journey.name == "Retail"


def test_a_store_journey_is_not_seen_from_the_other_store(
        org: Org, manager_a: Persona, manager_b: Persona) -> None:
    journey = make_journey("STORE-A", name="Store A visit")
    assert manager_a.api().get(f"/api/v1/journeys/{journey.pk}").status_code == 200
    assert manager_b.api().get(f"/api/v1/journeys/{journey.pk}").status_code == 404


def test_export_then_import_gives_the_same_journey(admin: Persona) -> None:
    journey = make_journey()
    api = admin.api()
    document = api.get(f"/api/v1/journeys/{journey.pk}/export").json()
    assert document["format"] == "opencem.journey/1"
    assert document["stages"][1]["touchpoints"][0]["rule"] == {
        "kinds": ["purchase"], "channels": ["store"], "touchpoints": [], "attributes": {}}
    copy = api.post_json("/api/v1/journeys/import",
                         {"document": {**document, "name": "Retail copy"}})
    assert copy.status_code == 201, copy.content
    again = api.get(f"/api/v1/journeys/{copy.json()['id']}/export").json()
    assert again == {**document, "name": "Retail copy"}


def test_an_import_with_one_bad_touchpoint_stores_nothing(admin: Persona) -> None:
    doc = journey_doc()
    doc["stages"][2]["touchpoints"][0]["owner_unit"] = "MOON"
    response = admin.api().post_json("/api/v1/journeys/import", {"document": doc})
    assert response.status_code == 422
    assert response.json()["error"]["errors"][0]["field"] == "stages.2.touchpoints.0.owner_unit"
    assert not Journey.objects.exists()
    assert not Stage.objects.exists()


def test_import_replaces_the_stages_of_an_existing_journey(admin: Persona) -> None:
    journey = make_journey()
    doc = journey_doc(stages=[{"name": "Only", "touchpoints": []}])
    response = admin.api().post_json("/api/v1/journeys/import",
                                     {"document": doc, "replace": journey.pk})
    assert response.status_code == 201
    assert _names(response.json()) == [("Only", [])]
    assert Journey.objects.count() == 1


def test_two_journeys_of_one_unit_may_not_share_a_name(admin: Persona) -> None:
    make_journey()
    response = admin.api().post_json("/api/v1/journeys", {"name": "Retail", "unit": "ACME"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_a_segment_needs_a_plain_attribute_name_and_a_value(admin: Persona) -> None:
    api = admin.api()
    bad = api.post_json("/api/v1/journeys", {"name": "Trade", "unit": "ACME",
                                             "segment_attribute": "seg'ment",
                                             "segment_value": "trade"})
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["field"] == "segment_attribute"
    half = api.post_json("/api/v1/journeys", {"name": "Trade", "unit": "ACME",
                                              "segment_attribute": "segment"})
    assert half.status_code == 422
    assert not Journey.objects.exists()
