"""Fifty browsers submit one single-use link at the same moment: exactly one response is kept.

Only PostgreSQL has the row locks that make this true under real concurrency (SQLite queues
every writer behind one database lock, which proves nothing about the code), so on SQLite
the test is skipped.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from opencem.core.models import OutboxEvent
from opencem.feedback.models import Response
from opencem.surveys.models import InvitationStatus
from opencem.surveys.tests.test_public import definition, invite, published_survey

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SUBMITTERS = 50


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only exercised on PostgreSQL (DATABASE_URL=postgres://...)")


def test_fifty_simultaneous_submissions_of_one_link_keep_exactly_one_response(org, settings):
    settings.OPENCEM_PUBLIC_RATE_LIMIT = 10_000
    one_page = definition(questions=[definition()["questions"][0],
                                     {**definition()["questions"][1], "required": False}])
    survey = published_survey(org, name="One page", data=one_page)
    link = invite(org, survey)
    start = threading.Barrier(SUBMITTERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(score: int) -> None:
        try:
            start.wait()
            response = Client().post(link.url, {"page": "0", "q-nps": str(score),
                                                "q-reason": f"thread {score}"})
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()  # each thread has its own connection; give it back

    threads = [threading.Thread(target=submit, args=(i % 11,)) for i in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    counts = Counter(statuses)
    assert sum(counts.values()) == SUBMITTERS
    assert counts[302] == 1, counts  # the one that completed goes on to the thank-you page
    assert counts[409] == SUBMITTERS - 1, counts  # the rest are told it was answered
    assert Response.objects.count() == 1
    response = Response.objects.get()
    assert response.completed
    link.invitation.refresh_from_db()
    assert link.invitation.response_id == response.pk
    assert link.invitation.status == InvitationStatus.COMPLETED
    assert OutboxEvent.objects.filter(topic="response.completed").count() == 1
    assert OutboxEvent.objects.filter(topic="feedback.created").count() == 1
