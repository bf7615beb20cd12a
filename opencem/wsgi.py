"""WSGI entry point for gunicorn: ``gunicorn opencem.wsgi``."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opencem.settings.dev")
application = get_wsgi_application()
