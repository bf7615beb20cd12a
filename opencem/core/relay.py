"""The outbox relay: hands every committed ``OutboxEvent`` to the consumers of its topic.

Apps register consumers from their ``AppConfig.ready()`` (``register_consumer``). A consumer
writes its own rows inside the relay's transaction, together with its ``OutboxConsumption``
mark, so what it does commits exactly once: a worker killed half-way rolls everything back
and the event is still pending; a consumer that already marked an event never sees it again.
Events are settled in chunks (``CHUNK``), one transaction each; a consumer with
``handle_many`` takes a chunk's events in one call, reading what it needs once per chunk and
writing in bulk.

Work that follows writes without an event of its own (the rollup counts a one-statement
survey submission leaves pending) registers with ``register_after_drain`` and runs after
every drain that settled events, and after every sweep.

The broker only wakes the relay up: ``outbox_wake`` enqueues ``core.outbox_relay`` once the
writing transaction commits, and the beat task ``core.outbox_sweep`` drains whatever a lost
message left behind. A failing consumer leaves the event pending with exponential backoff
(``next_attempt_at``); after ``MAX_ATTEMPTS`` it is left for an operator (``last_error``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from opencem.core.models import OutboxConsumption, OutboxEvent
from opencem.core.statements import insert_objects
from opencem.core.transactions import CommitHook, on_commit_once

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
BATCH = 500
CHUNK = 50  # events settled in one transaction while nothing fails


@dataclass(frozen=True)
class Event:
    """What a consumer is given: the event as it was committed."""

    id: int
    topic: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Consumer:
    """``handle(event)`` is called inside a transaction; it writes, never calls out (mail,
    HTTP): it writes rows that are sent once it has committed. ``active(topic)`` says
    whether the consumer wants events of that topic at all now (no alert rule, no webhook
    endpoint: no), so the relay can pass over the bulk of events with one statement.

    ``handle_many(events)``, when given, stands for ``handle`` on each of a chunk's events
    (in id order) at once: what a consumer reads for every event (its rules, their version)
    it then reads once per chunk, and what it writes it can write in bulk. It runs in the
    same transaction as the chunk's marks; when it raises, the relay tries each event of
    the chunk on its own (``handle_many([event])``)."""

    name: str
    topics: frozenset[str]
    handle: Callable[[Event], None]
    active: Callable[[str], bool] = field(default=lambda topic: True)
    handle_many: Callable[[list[Event]], None] | None = None

    def handle_all(self, events: list[Event]) -> None:
        """Handle ``events`` (in id order) as one piece of work."""
        if self.handle_many is not None:
            self.handle_many(events)
            return
        for event in events:
            self.handle(event)


_consumers: dict[str, Consumer] = {}


def register_consumer(consumer: Consumer) -> None:
    """Register (or replace, by name) a consumer."""
    _consumers[consumer.name] = consumer


# Work that rides on the relay's wake-ups, by name: each is called after a drain that settled
# events, and after every drain of the sweeper, e.g. adding up counts that writes left pending
# for it (written with events, so the drain that settles those is followed by it). It does its
# own transactions and must be safe to run at any time, and concurrently with itself.
_after_drain: dict[str, Callable[[], int]] = {}


def register_after_drain(name: str, work: Callable[[], int]) -> None:
    """Register (or replace, by name) work to run after the outbox's drains (see above)."""
    _after_drain[name] = work


def consumers_of(topic: str) -> list[Consumer]:
    return [c for c in _consumers.values() if topic in c.topics]


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: 10 s doubling, at most 1 h."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


_local = threading.local()


class _Wake(CommitHook):
    def __call__(self) -> None:
        _send_wake()


def outbox_wake() -> None:
    """Wake the relay once the current transaction commits (at once outside one); one
    wake-up per transaction however many events it wrote."""
    on_commit_once(_Wake)


# The processes of one machine wake the relay at most once per WAKE_INTERVAL between them:
# under load a wake-up per response would cost the response a broker round trip for nothing,
# and each wake-up has a worker poll the outbox for a while. The relay woken at time w drains
# once more at w + WAKE_INTERVAL + WAKE_MARGIN or later (``outbox_relay_run``), so the events
# whose wake-up was held back in between are taken by it; the margin covers the difference
# between the web and worker machines' clocks. A process notes its own last wake-up, and the
# machine's processes share theirs through the modification time of a file (``_wake_file``):
# a machine with sixteen web processes sends ten wake-ups a second, not a hundred and sixty.
WAKE_INTERVAL = 0.1
WAKE_MARGIN = 0.1
POLL = 0.02
_last_wake = 0.0


def _recent(moment: float, now: float) -> bool:
    # A moment ahead of now (the clock was set back) is not recent: better a wake-up too many.
    return 0.0 <= now - moment < WAKE_INTERVAL


@lru_cache(maxsize=1)
def _wake_file() -> Path:
    """The file whose modification time is this machine's last wake-up of this deployment's
    relay (one per broker and database, in the temporary directory)."""
    database = settings.DATABASES["default"]
    deployment = f"{settings.CELERY_BROKER_URL}|{database.get('HOST')}|{database.get('NAME')}"
    digest = hashlib.sha256(deployment.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"opencem-outbox-wake-{digest}"


def _machine_woke_at() -> float:
    try:
        return _wake_file().stat().st_mtime
    except OSError:
        return 0.0


def _note_machine_wake(moment: float) -> None:
    # Noted just before the wake-up is sent (a wake-up takes a millisecond, in which the
    # machine's other processes would send their own); two processes noting at once send
    # one wake-up too many. Should the broker refuse it, the others' would fail as well:
    # the sweeper drains what no wake-up announced.
    global _unshared  # noqa: PLW0603 (said once per process)
    try:
        path = _wake_file()
        path.touch()
        os.utime(path, (moment, moment))
    except OSError:
        # Another user's file, say: each process then wakes the relay on its own.
        if not _unshared:
            log.warning("outbox wake-ups not shared between processes", exc_info=True)
        _unshared = True


_unshared = False


def outbox_wake_ready() -> None:
    """Prepare what wake-ups need (Celery's producer and its broker connection) in a web
    process starting up: the first one costs tens of milliseconds, which should not fall on a
    respondent's request. A broker that cannot be reached now is left to the wake-ups."""
    from opencem.core.tasks import outbox_relay  # noqa: PLC0415 (tasks import this module)

    app = outbox_relay.app
    if app.conf.task_always_eager:
        return
    try:
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
    except Exception:
        log.warning("the broker is not reachable yet; wake-ups will connect", exc_info=True)


def _send_wake() -> None:
    global _last_wake  # noqa: PLW0603 (one time per process, see WAKE_INTERVAL)
    if getattr(_local, "draining", False):
        # In-process (eager) runs: the drain in progress picks the new events up.
        _local.again = True
        return
    from opencem.core.tasks import outbox_relay  # noqa: PLC0415 (tasks import this module)

    if outbox_relay.app.conf.task_always_eager:
        outbox_relay.delay()
        return
    now = time.time()
    if _recent(_last_wake, now):
        return  # the relay woken at _last_wake drains again after these events committed
    shared = _machine_woke_at()
    if _recent(shared, now):
        _last_wake = shared  # another process woke it: the same holds
        return
    _last_wake = now
    _note_machine_wake(now)
    outbox_relay.delay(woken_at=now)


def outbox_relay_run(*, woken_at: float | None = None) -> int:
    """Drain the outbox for a wake-up sent at ``woken_at`` (epoch seconds): at once, and
    until a drain has started after the wake-up's window closed (see WAKE_INTERVAL). A relay
    started late drains once; one started at once polls for a fifth of a second at most."""
    until = -1.0 if woken_at is None else woken_at + WAKE_INTERVAL + WAKE_MARGIN
    settled = 0
    while True:
        started = time.time()
        settled += outbox_drain()
        if started >= until:
            return settled
        time.sleep(max(0.0, min(POLL, until - time.time())))


def _due(now: datetime, older_than: timedelta | None) -> Any:
    qs = OutboxEvent.objects.filter(dispatched_at__isnull=True, attempts__lt=MAX_ATTEMPTS).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    if older_than is not None:
        qs = qs.filter(created_at__lte=now - older_than)
    return qs.order_by("id")


def outbox_drain(*, older_than: timedelta | None = None, limit: int = 20_000) -> int:
    """Hand the due pending events to their consumers; returns how many were settled
    (handled by every consumer, or wanted by none). ``older_than`` leaves the newest alone
    (the sweeper: their own wake-up is on its way)."""
    if getattr(_local, "draining", False):
        _local.again = True
        return 0
    _local.draining = True
    settled = 0
    try:
        while settled < limit:
            _local.again = False
            batch = list(_due(timezone.now(), older_than).values_list("id", "topic")[:BATCH])
            if not batch:
                break
            settled += _settle_batch(batch)
            # Loop until nothing is due: consumers emit events of their own (case.created).
        if not settled and older_than is None:
            # Nothing came in since the last drain (a relay polling, say): the work that
            # follows writes is done by the drain that settles their events, and by the
            # sweeper whatever is left.
            return settled
        for name, work in _after_drain.items():
            try:
                work()
            except Exception:
                # Left for the next drain; the events above are settled all the same.
                log.exception("outbox after-drain work %s failed", name)
    finally:
        _local.draining = False
    return settled


def _settle_batch(batch: list[tuple[int, str]]) -> int:
    wanted: dict[str, list[Consumer]] = {}
    for topic in {t for _, t in batch}:
        wanted[topic] = [c for c in consumers_of(topic) if c.active(topic)]
    idle = [pk for pk, topic in batch if not wanted[topic]]
    settled = 0
    if idle:
        settled += OutboxEvent.objects.filter(pk__in=idle, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now())
    busy = [pk for pk, topic in batch if wanted[topic]]
    topics = dict(batch)
    for start in range(0, len(busy), CHUNK):
        chunk = busy[start:start + CHUNK]
        together = _settle_together(chunk, topics, wanted)
        if together is not None:
            settled += together
            continue
        # Something in the chunk failed: each event on its own, so that one failing event
        # neither holds back nor undoes the others.
        settled += sum(_settle_one(pk, wanted[topics[pk]]) for pk in chunk)
    return settled


class _Retry(Exception):
    """A chunk that must be settled event by event."""


def _settle_together(pks: list[int], topics: dict[int, str],
                     wanted: dict[str, list[Consumer]]) -> int | None:
    """Settle a chunk of events in one transaction (the common case: nothing fails); returns
    how many were settled, or None when something failed and nothing was kept."""
    try:
        with transaction.atomic():
            qs = OutboxEvent.objects.filter(pk__in=pks, dispatched_at__isnull=True)
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            rows = list(qs.order_by("id"))
            if not rows:
                return 0
            done = set(OutboxConsumption.objects.filter(event_id__in=[r.pk for r in rows])
                       .values_list("event_id", "consumer"))
            # Each consumer takes the chunk's events it has still to handle in one call.
            todo: dict[str, tuple[Consumer, list[Event]]] = {}
            for row in rows:
                event = Event(row.pk, row.topic, row.payload, row.created_at)
                for consumer in wanted[topics[row.pk]]:
                    if (row.pk, consumer.name) not in done:
                        todo.setdefault(consumer.name, (consumer, []))[1].append(event)
            marks: list[OutboxConsumption] = []
            for consumer, events in todo.values():
                try:
                    consumer.handle_all(events)
                except Exception as exc:
                    raise _Retry from exc
                marks += [OutboxConsumption(consumer=consumer.name, event_id=e.id)
                          for e in events]
            insert_objects(marks)
            OutboxEvent.objects.filter(pk__in=[r.pk for r in rows]).update(
                dispatched_at=timezone.now())
            return len(rows)
    except (_Retry, IntegrityError):
        return None


def _settle_one(pk: int, consumers: Iterable[Consumer]) -> bool:
    with transaction.atomic():
        qs = OutboxEvent.objects.filter(pk=pk, dispatched_at__isnull=True)
        if connection.features.has_select_for_update_skip_locked:
            # Another worker has it: leave it to that one.
            qs = qs.select_for_update(skip_locked=True)
        row = qs.first()
        if row is None:
            return False
        event = Event(row.pk, row.topic, row.payload, row.created_at)
        done = set(OutboxConsumption.objects.filter(event_id=pk).values_list("consumer",
                                                                             flat=True))
        errors: list[str] = []
        for consumer in consumers:
            if consumer.name in done:
                continue
            try:
                with transaction.atomic():
                    OutboxConsumption.objects.create(consumer=consumer.name, event_id=pk)
                    consumer.handle_all([event])
            except IntegrityError:
                # Marked meanwhile by a worker that did not lock (SQLite): already handled.
                continue
            except Exception as exc:
                # One failing consumer must not stop the others; it is tried again later.
                log.exception("outbox consumer %s failed on event %s", consumer.name, pk)
                errors.append(f"{consumer.name}: {exc!r}"[:500])
        now = timezone.now()
        if errors:
            row.attempts += 1
            row.next_attempt_at = now + backoff(row.attempts)
            row.last_error = "\n".join(errors)
            row.save(update_fields=["attempts", "next_attempt_at", "last_error"])
            return False
        row.dispatched_at = now
        row.save(update_fields=["dispatched_at"])
        return True
