"""Every dashboard in a real headless Chromium against a live server: the charts are drawn
by plotly.js from the plotly package, htmx swaps the filtered panels, and axe-core finds no
serious accessibility violation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from opencem.accounts.services import unit_create
from opencem.conftest import Org, Persona, Session
from opencem.dashboards.models import PerceptionEstimate
from opencem.dashboards.tests.factories import MARCH, interaction, make_survey, respond
from opencem.metrics.models import MetricTarget
from opencem.surveys.tests.test_public_browser import serious_violations

if TYPE_CHECKING:
    from playwright.sync_api import Page

Shoot = Callable[["Page", str], None]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>alert('dashboards')</script>"
FEBRUARY = "2025-02-10T12:00:00+00:00"


@pytest.fixture
def data(org: Org) -> Org:
    """Three stores with responses in February and March 2025, comments and calls."""
    from datetime import datetime  # noqa: PLC0415

    february = datetime.fromisoformat(FEBRUARY)
    store_c = unit_create(code="STORE-C", name="Store C", parent=org.north)
    _, version = make_survey(org.company)
    for unit, promoters, detractors in ((org.store_a, 30, 5), (org.store_b, 10, 25),
                                        (store_c, 20, 10)):
        respond(version, unit, count=promoters, nps=10, csat=5, at=february)
        respond(version, unit, count=detractors, nps=3, csat=2, at=february)
        respond(version, unit, count=promoters, nps=9, csat=4, comment=f"Good at {unit.name}")
        respond(version, unit, count=detractors, nps=2, csat=1, comment=SCRIPT)
    call = interaction(org.store_a)
    respond(version, org.store_a, count=30, nps=4, csat=2, interaction_id=call,
            comment=f"Waited too long {SCRIPT}")
    return org


def charts_drawn(page: Page, count: int) -> None:
    """``count`` Plotly charts drawn on the page, each with its SVG and at least one trace."""
    drawn = page.locator(".chart.drawn")
    expect(drawn).to_have_count(count)
    for i in range(count):
        chart = drawn.nth(i)
        expect(chart.locator("svg.main-svg").first).to_be_attached()
        assert chart.locator("g.trace").count() > 0


def test_the_executive_dashboard_draws_its_charts_and_filters_with_htmx(
        session: Session, data: Org, admin: Persona, screenshot: Shoot) -> None:
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.get_by_role("link", name="Dashboards").click()
    page.get_by_role("heading", name="Executive dashboard").wait_for()
    page.goto(session.url(f"/dashboards/executive/?{MARCH}&level=store"))
    charts_drawn(page, 4)  # NPS and CSAT trends, consistency, league
    expect(page.locator("#league")).to_contain_text("Store A")
    screenshot(page, "dashboard-executive")
    assert serious_violations(page) == []
    page.get_by_label("Rank units by").select_option("csat")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="League table: CSAT by store")).to_be_visible()
    assert "metric=csat" in page.url  # the filtered view can be bookmarked
    charts_drawn(page, 4)
    assert session.dialogs == []


def test_a_manager_sees_their_store_and_records_an_expected_score(
        session: Session, data: Org, manager_a: Persona, screenshot: Shoot) -> None:
    page = session.page
    session.sign_in("manager_a", "pw-manager_a")
    page.goto(session.url(f"/dashboards/manager/?{MARCH}"))
    charts_drawn(page, 1)
    expect(page.locator("#comments")).to_contain_text("Waited too long")
    expect(page.locator("#comments")).to_contain_text(SCRIPT)  # shown as text, not run
    expect(page.locator("#dashboard")).not_to_contain_text("Store B")
    assert serious_violations(page) == []
    form = page.locator("#perception form").last
    form.get_by_label("Unit").select_option("STORE-A")
    form.get_by_label("Month").fill("2025-03")
    form.get_by_label("Score you expect").fill("90")
    form.get_by_role("button", name="Record expected score").click()
    expect(page.get_by_text("Your expected score is recorded.")).to_be_visible()
    assert PerceptionEstimate.objects.get().expected == 90
    screenshot(page, "dashboard-manager")
    assert serious_violations(page) == []
    assert session.dialogs == []


def test_an_agent_reads_feedback_on_calls_and_pages_back(
        session: Session, data: Org, agent_a: Persona, screenshot: Shoot) -> None:
    page = session.page
    session.sign_in("agent_a", "pw-agent_a")
    page.goto(session.url("/dashboards/agent/"))
    rows = page.locator("#agent-rows > tr[id^=response-]")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("Waited too long")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Older responses").click()
    expect(rows).to_have_count(30)
    screenshot(page, "dashboard-agent")
    assert session.dialogs == []


def test_the_explorer_answers_with_a_chart_and_downloads_the_table(
        session: Session, data: Org, admin: Persona, screenshot: Shoot) -> None:
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url(f"/dashboards/explorer/?{MARCH}"))
    page.get_by_label("Metric").select_option("csat")
    page.get_by_label("Group by").select_option("unit")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="CSAT by unit")).to_be_visible()
    charts_drawn(page, 1)
    expect(page.locator("#explorer-table")).to_contain_text("Store C (STORE-C)")
    screenshot(page, "dashboard-explorer")
    assert serious_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this table (XLSX)").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_the_summary_prints_without_the_controls(
        session: Session, data: Org, admin: Persona, screenshot: Shoot) -> None:
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url(f"/dashboards/summary/?{MARCH}"))
    expect(page.get_by_role("heading", name="Executive summary: Acme Retail")).to_be_visible()
    charts_drawn(page, 4)
    assert serious_violations(page) == []
    page.emulate_media(media="print")
    expect(page.locator("form").first).to_be_hidden()
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    expect(page.locator(".chart.drawn").first).to_be_visible()
    screenshot(page, "dashboard-summary-print")


def test_an_admin_sets_a_target_on_the_settings_page(
        session: Session, data: Org, admin: Persona, screenshot: Shoot) -> None:
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url("/dashboards/settings/"))
    assert serious_violations(page) == []
    form = page.locator("#targets form").last
    form.get_by_label("Unit").select_option("NORTH")
    form.get_by_label("Metric").select_option("nps")
    form.get_by_label("Target").fill("45")
    form.get_by_role("button", name="Set target").click()
    expect(page.get_by_text("The target of North is set.")).to_be_visible()
    assert MetricTarget.objects.get().value == 45
    screenshot(page, "dashboard-settings")
    assert serious_violations(page) == []
