from __future__ import annotations

import pytest

from opencem.customers.models import Customer, Interaction
from opencem.customers.tests.factories import interaction_body

pytestmark = pytest.mark.django_db


def test_posting_an_interaction_creates_it_with_its_customer(admin):
    response = admin.api().post_json("/api/v1/interactions", interaction_body(
        external_id="T-1001", customer={"email": "Ann@Example.com "}))
    assert response.status_code == 201
    body = response.json()
    assert body["unit"] == "STORE-A"
    assert body["value"] == "59.90"
    customer = Customer.objects.get(pk=body["customer_id"])
    assert [(i.kind, i.value) for i in customer.identities.all()] == [("email", "ann@example.com")]


def test_the_same_source_and_external_id_returns_the_same_record(admin):
    body = interaction_body(external_id="T-1001")
    first = admin.api().post_json("/api/v1/interactions", body)
    again = admin.api().post_json("/api/v1/interactions", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Interaction.objects.count() == 1


def test_batch_with_one_bad_item_is_rejected_whole_naming_the_item(admin):
    items = [interaction_body(), interaction_body(unit="NO-SUCH-UNIT"), interaction_body()]
    response = admin.api().post_json("/api/v1/interactions/batch", {"items": items})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["errors"][0]["loc"] == ["items", 1, "unit"]
    assert "NO-SUCH-UNIT" in error["message"]
    assert Interaction.objects.count() == 0
    assert Customer.objects.count() == 0


def test_batch_stores_all_items_and_links_shared_customers(admin):
    items = [interaction_body(email="bo@example.com"), interaction_body(email="BO@example.com"),
             interaction_body(email=None)]
    response = admin.api().post_json("/api/v1/interactions/batch", {"items": items})
    assert response.status_code == 200
    assert response.json()["created"] == 3
    assert Customer.objects.count() == 1
    assert Interaction.objects.filter(customer__isnull=True).count() == 1


def test_a_key_cannot_write_to_a_unit_outside_its_scope(manager_a):
    response = manager_a.api().post_json("/api/v1/interactions",
                                         interaction_body(unit="STORE-B"))
    assert response.status_code == 403
    assert response.json()["error"]["errors"][0]["loc"] == ["unit"]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(("override", "field"), [
    ({"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at"),
    ({"occurred_at": "2026-03-01T10:00:00"}, "occurred_at"),
    ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ({"channel": "pigeon"}, "channel"),
    ({"kind": "Big Purchase!"}, "kind"),
    ({"value": "lots"}, "value"),
    ({"value": 1.234}, "value"),
    ({"attributes": ["not", "an", "object"]}, "attributes"),
    ({"attributes": {"note": "a\u0000b"}}, "attributes"),
    ({"external_id": "T\u00001"}, "external_id"),
    ({"surprise": True}, "surprise"),
    ({"customer": {"email": "not-an-email"}}, "customer.identities.0.email"),
    ({"customer": {"name": "No identity"}}, "customer"),
])
def test_bad_input_names_the_field_and_writes_nothing(admin, override, field):
    response = admin.api().post_json("/api/v1/interactions", interaction_body(**override))
    assert response.status_code == 422, response.content
    fields = [e["field"] for e in response.json()["error"]["errors"]]
    assert field in fields
    assert Interaction.objects.count() == 0


def test_malformed_json_is_a_clear_400(admin):
    response = admin.api().post("/api/v1/interactions", "{not json",
                                content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_an_oversized_body_is_refused_with_413(admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = interaction_body(attributes={"blob": "x" * 5000})
    response = admin.api().post_json("/api/v1/interactions", body)
    assert response.status_code == 413
    assert Interaction.objects.count() == 0


def test_a_batch_over_1000_items_is_refused(admin):
    items = [interaction_body() for _ in range(1001)]
    response = admin.api().post_json("/api/v1/interactions/batch", {"items": items})
    assert response.status_code == 422
    assert Interaction.objects.count() == 0


def test_idempotency_key_replays_the_first_answer(admin):
    api = admin.api()
    body = interaction_body()
    first = api.post_json("/api/v1/interactions", body, HTTP_IDEMPOTENCY_KEY="abc")
    second = api.post_json("/api/v1/interactions", body, HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()


def test_idempotency_key_with_another_body_is_422(admin):
    api = admin.api()
    api.post_json("/api/v1/interactions", interaction_body(), HTTP_IDEMPOTENCY_KEY="abc")
    response = api.post_json("/api/v1/interactions", interaction_body(),
                             HTTP_IDEMPOTENCY_KEY="abc")
    assert response.status_code == 422
    assert Interaction.objects.count() == 1


def test_requests_without_a_valid_key_are_401(org, client):
    assert client.get("/api/v1/customers").status_code == 401
    response = client.get("/api/v1/customers", HTTP_AUTHORIZATION="Bearer ocm_nope_nope")
    assert response.status_code == 401


def test_a_viewer_may_read_but_not_write(viewer):
    response = viewer.api().post_json("/api/v1/interactions", interaction_body())
    assert response.status_code == 403
    assert viewer.api().get("/api/v1/interactions").status_code == 200
