from __future__ import annotations

import pytest

from opencem.customers.models import Customer, CustomerMerge, Interaction
from opencem.customers.tests.factories import interaction_body

pytestmark = pytest.mark.django_db


def test_upsert_creates_then_finds_the_customer_by_any_identity(admin):
    api = admin.api()
    created = api.post_json("/api/v1/customers", {"email": "ann@example.com", "name": "Ann"})
    assert created.status_code == 201
    again = api.post_json("/api/v1/customers", {"email": "ANN@example.com",
                                                "phone": "07700 900123",
                                                "attributes": {"tier": "gold"}})
    assert again.status_code == 200
    body = again.json()
    assert body["id"] == created.json()["id"]
    assert body["name"] == "Ann"
    assert body["attributes"] == {"tier": "gold"}
    assert {(i["kind"], i["value"]) for i in body["identities"]} == {
        ("email", "ann@example.com"), ("phone", "+447700900123")}


def test_a_record_sharing_identities_with_two_customers_merges_them_with_an_audit(admin):
    api = admin.api()
    web = api.post_json("/api/v1/interactions", interaction_body(
        unit="WEB", channel="web", customer={"email": "kim@example.com"})).json()
    store = api.post_json("/api/v1/interactions", interaction_body(
        customer={"loyalty_id": "L-77", "name": "Kim"})).json()
    assert web["customer_id"] != store["customer_id"]

    linked = api.post_json("/api/v1/customers", {"email": "kim@example.com",
                                                 "loyalty_id": " l-77 "})
    survivor = linked.json()["id"]
    assert survivor == min(web["customer_id"], store["customer_id"])
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {survivor}
    absorbed = Customer.objects.get(pk=max(web["customer_id"], store["customer_id"]))
    assert absorbed.merged_into_id == survivor
    merge = CustomerMerge.objects.get()
    assert merge.details["moved"]["interactions"] == 1
    assert linked.json()["name"] == "Kim"

    old = api.get(f"/api/v1/customers/{absorbed.pk}").json()
    assert old["id"] == survivor
    timeline = api.get(f"/api/v1/customers/{survivor}/timeline").json()["entries"]
    assert {e["kind"] for e in timeline} == {"interaction", "merge"}


def test_scoped_user_must_name_a_unit_of_theirs_when_upserting(manager_a):
    api = manager_a.api()
    missing = api.post_json("/api/v1/customers", {"email": "x@example.com"})
    assert missing.status_code == 422
    assert missing.json()["error"]["errors"][0]["field"] == "unit"
    foreign = api.post_json("/api/v1/customers", {"email": "x@example.com", "unit": "STORE-B"})
    assert foreign.status_code == 403
    ok = api.post_json("/api/v1/customers", {"email": "x@example.com", "unit": "STORE-A"})
    assert ok.status_code == 201
    assert api.get(f"/api/v1/customers/{ok.json()['id']}").status_code == 200
    assert Customer.objects.count() == 1


def test_timeline_pages_newest_first_without_gaps_or_repeats(admin):
    api = admin.api()
    items = [interaction_body(email="pat@example.com",
                              occurred_at=f"2026-01-{day:02d}T09:00:00Z") for day in range(1, 29)]
    items += [interaction_body(email="pat@example.com", occurred_at="2026-01-15T09:00:00Z")
              for _ in range(5)]
    api.post_json("/api/v1/interactions/batch", {"items": items})
    customer_id = Customer.objects.get().pk
    seen, cursor = [], None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = api.get(f"/api/v1/customers/{customer_id}/timeline", params).json()
        seen += page["entries"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 33
    assert len({e["id"] for e in seen}) == 33
    times = [e["occurred_at"] for e in seen]
    assert times == sorted(times, reverse=True)


def test_list_endpoints_paginate_and_filter(admin):
    api = admin.api()
    items = [interaction_body(email=f"c{i}@example.com", channel="web" if i % 2 else "store")
             for i in range(12)]
    api.post_json("/api/v1/interactions/batch", {"items": items})
    first = api.get("/api/v1/customers", {"limit": 5}).json()
    second = api.get("/api/v1/customers", {"limit": 5, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == len(second["items"]) == 5
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}
    web = api.get("/api/v1/interactions", {"channel": "web", "limit": 100}).json()["items"]
    assert len(web) == 6
    assert api.get("/api/v1/customers", {"q": "C3@EXAMPLE.COM"}).json()["items"][0][
        "identities"] == [{"kind": "email", "value": "c3@example.com"}]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 500}, {"cursor": "garbage!"}])
def test_bad_paging_parameters_are_422(admin, params):
    response = admin.api().get("/api/v1/interactions", params)
    assert response.status_code == 422


def test_openapi_schema_and_docs_are_served(client, org):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/interactions/batch" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_an_admin_merges_two_records_by_hand_and_the_merge_is_audited(admin):
    api = admin.api()
    one = api.post_json("/api/v1/customers", {"email": "lee@example.com"}).json()["id"]
    two = api.post_json("/api/v1/customers", {"phone": "+447700900555"}).json()["id"]
    response = api.post_json(f"/api/v1/customers/{one}/merge",
                             {"absorbed": two, "reason": "same person, confirmed on the phone"})
    assert response.status_code == 200
    assert response.json()["moved"]["identities"] == 1
    merge = CustomerMerge.objects.get()
    assert (merge.survivor_id, merge.absorbed_id, merge.actor) == (one, two, admin.user)
    again = api.post_json(f"/api/v1/customers/{one}/merge", {"absorbed": two, "reason": "x"})
    assert again.status_code == 422


def test_a_store_manager_may_not_merge_customers(manager_a):
    api = manager_a.api()
    one = api.post_json("/api/v1/customers", {"email": "a@example.com", "unit": "STORE-A"})
    two = api.post_json("/api/v1/customers", {"email": "b@example.com", "unit": "STORE-A"})
    response = api.post_json(f"/api/v1/customers/{one.json()['id']}/merge",
                             {"absorbed": two.json()["id"], "reason": "same"})
    assert response.status_code == 403
    assert CustomerMerge.objects.count() == 0
