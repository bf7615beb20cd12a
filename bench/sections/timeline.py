"""Timeline: latency of ``GET /api/v1/customers/{id}/timeline`` for random customers against
the bare SQL query for the same page of rows, measured turn about in the same run."""

from __future__ import annotations

import os
import random
import time

from django.db import connection
from django.test import Client

from bench.framework import Context, Figure, percentile, section
from bench.sections.data import COMPANY
from bench.sections.import_interactions import load
from opencem.accounts.choices import Role
from opencem.accounts.selectors import unit_get_by_code
from opencem.accounts.services import apikey_create, membership_grant, user_create
from opencem.customers.models import Customer, Interaction

PAGE = 50


def _bearer() -> str:
    user = user_create(username="bench-timeline", email="bench@example.com")
    company = unit_get_by_code(COMPANY)
    assert company is not None
    membership_grant(user=user, unit=company, role=Role.ADMIN)
    return apikey_create(user=user, name="bench")[1]


@section("timeline")
def timeline_section(context: Context) -> list[Figure]:
    if not Interaction.objects.exists():  # run on its own: load the data untimed
        load(context, progress=False)
    requests = int(os.environ.get("BENCH_REQUESTS") or 500)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {_bearer()}")
    ids = list(Customer.objects.filter(merged_into__isnull=True).order_by("id")
               .values_list("id", flat=True))
    rng = random.Random(7)
    sample = [ids[rng.randrange(len(ids))] for _ in range(requests)]
    table = Interaction._meta.db_table
    query = (f"SELECT id, customer_id, unit_id, channel, kind, occurred_at, touchpoint, "
             f"attributes, value, source, external_id, created_at FROM {table} "
             f"WHERE customer_id = %s ORDER BY occurred_at DESC, id DESC LIMIT {PAGE + 1}")
    api: list[float] = []
    bare: list[float] = []
    with connection.cursor() as cursor:
        for n, customer_id in enumerate([*sample[:20], *sample]):
            started = time.perf_counter()
            response = client.get(f"/api/v1/customers/{customer_id}/timeline")
            api_seconds = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"timeline answered {response.status_code}: "
                                   f"{response.content[:200]!r}")
            started = time.perf_counter()
            cursor.execute(query, [customer_id])
            cursor.fetchall()
            bare_seconds = time.perf_counter() - started
            if n >= 20:  # the first twenty warm caches and connections
                api.append(api_seconds * 1000)
                bare.append(bare_seconds * 1000)
    return [
        Figure("timeline", f"p50 of {requests} requests", percentile(api, 50), "ms",
               baseline=percentile(bare, 50), higher_is_better=False),
        Figure("timeline", f"p95 of {requests} requests", percentile(api, 95), "ms",
               baseline=percentile(bare, 95), higher_is_better=False),
    ]
