"""Settings of the benchmark's HTTP server: the test settings that ``bench.run`` uses (DEBUG
off, a per-process cache), serving the app's URLs plus the bench-only ones of
``bench/urls.py``. Given ``CELERY_BROKER_URL`` the server only wakes workers through it, as
in production (background work is not the web tier's); without one Celery runs in-process."""

import os

from opencem.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")

ROOT_URLCONF = "bench.urls"
