"""WSGI entry point for gunicorn: ``gunicorn opencem.wsgi``."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opencem.settings.dev")
application = get_wsgi_application()

# Imported once Django is set up: the relay reads the settings.
from opencem.core.relay import outbox_wake_ready  # noqa: E402

outbox_wake_ready()
