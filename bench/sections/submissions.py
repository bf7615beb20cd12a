"""Survey submissions: requests per second of the widget's public JSON endpoint
(``POST /api/v1/public/surveys/<slug>/responses``) over real HTTP, against a bare insert of
an equivalent response row served by the same server in the same run.

A gunicorn server with a few workers serves the app on the benchmark database, plus
``/bench/bare-insert`` (``bench/urls.py``). A pool of client threads posts N submissions of
an anonymous survey, then the same N bodies to the bare endpoint; the two alternate in
rounds so that a slow spell of the machine falls on both alike.

What follows a submission in the background is not timed here (no worker runs): the alert
rules and webhooks (``alerts`` times those), and adding the counts each submission left
pending to the metric rollups. The relay's drain is run afterwards, as a worker would, and
its time is noted (so no later section inherits a backlog); the rollups must then match the
responses.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import redis

from bench.framework import Context, Figure, section
from bench.sections.data import COMPANY, STORES, organisation
from opencem.accounts.selectors import Scope, unit_get_by_code
from opencem.core.relay import outbox_drain
from opencem.feedback.models import Response
from opencem.metrics.models import PendingRollup
from opencem.metrics.rebuild import rollups_verify
from opencem.surveys.models import Survey
from opencem.surveys.services import survey_create, survey_publish, survey_update
from opencem.surveys.templates_library import TEMPLATES

GOAL = 0.70
WORKERS = 4
CLIENTS = 8
ROUNDS = 4
WARM_UP = 40
ROOT = Path(__file__).resolve().parents[2]
# The broker the server wakes workers through (none runs): its database is emptied after.
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
SYSTEM = Scope(user_id=None, unit_ids=None, roles=frozenset(), write_unit_ids=None,
               admin_unit_ids=None, design_unit_ids=None)
REASONS = ["The queue was far too long", "Friendly staff, found what I needed",
           "Out of stock again", "Quick and easy", "Prices went up"]


def _size() -> int:
    raw = os.environ.get("BENCH_SUBMISSIONS", "").replace("_", "").replace(",", "")
    try:
        value = int(raw) if raw else 1000
    except ValueError:
        sys.exit(f"BENCH_SUBMISSIONS must be a whole number, not {raw!r}")
    if value < ROUNDS * CLIENTS:
        sys.exit(f"BENCH_SUBMISSIONS must be at least {ROUNDS * CLIENTS}")
    return value


def _survey() -> Survey:
    """The relationship NPS programme of the bench company, published and open to anyone."""
    organisation()
    company = unit_get_by_code(COMPANY)
    assert company is not None
    survey = survey_create(name="Bench web NPS", unit=company,
                           definition=TEMPLATES["relational_nps"], scope=SYSTEM, actor=None)
    survey_publish(survey=survey, scope=SYSTEM, actor=None)
    return survey_update(survey=survey, scope=SYSTEM, anonymous_link=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@contextmanager
def _server(context: Context, probe: str) -> Iterator[int]:
    """gunicorn serving the app and the bench URLs on a free port; yields the port."""
    port = _free_port()
    # The server wakes the workers through a broker, as in production; no worker runs, so
    # what it would do later (alert rules, webhooks) is not timed here: `alerts` times it.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings",
           "OPENCEM_PUBLIC_RATE_LIMIT": str(10**9), "LOG_LEVEL": "WARNING",
           "CELERY_BROKER_URL": BROKER}
    log_path = context.workdir / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "gunicorn", "opencem.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--chdir", str(ROOT),
             "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the bench server did not start:\n{tail}")
            try:
                if _request(port, "GET", probe)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        yield port
    finally:
        redis.Redis.from_url(BROKER).flushdb()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post_all(port: int, path: str, bodies: list[bytes]) -> float:
    """Post every body from CLIENTS threads; the seconds it took. Anything but 201 stops."""
    def post(body: bytes) -> None:
        status, content = _request(port, "POST", path, body)
        if status != 201:
            raise RuntimeError(f"{path} answered {status}: {content[:300]!r}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for _ in pool.map(post, bodies):
            pass
    return time.perf_counter() - started


def _bodies(n: int, offset: int, make: Callable[[int], dict[str, Any]]) -> list[bytes]:
    return [json.dumps(make(offset + i)).encode() for i in range(n)]


@section("submissions")
def submissions_section(context: Context) -> list[Figure]:
    n = _size()
    survey = _survey()
    version = survey.versions.get()

    def widget(i: int) -> dict[str, Any]:
        return {"answers": {"nps": i % 11, "reason": REASONS[i % len(REASONS)]},
                "hidden": {"store": STORES[i % len(STORES)]}, "language": "en",
                "visitor": f"bench-visitor-{i}"}

    def bare(i: int) -> dict[str, Any]:
        answers = widget(i)
        return {"survey": survey.pk, "version": version.pk, "unit": survey.unit_id,
                "answers": {**answers["answers"], **answers["hidden"]}}

    submit_path = f"/api/v1/public/surveys/{survey.slug}/responses"
    with _server(context, f"/api/v1/public/surveys/{survey.slug}/widget") as port:
        # Every worker opens its database connection and warms its caches before timing.
        _post_all(port, submit_path, _bodies(WARM_UP, -WARM_UP, widget))
        _post_all(port, "/bench/bare-insert", _bodies(WARM_UP, -WARM_UP, bare))
        submit_seconds = bare_seconds = 0.0
        share = n // ROUNDS
        for r in range(ROUNDS):
            count = share if r < ROUNDS - 1 else n - share * (ROUNDS - 1)
            submit_seconds += _post_all(port, submit_path, _bodies(count, r * share, widget))
            bare_seconds += _post_all(port, "/bench/bare-insert",
                                      _bodies(count, r * share, bare))
    stored = Response.objects.filter(survey=survey, source="widget", completed=True,
                                     nps__isnull=False).count()
    if stored != n + WARM_UP:
        raise RuntimeError(f"{stored} widget responses stored, {n + WARM_UP} expected")
    # The bare endpoint's rows were never counted (that is what makes them bare).
    Response.objects.filter(source="bench").delete()
    # What a worker's relay does after the submissions, here: settle their events (nothing
    # consumes them yet) and fold their rollup counts. Nothing is left for later sections.
    pending = PendingRollup.objects.count()
    started = time.perf_counter()
    settled = outbox_drain()
    fold_seconds = time.perf_counter() - started
    if PendingRollup.objects.exists() or not rollups_verify().ok:
        raise RuntimeError("the rollups differ from the responses after the relay's drain")
    context.notes.append(
        f"submissions: {n:,} widget submissions and {n:,} bare inserts over HTTP, gunicorn "
        f"with {WORKERS} workers, {CLIENTS} client threads: {submit_seconds:,.1f} s and "
        f"{bare_seconds:,.1f} s; the relay then settled their {settled:,} events and folded "
        f"their {pending:,} pending rollup counts in {1000 * fold_seconds:,.0f} ms, and the "
        "rollups match the responses")
    return [Figure("submissions", f"{n} widget submissions over HTTP", n / submit_seconds,
                   "req/s", baseline=n / bare_seconds, goal=GOAL)]
