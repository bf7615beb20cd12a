"""Fixtures for the browser tests: one headless Chromium per session, a fresh context per test.

Playwright's sync API runs an event loop in the test thread, and Django refuses database
access from a thread with a running loop unless told that it is safe; here it is, because the
loop only drives the browser. The switch is set only while a browser runs, so the other tests
of the session keep Django's guard.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from opencem.conftest import Persona

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Playwright
    from pytest_django.live_server_helper import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
TIMEOUT_MS = 10_000


def ingest(persona: Persona, *, email: str, unit: str, name: str | None = None,
           attributes: dict[str, Any] | None = None, count: int = 1,
           interaction_attributes: dict[str, Any] | None = None) -> int:
    """Record ``count`` store purchases of one customer the way an integrator does, and return
    the customer's id.

    It goes through the public API, which stores them with ``interactions_ingest``: the
    accounts app sits below customers in the import layers, so its tests do not import
    customers' modules.
    """
    api = persona.api()
    customer: dict[str, Any] = {"email": email, "name": name}
    if attributes is not None:
        customer["attributes"] = attributes
    customer_id = 0
    for i in range(count):
        response = api.post_json("/api/v1/interactions", {
            "source": "pos", "external_id": f"{email}-{unit}-{i}", "channel": "store",
            "kind": "purchase", "occurred_at": f"2026-03-{i + 1:02d}T10:00:00+00:00",
            "unit": unit, "value": "19.90",
            "attributes": interaction_attributes or {"basket_size": i + 1},
            "customer": customer})
        assert response.status_code == 201, response.content
        customer_id = int(response.json()["customer_id"])
    return customer_id


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    if not shutil.which(CHROMIUM):
        # On CI a missing browser must fail loudly, not quietly skip the whole suite.
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; the browser tests need it on CI")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only when a browser runs)

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            yield pw
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Session:
    """One test's browser tab, with the dialogs it raised (none, unless a page is broken)."""

    page: Page
    base_url: str
    dialogs: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def sign_in(self, username: str, password: str) -> None:
        self.page.goto(self.url("/login/"))
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("button", name="Sign out").wait_for()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.page.get_by_role("heading", name="Sign in").wait_for()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def session(context: BrowserContext, live_server: LiveServer) -> Session:
    page = context.new_page()
    result = Session(page=page, base_url=live_server.url)

    def on_dialog(dialog: Dialog) -> None:
        # Confirmations (revoking a key) are accepted; every dialog is recorded, so a test
        # can assert that no injected script ever raised an alert.
        result.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", on_dialog)
    return result


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Save a full-page screenshot when OPENCEM_SCREENSHOTS names a folder (for a human look)."""
    folder = os.environ.get("OPENCEM_SCREENSHOTS")

    def take(page: Page, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take
