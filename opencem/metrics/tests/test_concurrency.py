"""Concurrent writers of the same rollup rows add up, none overwriting another."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.db import connection, connections
from django.utils import timezone

from opencem.metrics.models import DailyRollup, MonthlyUnitRollup, PendingRollup, RatingRollup
from opencem.metrics.rebuild import rollups_verify
from opencem.metrics.rollups import rollups_fold
from opencem.metrics.tests.factories import (
    Answers,
    make_survey,
    record_many,
    save,
    start,
    submit,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def concurrent(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database: run with PostgreSQL")


def test_responses_recorded_at_once_for_one_store_and_day_are_all_counted(concurrent, org):
    _, version = make_survey(org.company)
    at = datetime(2025, 3, 10, 12, tzinfo=UTC)

    def write(i: int) -> None:
        try:
            # Batches in both orders of two stores, so row locks are taken in every order.
            units = [org.store_a, org.store_b] if i % 2 else [org.store_b, org.store_a]
            record_many(version, [(unit, Answers(nps=i % 11), at, True, "", "", None)
                                  for unit in units])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(40)))
    assert sum(DailyRollup.objects.values_list("completed", flat=True)) == 80
    assert MonthlyUnitRollup.objects.get(unit=org.store_a).responses == 40
    assert rollups_verify().ok


def test_responses_completed_at_once_move_their_scores_exactly_once(concurrent, org):
    _, version = make_survey(org.company)
    opened = [start(version, org.store_a) for _ in range(16)]

    def complete(response_id: int) -> None:
        try:
            save(response_id, Answers(nps=10), complete=True)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(complete, opened))
    row = DailyRollup.objects.get()
    assert (row.responses, row.completed, row.nps_10) == (16, 16, 16)
    assert rollups_verify().ok


def test_answers_submitted_at_once_alongside_recorded_ones_are_all_counted(concurrent, org):
    # A submission leaves its counts pending and the relay folds them in (at once, in the
    # submitting thread, where Celery is eager); folds and recorded batches take the same
    # counter rows in the same order, so none waits for another forever.
    _, version = make_survey(org.company)
    now = timezone.now()  # both kinds of write count on the same day's rows

    def write(i: int) -> None:
        try:
            if i % 2:
                submit(version, org.store_a, Answers(nps=i % 11, quality=3), channel="web")
            else:
                record_many(version, [(org.store_a, Answers(nps=i % 11, quality=3), now,
                                       True, "", "web", None)])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(48)))
    assert MonthlyUnitRollup.objects.get(unit=org.store_a).completed == 48
    assert rollups_verify().ok


def test_folds_running_at_once_add_every_pending_count_exactly_once(concurrent, org,
                                                                    monkeypatch):
    # Submissions whose relay has not run yet, then relays of several workers at once, some
    # folding a few rows per transaction: each row is claimed by one of them.
    monkeypatch.setattr("opencem.core.relay._send_wake", lambda: None)
    _, version = make_survey(org.company)
    for i in range(60):
        submit(version, (org.store_a, org.store_b)[i % 2], Answers(nps=i % 11, quality=1 + i % 5),
               channel="web")
    assert PendingRollup.objects.count() == 60

    def fold(i: int) -> int:
        try:
            return rollups_fold(limit=3 + i % 4)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        folded = sum(pool.map(fold, range(6)))
    assert folded == 60
    assert not PendingRollup.objects.exists()
    assert sum(DailyRollup.objects.values_list("completed", flat=True)) == 60
    assert MonthlyUnitRollup.objects.get(unit=org.store_a).nps_10 == 3
    assert sum(RatingRollup.objects.values_list("count", flat=True)) == 60
    assert rollups_verify().ok
