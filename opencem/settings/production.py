"""Production settings: refuse to start without a secret key or with DEBUG on."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from opencem.settings.base import *  # noqa: F403
from opencem.settings.base import DATA_DIR
from opencem.settings.env import envbool, envint, envstr

SECRET_KEY = envstr("SECRET_KEY", "")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of 32+ characters.")
DEBUG = envbool("DEBUG", False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0, minimum=0)
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(DATA_DIR / "static")))
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
