"""The closed-loop pages in a real headless Chromium against a live server: the inbox, a
case closed with its root cause beside the customer's 360, an alert rule previewed with htmx
and saved, the reports, the customer card and the webhooks page; customer text never runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from opencem.closedloop.models import AlertRule, Case
from opencem.closedloop.tests.factories import make_rule, make_survey, respond
from opencem.surveys.tests.test_public_browser import serious_violations

if TYPE_CHECKING:
    pass

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("starter_taxonomy")]

SCRIPT = "<script>alert('cases')</script>"


@pytest.fixture
def case(org, admin, manager_a):
    make_rule(unit=org.company)
    # Committed: the relay runs in-process (eager) once the response is stored.
    respond(admin.api(), make_survey(unit=org.company).pk, nps=2,
            reason=f"Queue {SCRIPT} forever")
    return Case.objects.get()


def test_a_manager_works_a_case_from_the_inbox_to_closed(session, case):
    page = session.page
    session.sign_in("manager_a", "pw-manager_a")
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page.locator("#count-mine")).to_have_text("1")
    assert serious_violations(page) == []
    page.get_by_role("link", name=f"#{case.pk} Detractors").click()
    expect(page.get_by_role("heading", name="Customer 360")).to_be_visible()
    expect(page.locator("#case-status")).to_have_text("New")
    assert page.locator("main script").count() == 0
    assert serious_violations(page) == []
    page.locator("#id_text").fill("Called the customer")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#case-events")).to_contain_text("Called the customer")
    page.locator("#id_status").select_option("closed")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("main")).to_contain_text("give the root cause: a theme of the taxonomy")
    page.locator("#id_root_cause").select_option("service.waiting")
    page.locator("#id_issue_resolved").select_option("yes")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("#case-status")).to_have_text("Closed")
    # The inbox's filters swap its rows in place (htmx).
    page.get_by_role("link", name="← Cases").click()
    expect(page.locator("#case-rows")).to_contain_text("No cases match.")
    page.locator("#id_status").select_option("closed")
    expect(page.locator("#case-rows")).to_contain_text(f"#{case.pk} Detractors")
    assert session.dialogs == []


def test_an_analyst_previews_and_saves_an_alert_rule(session, org, admin):
    respond(admin.api(), make_survey(unit=org.company).pk, nps=3)
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.get_by_role("link", name="Alert rules").click()
    page.get_by_role("link", name="New alert rule").click()
    page.get_by_label("Name").fill("Unhappy customers")
    page.locator("#id_unit").select_option(label="Acme Retail (ACME)")
    page.get_by_label("Create a case").check()
    page.get_by_role("button", name="Preview the last 30 days").click()
    expect(page.locator("#preview")).to_contain_text("Would have fired 1 time")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("cell", name="Unhappy customers", exact=True)).to_be_visible()
    assert AlertRule.objects.get().actions == ["case"]


def test_reports_card_and_webhooks_pages(session, case, org, admin):
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url("/cases/reports/"))
    expect(page.get_by_role("heading", name="Top root causes")).to_be_visible()
    assert serious_violations(page) == []
    page.goto(session.url(f"/customers/{case.customer_id}/card/"))
    expect(page.locator("#card-cases")).to_contain_text(f"#{case.pk}")
    page.goto(session.url("/integrations/webhooks/"))
    page.get_by_label("Name").fill("Chat")
    page.get_by_label("URL").fill("http://169.254.169.254/latest/")
    page.get_by_label("case.created").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("must point at a public internet address")).to_be_visible()
    assert serious_violations(page) == []
    assert session.dialogs == []
