"""Alert rules through the API and the pages: validation, scope, and the 30-day preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opencem.closedloop.models import AlertRule
from opencem.closedloop.tests.factories import DETRACTOR, make_survey, respond
from opencem.textanalytics.services import analysis_run_pending

pytestmark = pytest.mark.django_db

RULE = {"name": "Detractors", "unit": "ACME", "conditions": DETRACTOR,
        "actions": ["case", "email"], "priority": "high", "sla_hours": 24}


@pytest.fixture
def survey(org):
    return make_survey(unit=org.company)


def test_an_analyst_makes_reads_changes_and_removes_a_rule(admin):
    api = admin.api()
    made = api.post_json("/api/v1/alert-rules", RULE)
    assert made.status_code == 201, made.content
    rule = made.json()
    assert (rule["unit"], rule["needs_text"], rule["priority"]) == ("ACME", False, "high")
    changed = api.put(f"/api/v1/alert-rules/{rule['id']}", {**RULE, "sla_hours": 8},
                      content_type="application/json")
    assert changed.json()["sla_hours"] == 8
    assert [r["id"] for r in api.get("/api/v1/alert-rules").json()] == [rule["id"]]
    assert api.delete(f"/api/v1/alert-rules/{rule['id']}").status_code == 204
    assert AlertRule.objects.count() == 0


@pytest.mark.parametrize(("conditions", "field"), [
    ({"match": "all", "conditions": []}, "conditions.conditions"),
    ({"match": "all", "conditions": [{"field": "nps", "op": "in", "value": 6}]},
     "conditions.conditions.0"),
    ({"match": "all", "conditions": [{"field": "nps", "op": "lte", "value": "six"}]},
     "conditions.conditions.0"),
    ({"match": "all", "conditions": [{"field": "mood", "op": "eq", "value": "x"}]},
     "conditions.conditions.0"),
    ({"match": "all", "conditions": [{"field": "sentiment", "op": "eq", "value": "angry"}]},
     "conditions.conditions.0"),
    ({"match": "all", "conditions": [{"field": "unit", "op": "in", "value": ["NOPE"]}]},
     "conditions"),
])
def test_bad_conditions_are_refused_with_where_and_nothing_is_stored(admin, conditions, field):
    answer = admin.api().post_json("/api/v1/alert-rules", {**RULE, "conditions": conditions})
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"]["errors"][0]["field"].startswith(field)
    assert AlertRule.objects.count() == 0


def test_a_manager_may_not_make_rules(manager_a):
    answer = manager_a.api().post_json("/api/v1/alert-rules", {**RULE, "unit": "STORE-A"})
    assert answer.status_code == 403


def test_the_preview_counts_the_last_30_days_and_stores_nothing(admin, survey):
    api = admin.api()
    for i, nps in enumerate((1, 5, 6, 9, 10)):
        respond(api, survey.pk, nps=nps, email=f"p{i}@x.test")
    respond(api, survey.pk, nps=0, email="old@x.test",
            submitted_at=(timezone.now() - timedelta(days=40)).isoformat())
    answer = api.post_json("/api/v1/alert-rules/preview", {"unit": "ACME",
                                                           "conditions": DETRACTOR})
    assert answer.status_code == 200, answer.content
    preview = answer.json()
    assert (preview["fired"], preview["judged"], preview["responses"]) == (3, 5, 3)
    assert AlertRule.objects.count() == 0
    bad = api.post_json("/api/v1/alert-rules/preview", {"unit": "ACME", "conditions": {}})
    assert bad.status_code == 422


def test_the_preview_judges_text_conditions_on_what_text_analytics_stored(admin, survey):
    api = admin.api()
    respond(api, survey.pk, nps=9, reason="Lovely staff, quick and easy.", email="a@x.test")
    respond(api, survey.pk, nps=8, reason="The parcel never arrived and nobody answers the "
                                          "phone.", email="b@x.test")
    respond(api, survey.pk, nps=3, email="c@x.test")  # no comment: no sentiment to judge
    unhappy = {"match": "all", "conditions": [
        {"field": "sentiment", "op": "eq", "value": "negative"}]}

    def preview() -> dict:
        answer = api.post_json("/api/v1/alert-rules/preview", {"unit": "ACME",
                                                               "conditions": unhappy})
        assert answer.status_code == 200, answer.content
        return answer.json()

    assert (preview()["fired"], preview()["needs_text"]) == (0, True)  # nothing judged yet
    analysis_run_pending()
    assert (preview()["judged"], preview()["fired"], preview()["responses"]) == (3, 1, 1)


def test_the_rule_page_previews_and_saves(client, admin, survey):
    respond(admin.api(), survey.pk, nps=2)
    client.force_login(admin.user)
    assert client.get("/alerts/rules/new/").status_code == 200
    preview = client.post("/alerts/rules/preview", {
        "unit": str(admin.user.memberships.get().unit_id),
        "conditions": '{"match": "all", "conditions": [{"field": "nps", "op": "lte", '
                      '"value": 6}]}'})
    assert "Would have fired 1 time" in preview.content.decode()
    bad = client.post("/alerts/rules/new/", {"name": "X", "unit": str(
        admin.user.memberships.get().unit_id), "conditions": "{not json", "actions": ["case"],
        "priority": "normal", "sla_hours": "4"})
    assert bad.status_code == 422
    assert "not JSON" in bad.content.decode()
    saved = client.post("/alerts/rules/new/", {"name": "Angry <b>", "unit": str(
        admin.user.memberships.get().unit_id), "conditions": '{"match": "any", "conditions": '
        '[{"field": "keyword", "op": "in", "value": ["cancel"]}]}', "actions": ["case"],
        "priority": "normal", "sla_hours": "4", "active": "on"})
    assert saved.status_code == 302, saved.content.decode()
    page = client.get("/alerts/rules/").content.decode()
    assert "Angry &lt;b&gt;" in page
