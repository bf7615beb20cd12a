"""Settings of the benchmark's HTTP server: the test settings that ``bench.run`` uses (DEBUG
off, Celery in-process, a per-process cache), serving the app's URLs plus the bench-only ones
of ``bench/urls.py``."""

from opencem.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
