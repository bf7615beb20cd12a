"""The survey builder in a real headless Chromium: an admin builds a survey from a template,
previews it, publishes it, and a respondent sees it on the link for anyone; and axe-core
finds nothing serious on the builder's pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from opencem.conftest import Org, Persona, new_page
from opencem.feedback.models import Response
from opencem.surveys.distribution import SYSTEM_SCOPE
from opencem.surveys.models import Survey
from opencem.surveys.services import survey_create
from opencem.surveys.templates_library import TEMPLATES

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

Shoot = Callable[["Page", str], None]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, settings) -> Iterator[Page]:
    settings.OPENCEM_PUBLIC_RATE_LIMIT = 1000
    page = new_page(browser, live_server.url)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    assert dialogs == []  # nothing on these pages should need a confirmation box
    page.context.close()


def sign_in(page: Page, persona: Persona) -> None:
    username = persona.user.get_username()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def serious_violations(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415 (browser-only dep)

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def question_order(page: Page) -> list[str]:
    return page.locator("ol.questions > li code").all_inner_texts()


def test_an_admin_builds_previews_and_publishes_a_survey_from_the_csat_template(
        page: Page, browser: Browser, org: Org, admin: Persona, screenshot: Shoot) -> None:
    sign_in(page, admin)
    page.get_by_role("link", name="Surveys").click()
    page.get_by_role("heading", name="Surveys", exact=True).wait_for()
    page.get_by_label("Name", exact=True).fill("Checkout CSAT")
    page.locator("#new_unit").select_option(str(org.store_a.pk))
    page.get_by_label("Start from").select_option("transactional_csat")
    page.get_by_role("button", name="Create survey").click()
    page.get_by_role("heading", name="Checkout CSAT").wait_for()
    assert question_order(page) == ["csat", "reason", "touchpoint", "store", "order_id"]

    # Add a single-choice question: it lands at the end.
    page.get_by_label("Add a question").select_option("single_choice")
    page.get_by_role("button", name="Add question\u2026").click()
    page.get_by_label("Question id").fill("queue")
    page.get_by_label("Question (en)").fill("How long did you queue?")
    page.get_by_label("Options (en)").fill("short: Under five minutes\nlong: Longer")
    page.get_by_role("button", name="Add question", exact=True).click()
    page.get_by_text("Question \u201cqueue\u201d added.").wait_for()
    assert question_order(page)[-1] == "queue"

    # Reorder with htmx: the list is swapped in place and focus stays on the button.
    for expected in (4, 3, 2, 1):
        page.get_by_role("button", name="Move up queue").click()
        page.wait_for_function(
            "n => [...document.querySelectorAll('ol.questions > li code')]"
            ".map(c => c.textContent).indexOf('queue') === n", arg=expected)
    assert question_order(page)[:3] == ["csat", "queue", "reason"]
    assert page.evaluate("() => document.activeElement.id") == "up-queue"
    assert page.locator("#builder-note").inner_text() == "Moved \u201cqueue\u201d up."
    screenshot(page, "survey-builder")
    assert serious_violations(page) == []

    # Preview the draft: the respondent's page with a banner; nothing is stored.
    page.get_by_role("link", name="Preview the draft").click()
    banner = page.get_by_role("complementary", name="Preview")
    assert "draft version 1" in banner.inner_text()
    page.get_by_text("How long did you queue?").wait_for()
    screenshot(page, "survey-preview")
    page.locator("#q-csat-4").check()
    page.get_by_label("Under five minutes").check()
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert Response.objects.count() == 0
    banner.get_by_role("link", name="Back to the survey").click()

    # Publish, open the link for anyone, and answer there as a respondent.
    page.get_by_role("button", name="Publish version 1").click()
    page.get_by_text("Version 1 published").wait_for()
    page.get_by_role("button", name="Open a link for anyone").click()
    survey = Survey.objects.get(name="Checkout CSAT")
    respondent = new_page(browser, page.url.split("/surveys/")[0])
    try:
        respondent.goto(f"/s/p/{survey.slug}")
        assert respondent.get_by_role("complementary", name="Preview").count() == 0
        questions = respondent.locator(".question legend, .question > label").all_inner_texts()
        assert questions[1].startswith("How long did you queue?")
        respondent.locator("#q-csat-5").check()
        respondent.get_by_label("Longer").check()
        respondent.get_by_role("button", name="Submit").click()
        respondent.get_by_role("heading", name="Thank you!").wait_for()
    finally:
        respondent.context.close()
    response = Response.objects.get()
    assert response.answers == {"csat": 5, "queue": "long"}


def test_the_builder_pages_pass_axe_core(page: Page, admin: Persona, org: Org,
                                          screenshot: Shoot) -> None:
    survey = survey_create(name="Relationship NPS", unit=org.company,
                           definition=TEMPLATES["relational_nps"], scope=SYSTEM_SCOPE,
                           actor=None)
    sign_in(page, admin)
    for path, name in ((f"/surveys/{survey.pk}/questions/improve/", "question-edit"),
                       (f"/surveys/{survey.pk}/texts/", "survey-texts"),
                       ("/surveys/", "survey-list")):
        page.goto(path)
        screenshot(page, name)
        assert serious_violations(page) == [], path
    page.goto(f"/surveys/{survey.pk}/questions/improve/")
    page.get_by_label("Question (en)").fill("")
    page.get_by_role("button", name="Save question").click()
    page.locator(".field.invalid").first.wait_for()
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/surveys/{survey.pk}/")
    screenshot(page, "survey-builder-mobile")
    assert serious_violations(page) == []
