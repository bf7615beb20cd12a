"""The distribution, contact-rule, responses and feedback pages in a real headless Chromium:
an admin sets up a trigger and a contact rule, sends an invitation and finds it listed; the
pages work without JavaScript; and axe-core finds nothing serious on any of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from django.core import mail
from playwright.sync_api import expect

from opencem.conftest import Org, Persona, new_page
from opencem.feedback.services import FeedbackInput, feedback_ingest
from opencem.surveys import distribution
from opencem.surveys.models import ContactRule, Invitation, Survey, Trigger
from opencem.surveys.tests.test_distribution_factories import (
    ingest,
    make_rule,
    make_survey,
    make_trigger,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page
    from pytest_django.live_server_helper import LiveServer

Shoot = Callable[["Page", str], None]
SCRIPT = "<script>alert(1)</script>"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, dialogs: list[str]) -> Iterator[Page]:
    page = new_page(browser, live_server.url)

    def on_dialog(dialog):
        # Confirmations are accepted and recorded, so a test can also tell that no injected
        # script ever raised an alert.
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", on_dialog)
    yield page
    page.context.close()
    # Nothing injected ever raised an alert; only confirmations asked by the pages happened.
    assert [d for d in dialogs if not d.startswith("confirm: ")] == []


@pytest.fixture
def survey(org: Org) -> Survey:
    return make_survey(unit=org.company, name="Store CSAT")


def sign_in(page: Page, persona: Persona) -> None:
    username = persona.user.get_username()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def nav_link(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


def serious_violations(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415 (browser-only dep)

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def test_an_admin_sets_up_distribution_and_sends_an_invitation(
        page: Page, admin: Persona, survey: Survey, dialogs: list[str],
        screenshot: Shoot) -> None:
    ingest(email="ann@example.com", unit="STORE-A", name="Ann Alpha")
    sign_in(page, admin)
    page.goto(f"/surveys/{survey.pk}/distribution/")
    page.get_by_role("heading", name="Triggers").wait_for()

    triggers = page.locator("#triggers")
    triggers.get_by_label("Name", exact=True).fill("After a store purchase")
    triggers.get_by_label("Interaction kinds").fill("purchase")
    triggers.get_by_label("Store", exact=True).check()
    triggers.get_by_label("Sample (%)").fill("50")
    triggers.get_by_role("button", name="Add trigger").click()
    page.get_by_role("status").get_by_text("Trigger \u201cAfter a store purchase\u201d added."
                                           ).wait_for()
    row = page.locator("#triggers tbody tr", has_text="After a store purchase")
    assert "purchase; store; any unit" in " ".join(row.inner_text().split())
    trigger = Trigger.objects.get()
    assert (trigger.kinds, trigger.channels, trigger.sample_percent) == (
        ["purchase"], ["store"], 50)

    nav_link(page, "Contact rules").click()
    page.get_by_label("At most (invitations)").fill("3")
    page.get_by_label("Period (days)").fill("30")
    page.get_by_label("Minimum gap (days)").fill("7")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_role("status").get_by_text("Contact rule added.").wait_for()
    expect(page.get_by_role("cell", name="3 in 30 days")).to_be_visible()
    screenshot(page, "contact-rules")
    rule = ContactRule.objects.get()
    assert (rule.survey, rule.max_invitations, rule.min_gap_days) == (None, 3, 7)

    page.goto(f"/surveys/{survey.pk}/distribution/")
    send = page.locator("#send")
    send.get_by_label("Customers").fill("ann@example.com")
    send.get_by_role("button", name="Send invitations").click()
    page.get_by_role("status").get_by_text("1 invitation: 1 sent.").wait_for()
    listed = page.locator("#invitations tbody tr", has_text="ann@example.com")
    expect(listed.get_by_text("Sent", exact=True)).to_be_visible()
    expect(listed.get_by_role("link", name="Ann Alpha")).to_be_visible()
    screenshot(page, "distribution")
    assert Invitation.objects.get().status == "sent"
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]

    # A second invitation falls within the rule's minimum gap: listed with the reason.
    send.get_by_label("Customers").fill("ann@example.com")
    send.get_by_role("button", name="Send invitations").click()
    page.get_by_role("status").get_by_text("1 invitation: 1 suppressed").wait_for()
    expect(page.locator("#invitations").get_by_text("minimum gap 7 days")).to_be_visible()

    # htmx deletes the trigger in place, after a confirmation.
    row.get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert dialogs == ["confirm: Delete this trigger? Invitations it made stay."]
    assert not Trigger.objects.exists()


def test_the_pages_work_without_javascript(browser: Browser, live_server: LiveServer,
                                           admin: Persona, survey: Survey) -> None:
    make_trigger(survey, name="After a purchase")
    make_rule(max_invitations=2)
    page = new_page(browser, live_server.url, java_script_enabled=False)
    try:
        sign_in(page, admin)
        page.goto(f"/surveys/{survey.pk}/distribution/")
        page.get_by_role("button", name="Delete").click()
        page.get_by_role("status").get_by_text("Trigger \u201cAfter a purchase\u201d deleted."
                                               ).wait_for()
        assert not Trigger.objects.exists()
        nav_link(page, "Contact rules").click()
        page.get_by_role("link", name="Edit").click()
        page.get_by_label("Period (days)").fill("0")
        page.get_by_role("button", name="Save rule").click()
        expect(page.get_by_text("must be between 1 and 3650")).to_be_visible()
        assert page.get_by_label("Period (days)").get_attribute("aria-invalid") == "true"
        assert ContactRule.objects.get().period_days == 30
    finally:
        page.context.close()


@pytest.fixture
def filled(admin: Persona, survey: Survey) -> dict[str, int]:
    """A survey with a trigger, a rule, an invitation, and feedback and a response carrying
    markup, so the pages are checked with all of it in place."""
    ann = ingest(email="ann@example.com", unit="STORE-A", name=SCRIPT)
    feedback_ingest(items=[FeedbackInput(
        kind="review", text=f"{SCRIPT} slow tills", source="google_reviews",
        occurred_at=ann.occurred_at, unit="STORE-A", rating=2, rating_max=5,
        title=SCRIPT)], scope=distribution.SYSTEM_SCOPE, actor=None)
    answered = admin.api().post_json("/api/v1/responses", {
        "survey": survey.pk, "unit": "STORE-A", "customer": {"email": "ann@example.com"},
        "answers": {"csat": 2, "reason": f"{SCRIPT} nobody helped"}})
    assert answered.status_code == 201, answered.content
    distribution.invitation_send_now(survey=survey, customer_id=ann.customer.pk,
                                     scope=distribution.SYSTEM_SCOPE)
    return {"survey": survey.pk, "trigger": make_trigger(survey).pk,
            "rule": make_rule(max_invitations=2).pk}


@pytest.mark.parametrize("path", [
    "/surveys/{survey}/distribution/", "/surveys/triggers/{trigger}/",
    "/settings/contact-rules/", "/settings/contact-rules/{rule}/", "/responses/",
    "/feedback/"])
def test_the_pages_pass_axe_core_and_show_customer_text_as_text(
        page: Page, admin: Persona, filled: dict[str, int], path: str,
        screenshot: Shoot) -> None:
    sign_in(page, admin)
    page.goto(path.format(**filled))
    page.get_by_role("heading", level=1).wait_for()
    assert serious_violations(page) == []
    assert page.locator("main script").count() == 0
    screenshot(page, path.strip("/").replace("/", "-").replace("{", "").replace("}", ""))
    page.wait_for_timeout(100)  # let any wrongly injected handler fire before judging
