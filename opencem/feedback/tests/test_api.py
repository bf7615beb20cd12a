from __future__ import annotations

import pytest

from opencem.core.models import OutboxEvent
from opencem.customers.models import Customer
from opencem.feedback.models import FeedbackItem, Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(admin):
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": "Relationship NPS", "unit": "ACME",
                                                "template": "relational_nps"}).json()
    api.post_json(f"/api/v1/surveys/{created['id']}/publish", {})
    return created["id"]


def _response(survey, **overrides):
    body = {"survey": survey, "answers": {"nps": 4, "reason": "Nobody answered the phone"},
            "unit": "STORE-A", "customer": {"email": "dee@example.com"},
            "touchpoint": "store_visit", "channel": "store"}
    body.update(overrides)
    return body


def test_a_response_is_stored_with_metric_columns_comment_and_events(admin, survey):
    response = admin.api().post_json("/api/v1/responses", _response(survey))
    assert response.status_code == 201, response.content
    stored = Response.objects.get()
    assert (stored.nps, stored.csat, stored.completed) == (4, None, True)
    assert stored.customer == Customer.objects.get()
    comment = FeedbackItem.objects.get()
    assert (comment.kind, comment.text, comment.rating, comment.rating_max) == (
        "survey", "Nobody answered the phone", 4, 10)
    topics = sorted(OutboxEvent.objects.values_list("topic", flat=True))
    assert topics == ["feedback.created", "response.completed", "response.created"]


def test_the_response_appears_on_the_customers_timeline(admin, survey):
    admin.api().post_json("/api/v1/responses", _response(survey))
    customer = Customer.objects.get()
    entries = admin.api().get(f"/api/v1/customers/{customer.pk}/timeline").json()["entries"]
    assert entries[0]["kind"] == "response"
    assert "NPS 4" in entries[0]["title"]


@pytest.mark.parametrize(("answers", "field"), [
    ({"nps": 11}, "answers.nps"),
    ({"nps": "10"}, "answers.nps"),
    ({"nps": True}, "answers.nps"),
    ({"nps": 10.5}, "answers.nps"),
    ({"reason": "no score"}, "answers.nps"),
    ({"nps": 9, "shoe": "42"}, "answers.shoe"),
    ({"nps": 9, "reason": "a\u0000b"}, "answers.reason"),
])
def test_bad_answers_are_refused_and_nothing_is_stored(admin, survey, answers, field):
    response = admin.api().post_json("/api/v1/responses", _response(survey, answers=answers))
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["error"]["errors"]]
    assert Response.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_an_unpublished_version_cannot_be_answered(admin, survey):
    response = admin.api().post_json("/api/v1/responses", _response(survey, version=7))
    assert response.status_code == 422
    assert response.json()["error"]["errors"][0]["field"] == "version"


def test_history_is_imported_once_with_original_timestamps(admin, survey):
    items = [_response(survey, external_id=f"old-{i}", source="oldplatform",
                       submitted_at=f"2025-0{i}-15T12:00:00Z", started_at=f"2025-0{i}-15T11:58:00Z")
             for i in range(1, 4)]
    first = admin.api().post_json("/api/v1/responses/batch", {"items": items}).json()
    again = admin.api().post_json("/api/v1/responses/batch", {"items": items}).json()
    assert (first["created"], again["created"], again["existing"]) == (3, 0, 3)
    assert sorted(r.submitted_at.month for r in Response.objects.all()) == [1, 2, 3]


def test_a_partial_response_skips_required_checks_and_is_not_completed(admin, survey):
    body = _response(survey, answers={"reason": "half way"}, complete=False)
    assert admin.api().post_json("/api/v1/responses", body).status_code == 201
    stored = Response.objects.get()
    assert (stored.completed, stored.submitted_at) == (False, None)
    assert list(OutboxEvent.objects.values_list("topic", flat=True).order_by("topic")) == [
        "feedback.created", "response.created"]


def test_a_review_joins_the_feedback_stream_once(admin):
    body = {"kind": "review", "text": "Great staff, slow tills", "rating": 4, "source": "reviews",
            "external_id": "R-1", "occurred_at": "2026-05-01T09:00:00Z", "unit": "STORE-A",
            "customer": {"email": "rev@example.com"}, "author": "R. Viewer"}
    first = admin.api().post_json("/api/v1/feedback", body)
    again = admin.api().post_json("/api/v1/feedback", body)
    assert (first.status_code, again.status_code) == (201, 200)
    item = FeedbackItem.objects.get()
    assert (item.rating, item.rating_max, item.kind) == (4, 5, "review")
    listed = admin.api().get("/api/v1/feedback", {"kind": "review"}).json()["items"]
    assert [i["text"] for i in listed] == ["Great staff, slow tills"]


@pytest.mark.parametrize(("override", "field"), [
    ({"rating": 6}, "rating"),
    ({"rating": "4"}, "rating"),
    ({"kind": "survey"}, "kind"),
    ({"text": "   "}, "text"),
    ({"unit": "NOPE"}, "unit"),
    ({"occurred_at": "2026-05-01T09:00:00"}, "occurred_at"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "data:text/html,<b>x</b>"}, "url"),
    ({"url": "www.example.com/review"}, "url"),
])
def test_bad_feedback_is_refused(admin, override, field):
    body = {"kind": "complaint", "text": "Parcel arrived broken", "source": "crm",
            "occurred_at": "2026-05-01T09:00:00Z", "unit": "STORE-A", **override}
    response = admin.api().post_json("/api/v1/feedback", body)
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["error"]["errors"]]
    assert FeedbackItem.objects.count() == 0


def test_a_manager_sees_only_their_units_responses_and_feedback(admin, manager_a, survey):
    api = admin.api()
    api.post_json("/api/v1/responses", _response(survey, unit="STORE-A"))
    api.post_json("/api/v1/responses", _response(survey, unit="STORE-B",
                                                 customer={"email": "b@example.com"}))
    mine = manager_a.api().get("/api/v1/responses").json()["items"]
    assert [r["unit"] for r in mine] == ["STORE-A"]
    texts = manager_a.api().get("/api/v1/feedback").json()["items"]
    assert [f["unit"] for f in texts] == ["STORE-A"]


def test_merging_customers_moves_their_responses(admin, survey):
    api = admin.api()
    api.post_json("/api/v1/responses", _response(survey, customer={"email": "m1@example.com"}))
    api.post_json("/api/v1/responses", _response(survey, customer={"phone": "+447700900777"}))
    one, two = Customer.objects.order_by("id").values_list("id", flat=True)
    merged = api.post_json(f"/api/v1/customers/{one}/merge", {"absorbed": two, "reason": "same"})
    assert merged.json()["moved"]["feedback"] == 2
    assert set(Response.objects.values_list("customer_id", flat=True)) == {one}


def _interaction(persona, unit):
    answer = persona.api().post_json("/api/v1/interactions", {
        "source": "pos", "external_id": f"T-{unit}", "channel": "store", "kind": "visit",
        "occurred_at": "2026-05-01T09:00:00Z", "unit": unit,
        "customer": {"email": "dee@example.com"}})
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def test_a_response_names_only_an_interaction_the_caller_can_see(admin, manager_a):
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": "Store A visits", "unit": "STORE-A",
                                                "template": "transactional_csat"}).json()
    api.post_json(f"/api/v1/surveys/{created['id']}/publish", {})
    survey = created["id"]
    own = _interaction(admin, "STORE-A")
    foreign = _interaction(admin, "STORE-B")
    for interaction in (foreign, 987654):
        refused = manager_a.api().post_json("/api/v1/responses", _response(
            survey, interaction=interaction, answers={"csat": 2}))
        assert refused.status_code == 422, refused.content
        assert refused.json()["error"]["errors"][0]["field"] == "interaction"
    assert Response.objects.count() == 0
    stored = manager_a.api().post_json("/api/v1/responses", _response(
        survey, interaction=own, answers={"csat": 2}))
    assert stored.status_code == 201, stored.content
    assert Response.objects.get().interaction_id == own


def test_a_batch_error_names_the_item_even_after_stored_ones(admin):
    def review(n, email):
        return {"kind": "review", "text": f"Review {n}", "source": "reviews",
                "external_id": f"R-{n}", "occurred_at": "2026-05-01T09:00:00Z",
                "unit": "STORE-A", "customer": {"email": email}}

    assert admin.api().post_json("/api/v1/feedback", review(0, "a@example.com")).status_code == 201
    batch = [review(0, "a@example.com"), review(1, "b@example.com"), review(2, "not an email")]
    refused = admin.api().post_json("/api/v1/feedback/batch", {"items": batch})
    assert refused.status_code == 422, refused.content
    assert refused.json()["error"]["errors"][0]["field"].startswith("items.2.customer")
    assert FeedbackItem.objects.count() == 1
