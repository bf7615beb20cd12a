from __future__ import annotations

import pytest
from django.test import override_settings

from opencem.core.models import IdempotencyRecord
from opencem.core.ratelimit import hit
from opencem.core.services import idempotency_records_purge

pytestmark = pytest.mark.django_db


def test_nul_bytes_in_the_query_string_are_refused(admin):
    response = admin.api().get("/api/v1/customers?q=a%00b")
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]


@override_settings(OPENCEM_PUBLIC_RATE_LIMIT=3)
def test_sign_in_is_rate_limited_per_client(client, org):
    statuses = [client.post("/login/", {"username": "x", "password": "y"}).status_code
                for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert int(response["Retry-After"]) > 0


def test_health_endpoint_answers_without_signing_in(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_old_idempotency_records_are_purged(admin, settings):
    IdempotencyRecord.objects.create(user=admin.user, key="old", fingerprint="f",
                                     status_code=201, response_body="{}")
    IdempotencyRecord.objects.update(created_at="2020-01-01T00:00:00Z")
    IdempotencyRecord.objects.create(user=admin.user, key="new", fingerprint="f",
                                     status_code=201, response_body="{}")
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_a_rate_limit_counts_each_request_of_its_window_once(settings):
    decisions = [hit("test:client", limit=3, window_seconds=3600) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert 0 < decisions[-1].retry_after <= 3600
    assert hit("test:other-client", limit=3, window_seconds=3600).allowed
