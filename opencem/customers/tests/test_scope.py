"""A manager of store A never sees store B's customers or interactions, by any path."""

from __future__ import annotations

import pytest
from django.utils import timezone

from opencem.accounts.choices import Role
from opencem.accounts.selectors import scope_for_user
from opencem.accounts.services import membership_grant, user_create
from opencem.core.errors import PermissionDenied
from opencem.customers.services import CustomerInput, InteractionInput, interactions_ingest
from opencem.customers.tests.factories import interaction_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores(admin):
    api = admin.api()
    a = api.post_json("/api/v1/interactions", interaction_body(
        unit="STORE-A", email="alice@example.com")).json()
    b = api.post_json("/api/v1/interactions", interaction_body(
        unit="STORE-B", email="bob@example.com")).json()
    shared_a = api.post_json("/api/v1/interactions", interaction_body(
        unit="STORE-A", email="sam@example.com")).json()
    shared_b = api.post_json("/api/v1/interactions", interaction_body(
        unit="STORE-B", email="sam@example.com")).json()
    return {"a": a, "b": b, "shared_a": shared_a, "shared_b": shared_b}


def test_manager_lists_only_customers_of_their_store(manager_a, two_stores):
    items = manager_a.api().get("/api/v1/customers").json()["items"]
    ids = {c["id"] for c in items}
    assert two_stores["a"]["customer_id"] in ids
    assert two_stores["shared_a"]["customer_id"] in ids
    assert two_stores["b"]["customer_id"] not in ids


def test_another_stores_customer_is_not_found_by_id_timeline_or_identity(manager_a, two_stores):
    api = manager_a.api()
    b_id = two_stores["b"]["customer_id"]
    assert api.get(f"/api/v1/customers/{b_id}").status_code == 404
    assert api.get(f"/api/v1/customers/{b_id}/timeline").status_code == 404
    assert api.get("/api/v1/customers", {"q": "bob@example.com"}).json()["items"] == []


def test_a_shared_customer_shows_only_the_managers_own_interactions(manager_a, two_stores):
    sam = two_stores["shared_a"]["customer_id"]
    entries = manager_a.api().get(f"/api/v1/customers/{sam}/timeline").json()["entries"]
    shown = [e["id"] for e in entries if e["kind"] == "interaction"]
    assert shown == [two_stores["shared_a"]["id"]]


def test_interaction_list_is_scoped(manager_a, manager_b, two_stores):
    mine = {i["id"] for i in manager_a.api().get("/api/v1/interactions").json()["items"]}
    theirs = {i["id"] for i in manager_b.api().get("/api/v1/interactions").json()["items"]}
    assert mine == {two_stores["a"]["id"], two_stores["shared_a"]["id"]}
    assert theirs == {two_stores["b"]["id"], two_stores["shared_b"]["id"]}


def test_filtering_by_a_foreign_unit_returns_nothing(manager_a, two_stores):
    api = manager_a.api()
    assert api.get("/api/v1/interactions", {"unit": "STORE-B"}).json()["items"] == []
    assert api.get("/api/v1/customers", {"unit": "STORE-B"}).json()["items"] == []


def test_units_endpoint_lists_only_the_managers_subtree(manager_a):
    codes = [u["code"] for u in manager_a.api().get("/api/v1/units").json()]
    assert codes == ["STORE-A"]


def test_resending_another_stores_record_reveals_nothing(manager_a, two_stores):
    response = manager_a.api().post_json("/api/v1/interactions", interaction_body(
        unit="STORE-A", external_id=two_stores["b"]["external_id"]))
    assert response.status_code == 409
    assert "bob" not in response.content.decode()


def test_outsider_sees_nothing(outsider, two_stores):
    api = outsider.api()
    assert api.get("/api/v1/customers").json()["items"] == []
    assert api.get("/api/v1/interactions").json()["items"] == []
    assert api.get(f"/api/v1/customers/{two_stores['a']['customer_id']}").status_code == 404


def test_manager_pages_show_only_their_customers(client, manager_a, two_stores):
    client.force_login(manager_a.user)
    listing = client.get("/customers/").content.decode()
    assert f"/customers/{two_stores['a']['customer_id']}/" in listing
    assert f"/customers/{two_stores['b']['customer_id']}/" not in listing
    assert client.get(f"/customers/{two_stores['b']['customer_id']}/").status_code == 404
    home = client.get("/").content.decode()
    assert "Store B" not in home


def test_region_manager_sees_both_stores(org, manager_a):
    region = user_create(username="region", password="pw")
    membership_grant(user=region, unit=org.north, role=Role.MANAGER)
    scope = scope_for_user(region)
    assert scope.sees_unit(org.store_a.pk)
    assert scope.sees_unit(org.store_b.pk)
    assert not scope.sees_unit(org.web.pk)


def test_service_refuses_writes_outside_scope(manager_a):
    scope = scope_for_user(manager_a.user)
    item = InteractionInput(source="pos", external_id="X1", channel="store", kind="visit",
                            occurred_at=timezone.now(),
                            unit="STORE-B", customer=CustomerInput((("email", "z@x.io"),)))
    with pytest.raises(PermissionDenied, match="outside your scope"):
        interactions_ingest(items=[item], scope=scope)


def test_exports_hold_only_the_managers_interactions(client, manager_a, two_stores):
    body = manager_a.api().get("/api/v1/interactions/export.csv")
    text = b"".join(body.streaming_content).decode()
    lines = text.strip().splitlines()
    assert lines[0].startswith("id,occurred_at,unit")
    assert len(lines) == 3
    assert "STORE-B" not in text
    client.force_login(manager_a.user)
    page = b"".join(client.get("/interactions/export.csv").streaming_content).decode()
    assert page == text
