"""``opencem serve``: the web app on 127.0.0.1:$PORT (gunicorn in production, see README)."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from opencem.core.scheduler import InProcessScheduler, run_task


class Command(BaseCommand):
    help = ("Serve the app for one machine (Django's server; use gunicorn in production). "
            "Without CELERY_BROKER_URL it also runs the periodic tasks (sending delayed "
            "invitations, reminders, expiry) in-process.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--no-scheduler", action="store_true",
                            help="do not run the periodic tasks in this process")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER and not options["no_scheduler"]:
            InProcessScheduler(schedule=settings.CELERY_BEAT_SCHEDULE, run=run_task).start()
            self.stdout.write("Periodic tasks run in this process (no CELERY_BROKER_URL).")
        call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
