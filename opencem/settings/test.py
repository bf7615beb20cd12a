"""Settings for the test suite; the database comes from DATABASE_URL like everywhere else."""

from __future__ import annotations

from opencem.settings.base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-for-any-deployment-0123456789"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
ALLOWED_HOSTS = ["*"]
