"""The outbox relay: each consumer handles each event once, with what it writes committed
together with its mark; failures back off; events no consumer wants are settled in bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opencem.core import relay
from opencem.core.models import IdempotencyRecord, OutboxConsumption, OutboxEvent
from opencem.core.services import outbox_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(monkeypatch, admin):
    """A consumer of ``test.topic`` that writes a row per event (an idempotency record)."""
    handled: list[int] = []

    def handle(event: relay.Event) -> None:
        handled.append(event.id)
        IdempotencyRecord.objects.create(user=admin.user, key=f"event-{event.id}",
                                         fingerprint="f", status_code=200, response_body="{}")
        if event.payload.get("fail"):
            raise RuntimeError("consumer failed")

    monkeypatch.setattr(relay, "_consumers", dict(relay._consumers))
    relay.register_consumer(relay.Consumer("test", frozenset({"test.topic"}), handle))
    return handled


def test_one_failing_event_does_not_hold_back_the_others_in_its_chunk(seen):
    good = outbox_emit(topic="test.topic", payload={})
    bad = outbox_emit(topic="test.topic", payload={"fail": True})
    later = outbox_emit(topic="test.topic", payload={})
    assert relay.outbox_drain() == 2
    assert set(OutboxConsumption.objects.values_list("event_id", flat=True)) == {good.pk,
                                                                                later.pk}
    assert IdempotencyRecord.objects.count() == 2
    bad.refresh_from_db()
    assert (bad.dispatched_at, bad.attempts) == (None, 1)


def test_each_event_is_handled_once_and_marked(seen):
    first = outbox_emit(topic="test.topic", payload={"n": 1})
    second = outbox_emit(topic="test.topic", payload={"n": 2})
    assert relay.outbox_drain() == 2
    assert relay.outbox_drain() == 0
    assert seen == [first.pk, second.pk]
    assert OutboxConsumption.objects.filter(consumer="test").count() == 2
    assert IdempotencyRecord.objects.count() == 2
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_a_failure_rolls_back_what_the_consumer_wrote_and_backs_off(seen):
    event = outbox_emit(topic="test.topic", payload={"fail": True})
    assert relay.outbox_drain() == 0
    event.refresh_from_db()
    assert (event.attempts, event.dispatched_at) == (1, None)
    assert "consumer failed" in event.last_error
    assert event.next_attempt_at > timezone.now() + timedelta(seconds=5)
    assert IdempotencyRecord.objects.count() == 0
    assert not OutboxConsumption.objects.exists()
    tried = len(seen)  # with its chunk, then on its own
    assert relay.outbox_drain() == 0  # not due yet
    assert len(seen) == tried


def test_backoff_doubles_up_to_an_hour():
    assert [relay.backoff(n).total_seconds() for n in (1, 2, 3, 20)] == [10, 20, 40, 3600]


def test_events_no_consumer_wants_are_settled_in_one_go(seen):
    outbox_emit(topic="nobody.listens", payload={})
    outbox_emit(topic="nobody.listens", payload={})
    assert relay.outbox_drain() == 2
    assert seen == []


def test_the_sweeper_leaves_the_newest_events_to_their_own_wake_up(seen):
    outbox_emit(topic="test.topic", payload={})
    assert relay.outbox_drain(older_than=timedelta(seconds=10)) == 0
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    assert relay.outbox_drain(older_than=timedelta(seconds=10)) == 1


def test_a_committed_event_wakes_the_relay_once_per_transaction(
        seen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        outbox_emit(topic="test.topic", payload={})
        outbox_emit(topic="test.topic", payload={})
    assert len(callbacks) == 1


def test_a_wake_up_the_broker_refuses_is_logged_and_the_commit_stands(
        seen, monkeypatch, caplog, django_capture_on_commit_callbacks):
    # The web request that wrote the events was answered "saved": a broker that is down when
    # it commits must not turn that into an error (the sweeper drains what was not announced).
    def refused() -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(relay, "_send_wake", refused)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_emit(topic="test.topic", payload={})
    assert OutboxEvent.objects.filter(topic="test.topic").count() == 1
    assert "broker down" in caplog.text
    assert "_Wake.__call__" in caplog.text


class _Clock:
    """Epoch time under the test's control; sleeping moves it on."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch, tmp_path) -> _Clock:
    fake = _Clock(1_000_000.0)
    monkeypatch.setattr(relay, "time", fake)
    monkeypatch.setattr(relay, "_last_wake", 0.0)
    monkeypatch.setattr(relay, "_wake_file", lambda: tmp_path / "outbox-wake")
    return fake


@pytest.fixture
def wakes(monkeypatch) -> list[float]:
    """The wake-ups sent to a broker (none is running), by the time they stand for."""
    from opencem.core.tasks import outbox_relay  # noqa: PLC0415

    sent: list[float] = []
    monkeypatch.setitem(outbox_relay.app.conf, "task_always_eager", False)
    monkeypatch.setattr(outbox_relay, "delay", lambda *, woken_at: sent.append(woken_at))
    return sent


def test_with_a_broker_a_process_wakes_the_relay_at_most_once_per_interval(clock, wakes):
    relay._send_wake()
    clock.now += relay.WAKE_INTERVAL / 2
    relay._send_wake()  # held back: the relay woken just before drains again after this
    clock.now += relay.WAKE_INTERVAL
    relay._send_wake()
    assert wakes == [1_000_000.0, 1_000_000.0 + 1.5 * relay.WAKE_INTERVAL]


def test_the_processes_of_a_machine_wake_the_relay_at_most_once_per_interval_together(
        clock, wakes, monkeypatch):
    relay._send_wake()
    monkeypatch.setattr(relay, "_last_wake", 0.0)  # another web process, same machine
    clock.now += relay.WAKE_INTERVAL / 2
    relay._send_wake()  # held back: the relay the first one woke drains again after this
    assert wakes == [1_000_000.0]
    clock.now += relay.WAKE_INTERVAL
    monkeypatch.setattr(relay, "_last_wake", 0.0)
    relay._send_wake()
    assert wakes == [1_000_000.0, 1_000_000.0 + 1.5 * relay.WAKE_INTERVAL]


def test_a_clock_set_back_never_holds_wake_ups_back(clock, wakes, monkeypatch):
    relay._send_wake()
    clock.now -= 3600
    relay._send_wake()  # the last wake-up seems an hour ahead: it is not a recent one
    monkeypatch.setattr(relay, "_last_wake", 0.0)
    clock.now += relay.WAKE_INTERVAL / 2
    relay._send_wake()  # the machine's last wake-up is the one just sent: held back
    assert wakes == [1_000_000.0, 1_000_000.0 - 3600]


def test_a_woken_relay_drains_again_once_the_wake_ups_it_stands_for_are_over(clock,
                                                                           monkeypatch):
    drains: list[float] = []
    monkeypatch.setattr(relay, "outbox_drain", lambda: drains.append(clock.now) or 1)
    woken = clock.now
    assert relay.outbox_relay_run(woken_at=woken) == len(drains)
    assert drains[0] == woken
    # The last drain started after every held-back wake-up could have committed its events.
    assert drains[-1] >= woken + relay.WAKE_INTERVAL + relay.WAKE_MARGIN
    assert len(drains) <= 2 + (relay.WAKE_INTERVAL + relay.WAKE_MARGIN) / relay.POLL
    drains.clear()
    relay.outbox_relay_run(woken_at=woken - 60)  # started late: once is enough
    assert len(drains) == 1


@pytest.fixture
def batches(monkeypatch, admin):
    """A consumer of ``test.topic`` that takes a chunk's events in one call
    (``handle_many``) and fails on an event whose payload says so."""
    calls: list[list[int]] = []

    def handle_many(events: list[relay.Event]) -> None:
        calls.append([e.id for e in events])
        for event in events:
            IdempotencyRecord.objects.create(user=admin.user, key=f"event-{event.id}",
                                             fingerprint="f", status_code=200,
                                             response_body="{}")
            if event.payload.get("fail"):
                raise RuntimeError("consumer failed")

    def handle(event: relay.Event) -> None:
        raise AssertionError("handle_many stands for handle")

    monkeypatch.setattr(relay, "_consumers", dict(relay._consumers))
    relay.register_consumer(relay.Consumer("batch", frozenset({"test.topic"}), handle,
                                           handle_many=handle_many))
    return calls


def test_a_batch_consumer_gets_a_chunks_events_in_one_call(batches):
    events = [outbox_emit(topic="test.topic", payload={"n": n}) for n in range(3)]
    assert relay.outbox_drain() == 3
    assert batches == [[e.pk for e in events]]
    assert OutboxConsumption.objects.filter(consumer="batch").count() == 3
    assert IdempotencyRecord.objects.count() == 3


def test_a_failing_batch_is_tried_again_event_by_event(batches):
    good = outbox_emit(topic="test.topic", payload={})
    bad = outbox_emit(topic="test.topic", payload={"fail": True})
    assert relay.outbox_drain() == 1
    # The chunk rolled back as a whole, then each event went on its own.
    assert batches == [[good.pk, bad.pk], [good.pk], [bad.pk]]
    assert list(OutboxConsumption.objects.values_list("event_id", flat=True)) == [good.pk]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [f"event-{good.pk}"]
    bad.refresh_from_db()
    assert (bad.dispatched_at, bad.attempts) == (None, 1)
