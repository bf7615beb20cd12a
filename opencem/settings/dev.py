"""Settings for one machine: the demo and local development (DEBUG on by default)."""

from __future__ import annotations

import secrets

from opencem.settings.base import *  # noqa: F403
from opencem.settings.base import DATA_DIR
from opencem.settings.env import envbool, envstr

DEBUG = envbool("DEBUG", True)


def _local_secret_key() -> str:
    # No secret is written in the code: a random one is made once per data directory.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


WHITENOISE_AUTOREFRESH = DEBUG
SECRET_KEY = envstr("SECRET_KEY", "") or _local_secret_key()
