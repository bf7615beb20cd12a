"""The filters and CSV exports of the responses and feedback endpoints: the same as the
pages offer, limited to the key's scope."""

from __future__ import annotations

import csv
import io

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(admin):
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": "Relationship NPS", "unit": "ACME",
                                                "template": "relational_nps"}).json()
    api.post_json(f"/api/v1/surveys/{created['id']}/publish", {})
    return created["id"]


def _respond(admin, survey, nps, reason, *, unit="STORE-A", complete=True):
    response = admin.api().post_json("/api/v1/responses", {
        "survey": survey, "answers": {"nps": nps, "reason": reason}, "unit": unit,
        "complete": complete})
    assert response.status_code == 201, response.content


def _voice(admin, text, *, source="crm", rating=None, unit="STORE-A"):
    body = {"kind": "review", "text": text, "source": source, "unit": unit,
            "occurred_at": "2026-05-01T09:00:00Z"}
    if rating is not None:
        body.update(rating=rating, rating_max=5)
    response = admin.api().post_json("/api/v1/feedback", body)
    assert response.status_code == 201, response.content


def _csv(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_responses_filter_by_score_band_completion_and_unit_subtree(admin, survey):
    _respond(admin, survey, 2, "low")
    _respond(admin, survey, 10, "high")
    _respond(admin, survey, 10, "high but unfinished", complete=False)
    _respond(admin, survey, 9, "web", unit="WEB")
    api = admin.api()

    def nps_of(**params):
        return sorted(r["nps"] for r in api.get("/api/v1/responses", params).json()["items"])

    assert nps_of(band="nps_detractor") == [2]
    assert nps_of(band="nps_promoter", completed="true") == [9, 10]
    assert nps_of(completed="false") == [10]
    assert nps_of(unit="NORTH") == [2, 10, 10]


def test_feedback_filters_by_source_and_rating(admin):
    _voice(admin, "crm five", rating=5)
    _voice(admin, "crm one", rating=1)
    _voice(admin, "google three", rating=3, source="google_reviews")
    api = admin.api()

    def texts(**params):
        return sorted(i["text"] for i in api.get("/api/v1/feedback", params).json()["items"])

    assert texts(source="crm") == ["crm five", "crm one"]
    assert texts(rating_from=3) == ["crm five", "google three"]
    assert texts(source="crm", rating_to=2) == ["crm one"]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/responses", {"band": "sort_of_happy"}, "band"),
    ("/api/v1/responses/export.csv", {"unit": "NOPE"}, "unit"),
    ("/api/v1/feedback", {"kind": "rumour"}, "kind"),
    ("/api/v1/feedback/export.csv", {"rating_from": "high"}, "rating_from"),
])
def test_bad_filters_are_refused_naming_the_field(admin, path, params, field):
    response = admin.api().get(path, params)
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["error"]["errors"]]


def test_the_exports_hold_only_the_keys_scope_and_neutralise_formulas(admin, manager_a,
                                                                      survey):
    _respond(admin, survey, 1, "=HYPERLINK(\"http://evil.example\")")
    _respond(admin, survey, 1, "store B", unit="STORE-B")
    _voice(admin, "@SUM(A1)")
    _voice(admin, "store B review", unit="STORE-B")
    responses = _csv(manager_a.api().get("/api/v1/responses/export.csv"))
    assert [r["comments"] for r in responses] == ["'=HYPERLINK(\"http://evil.example\")"]
    feedback = _csv(manager_a.api().get("/api/v1/feedback/export.csv"))
    assert sorted(r["text"] for r in feedback) == [
        "'=HYPERLINK(\"http://evil.example\")", "'@SUM(A1)"]
    assert len(_csv(admin.api().get("/api/v1/responses/export.csv",
                                    {"band": "nps_detractor"}))) == 2
