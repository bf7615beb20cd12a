"""Celery entry points of journeys: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from opencem.journeys import paths


@shared_task(name="journeys.refresh_paths")
def refresh_paths() -> int:
    """Map the interactions stored since the last run onto every journey's touchpoints, so a
    page asking for paths finds the steps ready (run every quarter of an hour)."""
    return paths.paths_refresh_all()
