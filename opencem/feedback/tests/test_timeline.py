"""Responses and feedback on the customer's 360 page, in the customer's own words."""

from __future__ import annotations

import pytest

from opencem.customers.models import Customer

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def survey(admin):
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": "Relationship NPS", "unit": "ACME",
                                                "template": "relational_nps"}).json()
    api.post_json(f"/api/v1/surveys/{created['id']}/publish", {})
    return created["id"]


def _360(client, persona) -> str:
    client.force_login(persona.user)
    customer = Customer.objects.get()
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_360_shows_a_responses_score_and_reason_escaped(client, admin, manager_a, survey):
    posted = admin.api().post_json("/api/v1/responses", {
        "survey": survey, "answers": {"nps": 4, "reason": f"Rude {SCRIPT} staff"},
        "unit": "STORE-A", "customer": {"email": "dee@example.com"}})
    assert posted.status_code == 201, posted.content
    page = _360(client, manager_a)
    assert "Answered “Relationship NPS” · NPS 4" in page
    assert "Rude &lt;script&gt;alert(1)&lt;/script&gt; staff" in page
    assert SCRIPT not in page


def test_the_360_shows_the_text_of_other_feedback_escaped(client, admin, manager_a):
    posted = admin.api().post_json("/api/v1/feedback", {
        "kind": "review", "text": f"Great <b>shop</b> {SCRIPT}", "title": "Five stars",
        "rating": 5, "source": "reviews", "occurred_at": "2026-03-01T10:00:00Z",
        "unit": "STORE-A", "customer": {"email": "dee@example.com"}})
    assert posted.status_code == 201, posted.content
    page = _360(client, manager_a)
    assert "Five stars" in page
    assert "Great &lt;b&gt;shop&lt;/b&gt; &lt;script&gt;" in page


def test_a_manager_of_another_store_sees_neither(client, admin, manager_b, survey):
    admin.api().post_json("/api/v1/responses", {
        "survey": survey, "answers": {"nps": 4, "reason": "Slow"}, "unit": "STORE-A",
        "customer": {"email": "dee@example.com"}})
    client.force_login(manager_b.user)
    assert client.get(f"/customers/{Customer.objects.get().pk}/").status_code == 404
