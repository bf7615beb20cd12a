"""The periodic tasks of ``CELERY_BEAT_SCHEDULE`` for one machine without a broker.

In production ``opencem worker --beat`` runs them. ``opencem serve`` without a broker (the
demo, a trial on a laptop) has no worker, so delayed invitations, reminders and expiry would
never happen; it starts this scheduler instead, a daemon thread that runs each task in-process
at its interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections

log = logging.getLogger(__name__)


@dataclass
class InProcessScheduler:
    """Runs ``run(task_name)`` for each entry of ``schedule`` every ``entry["schedule"]``
    seconds, the first time one interval after start (as beat does)."""

    schedule: Mapping[str, Mapping[str, Any]]
    run: Callable[[str], object]
    clock: Callable[[], float] = time.monotonic
    _due: dict[str, float] = field(default_factory=dict, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        now = self.clock()
        for name, entry in self.schedule.items():
            interval = float(entry["schedule"])
            if interval <= 0:
                raise ValueError(f"{name}: the schedule must be a positive number of seconds")
            self._due[name] = now + interval

    def tick(self) -> list[str]:
        """Run the entries that are due; returns their names. A failing task is logged and
        tried again at its next interval, never stops the others."""
        ran: list[str] = []
        for name, entry in self.schedule.items():
            now = self.clock()
            if now < self._due[name]:
                continue
            self._due[name] = now + float(entry["schedule"])
            try:
                self.run(str(entry["task"]))
            except Exception:
                log.exception("periodic task %s failed", entry["task"])
            ran.append(name)
        return ran

    def start(self, *, poll_seconds: float = 1.0) -> threading.Thread:
        """Tick in a daemon thread until ``stop()`` (or the process ends)."""

        def loop() -> None:
            while not self._stop.wait(poll_seconds):
                self.tick()
                # A thread of its own: drop stale connections the way a request's end does.
                close_old_connections()

        thread = threading.Thread(target=loop, name="opencem-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def run_task(name: str) -> object:
    """Run a registered Celery task in this process and return its result."""
    from opencem.celery import app  # noqa: PLC0415 (the Celery app loads Django's apps)

    if name not in app.tasks:
        app.loader.import_default_modules()  # the apps' tasks modules, as a worker does
    return app.tasks[name].apply(throw=True).get()
