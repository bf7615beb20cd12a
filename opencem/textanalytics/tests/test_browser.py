"""The text explorer and the taxonomy in a real headless Chromium against a live server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from opencem.metrics.tests.factories import make_survey
from opencem.surveys.tests.test_public_browser import serious_violations
from opencem.textanalytics import services
from opencem.textanalytics.tests.factories import feedback, respond

if TYPE_CHECKING:
    pass

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>alert('text')</script>"


@pytest.fixture(autouse=True)
def _starter() -> None:
    # Transactional tests start from an empty database, without the data migration's rows.
    services.taxonomy_install_starter()


def test_a_manager_searches_comments_and_sees_mentions_highlighted(session, org, manager_a,
                                                                   screenshot):
    feedback(f"The sofa arrived damaged {SCRIPT}. Call me on 07700 900123.",
             email="dee@example.com")
    feedback("The staff were friendly and helpful, thank you!")
    for i in range(30):
        feedback(f"Delivery {i} was late again and nobody called.")
    services.analysis_run_pending()
    page = session.page
    session.sign_in("manager_a", "pw-manager_a")
    page.get_by_role("link", name="Text").first.click()
    page.get_by_role("heading", name="Text explorer").wait_for()
    page.get_by_role("button", name="Search comments").click()
    rows = page.locator("#explorer-rows > tr[id^=comment-]")
    expect(rows).to_have_count(25)
    page.get_by_role("link", name="Older comments").click()
    expect(rows).to_have_count(32)
    assert serious_violations(page) == []

    page.get_by_label("Words").fill("sofa")
    page.get_by_label("Sentiment").select_option("negative")
    page.get_by_role("button", name="Search comments").click()
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator("mark.mention.s-negative").first).to_contain_text("The sofa arrived")
    expect(row).to_contain_text(SCRIPT)  # shown as text, never run
    expect(row).to_contain_text("[PHONE]")
    expect(row).not_to_contain_text("07700")
    row.get_by_role("link", name="Customer 360").click()
    page.get_by_role("heading", level=1).wait_for()
    assert "/customers/" in page.url
    screenshot(page, "text-explorer")
    assert session.dialogs == []


def test_an_analyst_adds_a_theme_and_asks_for_reanalysis(session, org, admin, screenshot):
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url("/text/taxonomy/"))
    expect(page.get_by_role("heading", name="Delivery")).to_be_visible()
    assert serious_violations(page) == []
    form = page.locator("form[action$='/text/taxonomy/themes/']")
    form.get_by_label("Category").select_option("delivery")
    form.get_by_label("Label").fill("Parcel lockers")
    form.get_by_label("Phrases").fill("locker*\nparcel box")
    form.get_by_role("button", name="Add theme").click()
    expect(page.get_by_text("The theme “Parcel lockers” is added.")).to_be_visible()
    expect(page.get_by_role("cell", name="locker*, parcel box")).to_be_visible()
    page.get_by_role("button", name="Re-analyse every comment").click()
    expect(page.get_by_text("will be analysed again")).to_be_visible()
    screenshot(page, "text-taxonomy")
    assert session.dialogs == []


def test_an_executive_reads_theme_impact_and_opens_the_comments(session, org, admin,
                                                                screenshot):
    at = datetime(2025, 3, 10, 12, tzinfo=UTC)
    _, version = make_survey(org.company)
    respond(version, org.store_a, count=8, nps=2, csat=1, at=at,
            comment=f"My delivery was late again {SCRIPT}")
    respond(version, org.store_a, count=12, nps=10, csat=5, at=at, comment="Friendly staff.")
    services.analysis_run_pending()
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url("/text/insight/?since=2025-03-01&until=2025-03-31"))
    table = page.locator("#impact")
    expect(table).to_contain_text("Delivery on time")
    expect(table).to_contain_text("-80.0")  # NPS 20 with it, 100 without
    assert serious_violations(page) == []
    screenshot(page, "text-insight")
    table.get_by_role("link", name="Delivery on time").click()
    page.get_by_role("heading", name="Text explorer").wait_for()
    rows = page.locator("#explorer-rows > tr[id^=comment-]")
    expect(rows).to_have_count(8)
    expect(rows.first).to_contain_text(SCRIPT)
    assert session.dialogs == []
