"""A respondent in a real headless Chromium: keyboard only, without JavaScript, under axe-core,
and the widget on a company's page."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from opencem.conftest import new_page
from opencem.feedback.models import Response
from opencem.surveys.models import Survey
from opencem.surveys.tests.test_public import Link, invite, published_survey

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

Shoot = Callable[["Page", str], None]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    page = new_page(browser, live_server.url)
    yield page
    page.context.close()


@pytest.fixture
def link(org, settings) -> Link:
    settings.OPENCEM_PUBLIC_RATE_LIMIT = 1000
    return invite(org, published_survey(org))


def tab_until(page: Page, selector: str, limit: int = 30) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_respondent_answers_with_the_keyboard_alone(page: Page, link: Link) -> None:
    page.goto(link.url)
    assert page.locator("html").get_attribute("lang") == "en"
    tab_until(page, "#q-nps-0")
    # The focused score is drawn with a visible outline on its label.
    outline = page.evaluate(
        "() => getComputedStyle(document.querySelector('label[for=q-nps-0]')).outlineStyle")
    assert outline == "solid"
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # radio groups move and select with the arrows
    page.keyboard.press("Tab")
    page.keyboard.type("The queue was long")
    tab_until(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_text("Step 2 of 2").wait_for()
    tab_until(page, "#q-improve-queue")
    page.keyboard.press("Space")
    tab_until(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Thank you!").wait_for()
    response = Response.objects.get()
    assert response.completed
    assert response.answers["nps"] == 3
    assert response.answers["reason"] == "The queue was long"
    assert response.answers["improve"] == ["queue"]


def test_the_survey_works_without_javascript(browser: Browser, live_server: LiveServer,
                                             link: Link) -> None:
    page = new_page(browser, live_server.url, java_script_enabled=False)
    try:
        page.goto(link.url)
        page.get_by_role("button", name="Next").click()  # nothing answered yet
        summary = page.get_by_role("alert")
        assert "Please answer this question." in summary.inner_text()
        summary.get_by_role("link").click()
        assert page.url.endswith("#q-nps-0")
        page.get_by_label("9", exact=True).check(force=True)
        page.get_by_role("button", name="Next").click()
        assert page.get_by_label("What should we improve?").count() == 0  # 9 hides it
        page.get_by_label("You may contact me about my answers.").check()
        page.get_by_role("button", name="Submit").click()
        page.get_by_role("heading", name="Thank you!").wait_for()
    finally:
        page.context.close()
    response = Response.objects.get()
    assert response.completed
    assert response.answers == {"nps": 9, "contact_ok": True, "store": "Leeds"}


def serious_violations(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415 (browser-only dep)

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def test_the_survey_page_passes_axe_core(page: Page, link: Link, screenshot: Shoot) -> None:
    page.goto(link.url)
    assert serious_violations(page) == []
    screenshot(page, "survey-desktop")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("alert").wait_for()
    screenshot(page, "survey-errors")
    assert serious_violations(page) == []  # the error summary and invalid fields too
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link.url)
    screenshot(page, "survey-mobile")
    assert serious_violations(page) == []
    page.get_by_label("2", exact=True).check(force=True)
    page.get_by_role("button", name="Next").click()
    page.get_by_text("Step 2 of 2").wait_for()
    screenshot(page, "survey-mobile-page-2")
    assert serious_violations(page) == []


SHOP_PAGE = """<!doctype html><html lang="en"><head><title>Checkout</title></head>
<body><main><h1>Thank you for your order</h1><p>Order 1234 is on its way.</p></main>
<script src="{src}" data-survey="{slug}" data-path="/shop/*" data-delay="0.2"
 data-percent="100" data-hidden-store="web-shop" async></script></body></html>"""


def test_the_widget_shows_on_a_company_page_and_posts_a_response(
        page: Page, live_server: LiveServer, org, settings, screenshot: Shoot) -> None:
    survey = published_survey(org, name="Web NPS", anonymous=True)
    assert Survey.objects.get(pk=survey.pk).anonymous_link
    html = SHOP_PAGE.format(src=f"{live_server.url}/static/surveys/widget.js", slug=survey.slug)
    with company_site(html) as shop:
        settings.OPENCEM_WIDGET_ORIGINS = [shop]
        settings.OPENCEM_PUBLIC_RATE_LIMIT = 1000
        widget_flow(page, shop, screenshot)
    response = Response.objects.get()
    assert response.source == "widget"
    assert response.completed
    assert response.answers == {"nps": 6, "reason": "Slow <b>checkout</b>", "store": "web-shop"}


@contextmanager
def company_site(html: str) -> Iterator[str]:
    """A company's web site on another origin (its own port on 127.0.0.1), serving one page
    at every path; Chromium lets a loopback page call the loopback OpenCEM server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def widget_flow(page: Page, shop: str, screenshot: Shoot) -> None:
    """A visitor of the company's site meets the widget where its rules say, answers it."""
    page.goto(f"{shop}/about")  # data-path does not match: no widget
    page.wait_for_timeout(600)
    assert page.get_by_role("dialog").count() == 0

    page.goto(f"{shop}/shop/done")
    dialog = page.get_by_role("dialog", name="Your visit to web-shop")
    dialog.wait_for()
    assert serious_violations(page) == []
    screenshot(page, "widget")
    dialog.get_by_label("6", exact=True).check(force=True)
    dialog.get_by_label("What is the main reason for your score?").fill("Slow <b>checkout</b>")
    dialog.get_by_role("button", name="Send").click()
    dialog.get_by_text("Thanks, ! We read every answer.").wait_for()
    page.reload()  # once per visitor: not asked again
    page.wait_for_timeout(600)
    assert page.get_by_role("dialog").count() == 0
