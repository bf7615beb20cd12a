"""Faults with a real worker on PostgreSQL: a worker killed mid-flow and a Redis restarted
mid-flow lose nothing and fire nothing twice: every alert, case and mail row exists exactly
once and every mail arrives (a SIGKILL may repeat a mail it caught between the mail server's
acceptance and its mark, one per sender thread at most, with the same Message-ID)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from opencem.closedloop import mailer
from opencem.closedloop.models import Alert, Case, Notification
from opencem.closedloop.tests.factories import make_rule, make_survey, respond
from opencem.closedloop.tests.live import (
    PrivateRedis,
    Worker,
    broker,
    needs_postgres,
    smtp_server,
    wait_for,
)
from opencem.core.models import OutboxConsumption, OutboxEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")]

MANAGER = "manager_a@acme.test"


@pytest.fixture
def setup(org, admin, manager_a):
    needs_postgres()
    org.store_a.owner = manager_a.user
    org.store_a.save()
    make_rule(unit=org.company)
    return make_survey(unit=org.company)


def _all_done(total: int, inbox) -> bool:
    return (Notification.objects.filter(status="sent").count() == total
            and len({str(m["Message-ID"]) for m in inbox.to(MANAGER)}) >= total
            and not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists())


def _exactly_once(total: int, inbox, *, in_flight: int = 0) -> None:
    """Every alert, case and mail row exactly once, and every mail arrived. ``in_flight``:
    how many mails may have arrived twice — a process killed in the instant between the mail
    server's acceptance and the commit that marks the mail sent sends it again, with the same
    Message-ID (mail's own idempotency key); no outbox design can close that instant."""
    assert Alert.objects.count() == total
    assert Case.objects.count() == total
    assert Notification.objects.count() == total
    assert Notification.objects.exclude(status="sent").count() == 0
    mails = inbox.to(MANAGER)
    ids = Counter(str(m["Message-ID"]) for m in mails)
    assert len(ids) == total  # every alert's mail arrived
    assert set(ids) == {f"<notification-{pk}@testserver>"
                        for pk in Notification.objects.values_list("id", flat=True)}
    assert len(mails) - total <= in_flight, [i for i, n in ids.items() if n > 1]
    marks = Counter(OutboxConsumption.objects.filter(consumer="closedloop")
                    .values_list("event_id", flat=True))
    assert marks
    assert max(marks.values()) == 1


def test_a_worker_killed_mid_flow_loses_nothing_and_doubles_nothing(setup, admin):
    # Large enough that the worker, which settles a chunk of events in one transaction, is
    # still at it when the kill comes (asserted below).
    total = 240
    redis = PrivateRedis()
    redis.start()
    try:
        with smtp_server() as (inbox, port), broker(redis.url):
            worker = Worker(redis.url, port)
            worker.start()
            try:
                api = admin.api()
                respond(api, setup.pk, nps=0, email="first@example.com")
                wait_for(Case.objects.exists, "the worker's first case", worker)
                # One commit, one wake-up: the worker drains the burst in one task run.
                with transaction.atomic():
                    for i in range(1, total):
                        respond(api, setup.pk, nps=i % 7, email=f"k{i}@example.com")
                # Looked for often: the worker settles the burst a chunk at a time, and the
                # kill must come before its last chunk.
                wait_for(lambda: Case.objects.count() >= 5, "the burst under way", worker,
                         every=0.01)
                worker.kill()  # SIGKILL in the middle of the task
                assert Case.objects.count() < total, "the burst ended before the kill"
                worker.start()
                wait_for(lambda: _all_done(total, inbox), "every alert handled", worker)
                # Each sender thread of each of the worker's 2 processes may have had one mail
                # between the mail server's acceptance and its mark at the kill.
                _exactly_once(total, inbox, in_flight=2 * mailer.SENDERS)
            finally:
                worker.stop()
    finally:
        redis.stop()


def test_a_redis_restart_mid_flow_loses_nothing_and_doubles_nothing(setup, admin):
    first, down, after = 20, 3, 20
    redis = PrivateRedis()
    redis.start()
    try:
        with smtp_server() as (inbox, port), broker(redis.url):
            worker = Worker(redis.url, port)
            worker.start()
            try:
                api = admin.api()
                for i in range(first):
                    respond(api, setup.pk, nps=1, email=f"a{i}@example.com")
                redis.stop()  # every message queued there is gone
                for i in range(down):
                    # Committed and answered 201 though the broker is down.
                    respond(api, setup.pk, nps=2, email=f"d{i}@example.com")
                redis.start()
                for i in range(after):
                    respond(api, setup.pk, nps=3, email=f"b{i}@example.com")
                total = first + down + after
                wait_for(lambda: _all_done(total, inbox), "every alert handled", worker)
                _exactly_once(total, inbox)
            finally:
                worker.stop()
    finally:
        redis.stop()
