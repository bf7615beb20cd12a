"""``opencem worker``: a Celery worker on CELERY_BROKER_URL."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from opencem.celery import app


class Command(BaseCommand):
    help = "Run a Celery worker (needs CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--queues", default="default,notifications")
        parser.add_argument("--beat", action="store_true", help="also run the scheduler")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("Set CELERY_BROKER_URL; without it tasks run in-process.")
        argv = ["worker", "--loglevel=INFO", f"--concurrency={options['concurrency']}",
                f"--queues={options['queues']}"]
        if options["beat"]:
            argv.append("--beat")
        app.worker_main(argv)
