from __future__ import annotations

import pytest

from opencem.metrics.models import MetricTarget
from opencem.metrics.tests.factories import Answers, make_survey, record_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(org):
    survey, version = make_survey(org.company)
    record_many(version, [(org.store_a, Answers(nps=9, quality=4), None, True, "", "", None)]
                * 6)
    return survey


@pytest.mark.parametrize(("params", "field"), [
    ({}, "metric"),
    ({"metric": "happiness"}, "metric"),
    ({"metric": "nps", "from": "2025-02-30"}, "from"),
    ({"metric": "nps", "to": "yesterday"}, "to"),
    ({"metric": "nps", "from": "2025-05-01", "to": "2025-04-01"}, "from"),
    ({"metric": "nps", "from": "2001-01-01", "to": "2025-04-01"}, "from"),
    ({"metric": "nps", "group_by": "year"}, "group_by"),
    ({"metric": "nps", "group_by": "month,week"}, "group_by"),
    ({"metric": "nps", "group_by": "unit,unit"}, "group_by"),
    ({"metric": "nps", "group_by": "unit,month,channel,touchpoint"}, "group_by"),
    ({"metric": "nps", "unit": "STORE-Z"}, "unit"),
    ({"metric": "nps", "channel": "fax"}, "channel"),
    ({"metric": "nps", "touchpoint": "Front Desk"}, "touchpoint"),
    ({"metric": "nps", "survey": "9999"}, "survey"),
    ({"metric": "nps", "survey": "first"}, "survey"),
    ({"metric": "nps", "compare": "yesterday"}, "compare"),
    ({"metric": "nps", "question": "quality"}, "question"),
    ({"metric": "rating", "question": "quality"}, "survey"),
    ({"metric": "nps", "attribute_value": "gold"}, "attribute_value"),
    ({"metric": "nps", "group_by": "attribute"}, "attribute"),
    ({"metric": "nps", "attribute": "tier'; drop"}, "attribute"),
    ({"metric": "response_rate", "channel": "web"}, "channel"),
    ({"metric": "volume", "compare": "parent"}, "compare"),
    ({"metric": "volume", "compare": "target"}, "compare"),
])
def test_bad_parameters_are_refused_naming_the_parameter(admin, survey, params, field):
    response = admin.api().get("/api/v1/metrics", params)
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["error"]["errors"]]


def test_a_rating_needs_a_rating_question_of_its_survey(admin, survey):
    wrong = admin.api().get("/api/v1/metrics", {"metric": "rating", "survey": survey.pk,
                                                 "question": "reason"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["errors"][0]["field"] == "question"
    right = admin.api().get("/api/v1/metrics", {"metric": "rating", "survey": survey.pk,
                                                 "question": "quality", "from": "2025-03-01",
                                                 "to": "2025-03-31"})
    group = right.json()["groups"][0]
    assert (group["value"], group["n"]) == (4.0, 6)
    assert group["distribution"]["4"]["value"] == 100.0


@pytest.mark.parametrize(("body", "field"), [
    ({"unit": "STORE-A", "metric": "nps", "value": 101}, "value"),
    ({"unit": "STORE-A", "metric": "csat", "value": -1}, "value"),
    ({"unit": "STORE-A", "metric": "ces", "value": 8}, "value"),
    ({"unit": "STORE-A", "metric": "volume", "value": 100}, "metric"),
    ({"unit": "STORE-A", "metric": "mood", "value": 1}, "metric"),
    ({"unit": "STORE-Z", "metric": "nps", "value": 30}, "unit"),
    ({"unit": "STORE-A", "metric": "nps", "value": "high"}, "value"),
    ({"unit": "STORE-A", "metric": "nps"}, "value"),
])
def test_bad_targets_are_refused_and_nothing_is_stored(admin, org, body, field):
    response = admin.api().put("/api/v1/metrics/targets", body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["error"]["errors"]]
    assert not MetricTarget.objects.exists()


def test_a_target_is_set_replaced_and_removed(admin, org):
    api = admin.api()
    for value in (30, 35):
        response = api.put("/api/v1/metrics/targets",
                           {"unit": "NORTH", "metric": "nps", "value": value},
                           content_type="application/json")
        assert response.status_code == 200
    assert [(t["unit"], t["metric"], t["value"]) for t in
            api.get("/api/v1/metrics/targets").json()] == [("NORTH", "nps", 35.0)]
    removed = api.delete("/api/v1/metrics/targets?unit=NORTH&metric=nps")
    assert removed.status_code == 204
    assert api.get("/api/v1/metrics/targets").json() == []


def test_the_answer_names_its_unit_range_grouping_and_k(admin, survey):
    answer = admin.api().get("/api/v1/metrics", {"metric": "nps", "group_by": "unit,month",
                                                  "from": "2025-03-01", "to": "2025-03-31"})
    body = answer.json()
    assert {k: body[k] for k in ("metric", "unit", "from", "to", "group_by", "k")} == {
        "metric": "nps", "unit": "ACME", "from": "2025-03-01", "to": "2025-03-31",
        "group_by": ["unit", "month"], "k": 5}
    store = next(g for g in body["groups"] if g["key"]["unit"] == "STORE-A")
    assert (store["key"]["month"], store["value"], store["n"]) == ("2025-03-01", 100.0, 6)
    assert "comparison" not in store  # nothing was asked to be compared
    assert body["units"] == [
        {"code": "ACME", "name": "Acme Retail", "parent": None},
        {"code": "NORTH", "name": "North", "parent": "ACME"},
        {"code": "STORE-A", "name": "Store A", "parent": "NORTH"}]
