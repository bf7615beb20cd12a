"""``opencem serve``: the web app on 127.0.0.1:$PORT (gunicorn in production, see README)."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the app for one machine (Django's server; use gunicorn in production)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
