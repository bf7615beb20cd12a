"""The demo company ships with a complete retail journey map on its own data."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from opencem.accounts.selectors import scope_for_user
from opencem.journeys.paths import path_report
from opencem.journeys.selectors import (
    emotion_curve,
    gap_ranking,
    journey_figures,
    journey_stages,
    journeys_visible,
    window_of,
)

pytestmark = pytest.mark.django_db


def test_the_demo_journey_map_is_mapped_onto_the_demo_data() -> None:
    call_command("demo", "--size", "tiny", "--seed", "1", "--until", "2026-06-30",
                 verbosity=0, stdout=io.StringIO())
    analyst = get_user_model().objects.get(username="analyst")
    scope = scope_for_user(analyst)
    (journey,) = journeys_visible(scope=scope)
    stages = journey_stages(journey)
    assert [s.name for s in stages] == ["Discover", "Buy", "Receive", "Use", "Get help",
                                        "Renew"]
    window = window_of(date(2024, 7, 1), date(2026, 6, 30))
    figures = {f.touchpoint.name: f for f in journey_figures(
        scope=scope, journey=journey, window=window, stages=stages)}
    assert len(figures) == 13
    # Every touchpoint meets real interactions or responses.
    assert all(f.reach > 0 for f in figures.values()), {
        n: f.reach for n, f in figures.items()}
    for measured in ("Store checkout", "Home delivery", "Support call", "Relationship"):
        assert figures[measured].actual.n >= 5, measured
        assert figures[measured].actual.value is not None, measured
    assert any(p.measured is not None for p in emotion_curve(stages, list(figures.values())))
    assert gap_ranking(list(figures.values()))
    report = path_report(scope=scope, journey=journey, window=window)
    assert report.customers >= 80
    assert report.paths
    assert report.flows
    # A second load finds the journey and leaves it alone.
    call_command("demo", "--size", "tiny", "--seed", "1", "--until", "2026-06-30",
                 verbosity=0, stdout=io.StringIO())
    assert journeys_visible(scope=scope).count() == 1
