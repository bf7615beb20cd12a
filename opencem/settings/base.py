"""Settings shared by every environment. Each value can be set by an environment variable;
the README lists them all with their defaults."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from opencem.settings.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(envstr("OPENCEM_DATA_DIR", str(BASE_DIR.parent / "var"))).resolve()

DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = envstr("SITE_NAME", "OpenCEM")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "opencem.core",
    "opencem.accounts",
    "opencem.customers",
    "opencem.surveys",
    "opencem.feedback",
    "opencem.metrics",
    "opencem.journeys",
    "opencem.textanalytics",
    "opencem.closedloop",
    "opencem.integrations",
    "opencem.dashboards",
    "opencem.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "opencem.core.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "opencem.accounts.middleware.ApiKeyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "opencem.core.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "opencem.urls"
WSGI_APPLICATION = "opencem.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "opencem.core.context_processors.site",
                "opencem.accounts.context_processors.access",
            ],
        },
    }
]


def _database(url: str) -> dict[str, object]:
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
        # the start of a transaction, so two writers queue instead of failing with "locked".
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        config["CONN_MAX_AGE"] = 0
    else:
        config["CONN_HEALTH_CHECKS"] = True
        # The hot write paths send their statements with server-side binding
        # (opencem.core.statements); psycopg prepares each the first time a connection runs
        # it, so PostgreSQL parses and plans it once per connection. A pooler in transaction
        # mode that cannot keep prepared statements needs DATABASE_PREPARED_STATEMENTS=false.
        if envbool("DATABASE_PREPARED_STATEMENTS", True):
            # Added to what the URL's query string set (sslmode=... and the like).
            given = config.get("OPTIONS")
            options: dict[str, object] = dict(given) if isinstance(given, dict) else {}
            options.setdefault("prepare_threshold", 0)
            config["OPTIONS"] = options
    return config


DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'opencem.sqlite3'}")
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work: with no broker configured, Celery runs tasks in-process (eager mode), so
# one machine with one command needs no Redis.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == ""
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run in-process; the in-memory transport keeps Celery from reaching for an AMQP
    # server on localhost whenever it opens a connection.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Mails and webhook deliveries have a queue of their own, so that a burst of outbox work
# does not hold them back; `opencem worker` consumes both queues unless told otherwise.
CELERY_TASK_ROUTES = {"closedloop.send_notification": {"queue": "notifications"},
                      "integrations.deliver": {"queue": "notifications"}}
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
_CLOSEDLOOP_SWEEP = float(envint("OPENCEM_CLOSEDLOOP_SWEEP_SECONDS", 60, minimum=1))
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Outbox events whose wake-up message was lost (a broker restart) are relayed by this.
    "core-outbox-sweep": {"task": "core.outbox_sweep",
                          "schedule": float(envint("OPENCEM_OUTBOX_SWEEP_SECONDS", 30,
                                                   minimum=1))},
    "purge-idempotency-records": {"task": "core.purge_idempotency_records", "schedule": 3600.0},
    "surveys-send-due-invitations": {"task": "surveys.send_due_invitations", "schedule": 60.0},
    "surveys-send-reminders": {"task": "surveys.send_reminders", "schedule": 3600.0},
    "surveys-expire-invitations": {"task": "surveys.expire_invitations", "schedule": 3600.0},
    "surveys-sweep-triggers": {"task": "surveys.sweep_triggers", "schedule": 3600.0},
    # Hourly, so a digest missed while nothing ran goes out at the next run; each user's week
    # is mailed once.
    "dashboards-weekly-digests": {"task": "dashboards.send_weekly_digests", "schedule": 3600.0},
    "journeys-refresh-paths": {"task": "journeys.refresh_paths", "schedule": 900.0},
    # New feedback is analysed within seconds; each run takes what is pending in batches.
    "textanalytics-analyze-pending": {"task": "textanalytics.analyze_pending", "schedule": 5.0},
    "textanalytics-emerging-themes": {"task": "textanalytics.announce_emerging_themes",
                                      "schedule": 3600.0},
    # Cases past their SLA are escalated; follow-ups and mails whose wake-up was lost go out.
    "closedloop-sweep": {"task": "closedloop.sweep", "schedule": _CLOSEDLOOP_SWEEP},
    "closedloop-send-due-notifications": {"task": "closedloop.send_due_notifications",
                                          "schedule": _CLOSEDLOOP_SWEEP},
    "integrations-deliver-due": {"task": "integrations.deliver_due",
                                 "schedule": _CLOSEDLOOP_SWEEP},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# One machine serves static files straight from the apps (whitenoise with finders); production
# collects them into STATIC_ROOT (`opencem manage collectstatic`).
STATIC_ROOT: Path | None = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js from the plotly package, under a name that carries its version.
    "opencem.dashboards.staticfiles.PlotlyFinder",
]
# Files whose name carries their version may be cached for good.
WHITENOISE_IMMUTABLE_FILE_TEST = r"/dashboards/plotly-[0-9][0-9.]*\.min\.js$"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_HOST = envstr("EMAIL_HOST", "")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "OpenCEM <cx@localhost>")
# Without an SMTP host, emails (password resets) are printed to the console.
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

# Request bodies above this are refused with 413 before anything is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("OPENCEM_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)

# Customer identities: phone numbers without a country prefix are read in this region.
OPENCEM_PHONE_REGION = envstr("OPENCEM_PHONE_REGION", "GB")
OPENCEM_API_BATCH_LIMIT = 1000
# Public (unauthenticated) endpoints: requests per minute per client IP.
OPENCEM_PUBLIC_RATE_LIMIT = envint("OPENCEM_PUBLIC_RATE_LIMIT", 30, minimum=1)
# Web sites (scheme://host[:port]) whose pages may embed the feedback widget and post answers.
OPENCEM_WIDGET_ORIGINS = [o.rstrip("/") for o in envlist("OPENCEM_WIDGET_ORIGINS", [])]
# Anonymity: no metric is shown for a group of fewer respondents. Organisations may raise it
# for themselves, never lower it.
OPENCEM_ANONYMITY_K = envint("OPENCEM_ANONYMITY_K", 5, minimum=1)
# Webhook URLs on loopback are refused like every non-public address; the tests alone turn
# this on (it is never read from the environment) to run a receiver on this machine.
OPENCEM_WEBHOOKS_ALLOW_LOOPBACK = False
# How many hours an Idempotency-Key is remembered.
OPENCEM_IDEMPOTENCY_HOURS = envint("OPENCEM_IDEMPOTENCY_HOURS", 24, minimum=1)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # In-process tasks would log a line per task run into the web or command output.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}
