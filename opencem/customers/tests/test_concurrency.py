"""Concurrent writers never make two customers for one identity or two records for one id."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from opencem.conftest import ApiClient
from opencem.customers.models import Customer, CustomerIdentity, Interaction
from opencem.customers.tests.factories import interaction_body

pytestmark = pytest.mark.postgres


@pytest.fixture
def concurrent(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database: run with PostgreSQL")


def _post_all(key: str, path: str, bodies: list[dict]) -> list[int]:
    def post(body: dict) -> int:
        try:
            return ApiClient(key).post_json(path, body).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(post, bodies))


def test_twenty_new_interactions_for_one_new_customer_make_one_customer(concurrent, admin):
    bodies = [interaction_body(email="rush@example.com") for _ in range(20)]
    statuses = _post_all(admin.key, "/api/v1/interactions", bodies)
    assert statuses == [201] * 20
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1
    assert CustomerIdentity.objects.count() == 1
    assert Interaction.objects.count() == 20


def test_the_same_record_sent_twenty_times_at_once_is_stored_once(concurrent, admin):
    body = interaction_body(external_id="SAME-1")
    statuses = _post_all(admin.key, "/api/v1/interactions", [body] * 20)
    assert sorted(statuses) == [200] * 19 + [201]
    assert Interaction.objects.count() == 1


def test_one_idempotency_key_sent_at_once_writes_once(concurrent, admin):
    body = interaction_body()

    def post(_: int) -> int:
        try:
            return ApiClient(admin.key).post_json("/api/v1/interactions", body,
                                                  HTTP_IDEMPOTENCY_KEY="same").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(16)))
    assert set(statuses) <= {200, 201}
    assert Interaction.objects.count() == 1
