"""Celery entry points of text analytics: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from opencem.textanalytics import services

# One run takes at most this many items, so a beat tick never runs for long; the next tick
# goes on where it stopped.
ITEMS_PER_RUN = 2000
LOCK = "textanalytics:analyze_pending"


@shared_task(name="textanalytics.analyze_pending")
def analyze_pending() -> int:
    """Analyse feedback with no analysis yet, then stale analyses (run every few seconds).
    Runs that overlap (a slow one and the next tick) skip rather than analyse twice."""
    if not cache.add(LOCK, 1, timeout=900):
        return 0
    try:
        return services.analysis_run_pending(max_items=ITEMS_PER_RUN)
    finally:
        cache.delete(LOCK)


@shared_task(name="textanalytics.announce_emerging_themes")
def announce_emerging_themes() -> int:
    """Announce themes whose share of comments rose significantly this week (run hourly)."""
    return len(services.emerging_themes_announce())
