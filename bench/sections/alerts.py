"""Alert latency: from a detractor response's commit to its case and to the owner's mail
arriving at an SMTP server, p50 and p95 over a burst of ``BENCH_ALERTS`` responses (default
1,000; goal p95 ≤ 1 s).

A real Celery worker process (``opencem worker``) runs on ``BENCH_BROKER_URL`` (default
``redis://127.0.0.1:6379/13``) against the benchmark database; this process commits the
responses from a few threads, each in its own transaction, noting when each committed, and
an SMTP server in a process of its own (``bench.mailsink``) notes when each mail arrived
(matched by its Message-ID). The worker's queues on that broker are emptied first, and the
burst starts once the worker answers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections, transaction
from kombu import Connection

from bench.framework import Context, Figure, percentile, section
from bench.mailsink import MailSink
from bench.sections.data import COMPANY, STORES, organisation
from bench.sections.submissions import SYSTEM, _free_port
from opencem.accounts.selectors import unit_get_by_code
from opencem.accounts.services import user_create
from opencem.celery import app
from opencem.closedloop.models import Case, Notification
from opencem.closedloop.rules import RuleInput, alert_rule_create
from opencem.feedback.services import ResponseInput, responses_record
from opencem.surveys.selectors import live_version
from opencem.surveys.services import survey_create, survey_publish
from opencem.surveys.templates_library import TEMPLATES

LIMIT_MS = 1000.0
THREADS = 4
WAIT_SECONDS = 600


def _size() -> int:
    raw = os.environ.get("BENCH_ALERTS", "").replace("_", "").replace(",", "")
    return int(raw) if raw else 1000


def _setup() -> Any:
    organisation()
    company = unit_get_by_code(COMPANY)
    assert company is not None
    manager = user_create(username="bench-manager", email="manager@bench.test", password=None)
    for code in STORES:
        store = unit_get_by_code(code)
        assert store is not None
        store.owner = manager
        store.save(update_fields=["owner"])
    alert_rule_create(data=RuleInput(
        name="Detractors", unit=company, actions=["case", "email"],
        conditions={"match": "all", "conditions": [{"field": "nps", "op": "lte", "value": 6}]}),
        scope=SYSTEM, actor=None)
    survey = survey_create(name="Bench alerts NPS", unit=company,
                           definition=TEMPLATES["relational_nps"], scope=SYSTEM, actor=None)
    survey_publish(survey=survey, scope=SYSTEM, actor=None)
    version = live_version(survey)
    assert version is not None
    return company, survey, version


def _worker(broker: str, smtp_port: int, workdir: str) -> subprocess.Popen[bytes]:
    from django.db import connection  # noqa: PLC0415 (after Django is set up)

    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "DJANGO_SETTINGS_MODULE": "opencem.settings.dev", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(smtp_port), "OPENCEM_DATA_DIR": workdir, "LOG_LEVEL": "WARNING",
           "DEBUG": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "opencem.cli", "worker", "--concurrency", "2"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _forget_pools() -> None:
    # Celery keeps the pools of the broker it first met; the next task finds the current one.
    app._pool = None
    app.amqp._producer_pool = None


def _purge(broker: str) -> None:
    """Empty the worker's queues on the bench's broker: messages an earlier run left there
    (wake-ups still queued when its worker was stopped) would be run by this run's worker
    during the burst and counted against it."""
    conf = app.conf
    with Connection(broker) as conn:
        for name in {conf.task_default_queue,
                     *(route["queue"] for route in conf.task_routes.values())}:
            conn.default_channel.queue_purge(name)


def _wait_until_ready(worker: subprocess.Popen[bytes]) -> None:
    """Until the worker answers on the broker: the burst must not start before it listens,
    or its first responses would wait for the worker to start up and count that as alert
    latency (a fixed pause is too short on a busy machine)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None:
            raise RuntimeError("the bench worker died")
        if time.monotonic() > deadline:
            raise RuntimeError("the bench worker never answered: is the broker reachable?")


@section("alerts")
def run(context: Context) -> list[Figure]:
    total = _size()
    broker = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
    company, survey, version = _setup()
    _purge(broker)
    sink = MailSink(_free_port())
    sink.start()
    conf = app.conf
    saved = (conf.task_always_eager, conf.broker_url)
    conf.task_always_eager, conf.broker_url = False, broker
    _forget_pools()
    workdir = tempfile.mkdtemp(prefix="opencem-bench-worker-", dir=context.workdir)
    worker = _worker(broker, sink.port, workdir)
    committed: dict[int, float] = {}
    lock = threading.Lock()

    def commit(i: int) -> None:
        item = ResponseInput(survey_id=survey.pk, version_id=version.pk, default_unit=company,
                             default_language="en", answers={"nps": i % 7}, nps=i % 7,
                             unit=STORES[i % len(STORES)], external_id=f"alert-{i}")
        with transaction.atomic():
            (recorded,) = responses_record(items=[item], scope=SYSTEM, actor=None)
        done = time.time()  # the transaction has committed
        with lock:
            committed[recorded.id] = done
        close_old_connections()

    try:
        _wait_until_ready(worker)
        started = time.time()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(commit, range(total)))
        burst = time.time() - started
        deadline = time.monotonic() + WAIT_SECONDS
        while len(sink.arrivals()) < total and time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError("the bench worker died")
            time.sleep(0.5)
    finally:
        conf.task_always_eager, conf.broker_url = saved
        _forget_pools()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        sink.stop()
    cases = dict(Case.objects.values_list("response_id", "created_at"))
    mails = dict(Notification.objects.values_list("id", "case__response_id"))
    to_case = [1000 * (cases[r].timestamp() - t) for r, t in committed.items() if r in cases]
    to_mail = [1000 * (at - committed[mails[n]]) for n, at in sink.at.items()
               if mails.get(n) in committed]
    last_case = max(cases.values()).timestamp() - started if cases else 0.0
    context.notes.append(f"alerts: {len(to_case)} cases and {len(to_mail)} mails of {total} "
                         f"responses committed from {THREADS} threads in {burst:.1f} s; the "
                         f"worker (concurrency 2) opened the last case {last_case:.1f} s after "
                         "the burst began")
    if not to_case or not to_mail:
        raise RuntimeError("no alert made it through: is the broker reachable?")
    return [
        Figure("alerts", "commit → case, p50", percentile(to_case, 50), "ms",
               higher_is_better=False),
        Figure("alerts", "commit → case, p95", percentile(to_case, 95), "ms",
               higher_is_better=False, limit=LIMIT_MS),
        Figure("alerts", "commit → mail arrived, p50", percentile(to_mail, 50), "ms",
               higher_is_better=False),
        Figure("alerts", "commit → mail arrived, p95", percentile(to_mail, 95), "ms",
               higher_is_better=False, limit=LIMIT_MS),
    ]
