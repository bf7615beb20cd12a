"""Theme impact on NPS and CSAT, emerging themes, and the executive dashboard's top themes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from opencem.accounts.selectors import scope_for_user
from opencem.core.models import OutboxEvent
from opencem.metrics.tests.factories import make_survey
from opencem.textanalytics import services
from opencem.textanalytics.insight import emerging_themes, theme_impacts
from opencem.textanalytics.models import EmergingTheme
from opencem.textanalytics.tests.factories import feedback, respond

pytestmark = pytest.mark.django_db

MARCH = datetime(2025, 3, 10, 12, tzinfo=UTC)
LATE = "My delivery was late again and nobody called me back."
GOOD = "Lovely staff, friendly and helpful."


@pytest.fixture
def scored(org, admin):
    _, version = make_survey(org.company)
    respond(version, org.store_a, count=10, nps=2, csat=1, comment=LATE, at=MARCH)
    respond(version, org.store_a, count=10, nps=10, csat=5, comment=GOOD, at=MARCH)
    respond(version, org.store_a, count=10, nps=9, csat=5, at=MARCH)
    services.analysis_run_pending()
    return org


def test_a_theme_of_detractors_pulls_nps_and_csat_down(scored, admin):
    impacts = {i.theme.code: i for i in theme_impacts(
        scope=scope_for_user(admin.user), start=date(2025, 3, 1), end=date(2025, 3, 31))}
    late = impacts["delivery.timeliness"]
    # 10 detractors, 20 promoters: NPS 33.3; without the 10 late ones: 100.
    assert late.nps_overall.value == pytest.approx(33.3, abs=0.1)
    assert late.nps_without.value == pytest.approx(100.0)
    assert late.nps_impact == pytest.approx(-66.7, abs=0.1)
    assert late.csat_impact == pytest.approx(66.7 - 100.0, abs=0.1)
    assert late.theme.mentions == 10
    assert late.theme.net_sentiment == -100.0
    assert late.trend[-1] == (date(2025, 3, 1), 10)
    friendly = impacts["staff.friendliness"]
    assert friendly.nps_impact is not None
    assert friendly.nps_impact > 0


def test_the_impact_api_and_page_answer_in_scope(scored, admin, manager_b, client):
    body = admin.api().get("/api/v1/text/impact", {"since": "2025-03-01",
                                                   "until": "2025-03-31"}).json()
    codes = [i["theme"]["code"] for i in body]
    assert "delivery.timeliness" in codes
    assert manager_b.api().get("/api/v1/text/impact", {"since": "2025-03-01",
                                                       "until": "2025-03-31"}).json() == []
    bad = admin.api().get("/api/v1/text/impact", {"since": "2025-04-01", "until": "2025-03-01"})
    assert bad.status_code == 422
    client.force_login(admin.user)
    html = client.get("/text/insight/", {"since": "2025-03-01", "until": "2025-03-31"})
    assert html.status_code == 200
    assert "Delivery on time" in html.content.decode()


def test_the_executive_dashboard_lists_top_themes(scored, admin, client):
    client.force_login(admin.user)
    html = client.get("/dashboards/executive/", {"since": "2025-03-01",
                                                 "until": "2025-03-31"}).content.decode()
    assert 'id="themes"' in html
    assert "Delivery on time" in html


def test_a_theme_rising_this_week_is_announced_once(org):
    today = date(2026, 11, 27)
    for day in range(7, 35):  # a quiet month before: one late delivery in ten comments
        when = datetime.combine(today - timedelta(days=day), datetime.min.time(), tzinfo=UTC)
        feedback(LATE if day % 10 == 0 else GOOD, when=when)
    for day in range(7):  # this week: mostly late deliveries
        when = datetime.combine(today - timedelta(days=day), datetime.min.time(), tzinfo=UTC)
        feedback(LATE, when=when)
        feedback(LATE, when=when + timedelta(hours=1))
    services.analysis_run_pending()
    found = {e.code for e in emerging_themes(today=today)}
    assert "delivery.timeliness" in found
    assert "staff.friendliness" not in found
    announced = services.emerging_themes_announce(today=today)
    assert "delivery.timeliness" in {e.theme.code for e in announced}
    assert services.emerging_themes_announce(today=today) == []
    events = OutboxEvent.objects.filter(topic="theme.emerging")
    assert events.count() == EmergingTheme.objects.count() >= 1
    payload = events.filter(payload__theme="delivery.timeliness").get().payload
    assert payload["week"] == "2026-11-23"
    assert payload["share"] > payload["baseline_share"]


def test_metrics_group_responses_by_theme_and_comment_sentiment(scored, admin):
    def groups(dim):
        response = admin.api().get("/api/v1/metrics", {
            "metric": "nps", "group_by": dim, "from": "2025-03-01", "to": "2025-03-31"})
        assert response.status_code == 200, response.content
        return {g["key"][dim]: g for g in response.json()["groups"]}

    by_sentiment = groups("sentiment")
    assert by_sentiment["negative"]["n"] == 10
    assert by_sentiment["negative"]["value"] == -100.0
    assert by_sentiment["positive"]["value"] == 100.0
    by_theme = groups("theme")
    assert by_theme["delivery.timeliness"]["n"] == 10
    assert by_theme["delivery.timeliness"]["value"] == -100.0
    assert by_theme["staff.friendliness"]["value"] == 100.0
