"""A real Celery worker on the local Redis runs a task against the real database."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from opencem.celery import app
from opencem.core.models import IdempotencyRecord

BROKER = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.postgres,
              pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")]


@pytest.fixture
def worker(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can share: run with PostgreSQL")
    settings = connection.settings_dict
    env = dict(os.environ,
               DATABASE_URL=f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}"
                            f"/{settings['NAME']}",
               CELERY_BROKER_URL=BROKER, DJANGO_SETTINGS_MODULE="opencem.settings.dev")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opencem.cli", "worker", "--concurrency", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


def test_a_task_sent_through_redis_runs_on_the_worker(worker, admin):
    record = IdempotencyRecord.objects.create(user=admin.user, key="old", fingerprint="f",
                                              status_code=201, response_body="{}")
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at="2020-01-01T00:00:00Z")
    with app.connection_for_write(BROKER) as conn:
        app.send_task("core.purge_idempotency_records", connection=conn)
    deadline = time.monotonic() + 60
    while IdempotencyRecord.objects.filter(pk=record.pk).exists():
        assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
        assert time.monotonic() < deadline, "the worker did not run the task within 60 s"
        time.sleep(0.3)
