"""The in-process scheduler that ``opencem serve`` runs when there is no broker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opencem.core.models import IdempotencyRecord
from opencem.core.scheduler import InProcessScheduler, run_task


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SCHEDULE = {"often": {"task": "a", "schedule": 60.0}, "rarely": {"task": "b", "schedule": 3600.0}}


def test_each_task_runs_once_per_interval_starting_one_interval_after_start():
    clock, ran = Clock(), []
    scheduler = InProcessScheduler(schedule=SCHEDULE, run=ran.append, clock=clock)
    assert scheduler.tick() == []
    clock.now += 60
    assert scheduler.tick() == ["often"]
    assert scheduler.tick() == []
    clock.now += 3600
    assert scheduler.tick() == ["often", "rarely"]
    assert ran == ["a", "a", "b"]


def test_a_failing_task_is_logged_and_does_not_stop_the_others(caplog):
    clock = Clock()
    ran = []

    def run(task: str) -> None:
        if task == "a":
            raise RuntimeError("SMTP is down")
        ran.append(task)

    scheduler = InProcessScheduler(
        schedule={**SCHEDULE, "rarely": {"task": "b", "schedule": 60.0}}, run=run, clock=clock)
    clock.now += 60
    assert scheduler.tick() == ["often", "rarely"]
    assert ran == ["b"]
    assert "periodic task a failed" in caplog.text


def test_a_schedule_that_is_not_a_positive_interval_is_refused():
    with pytest.raises(ValueError, match="positive"):
        InProcessScheduler(schedule={"x": {"task": "a", "schedule": 0}}, run=print)


def test_run_task_runs_a_registered_task_in_this_process(admin):
    old = IdempotencyRecord.objects.create(user=admin.user, key="k", fingerprint="f",
                                           status_code=200, response_body="{}")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=30))
    assert run_task("core.purge_idempotency_records") == 1
    assert not IdempotencyRecord.objects.exists()


def test_every_scheduled_task_of_the_settings_is_registered(settings):
    from opencem.celery import app  # noqa: PLC0415

    app.loader.import_default_modules()
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    missing = [task for task in tasks if task not in app.tasks]
    assert missing == []
