"""Celery entry points of the dashboards: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from opencem.dashboards import services


@shared_task(name="dashboards.send_weekly_digests")
def send_weekly_digests() -> int:
    """Mail last week's digest to everyone due it (run hourly; each week goes out once)."""
    return services.digests_send()
