"""Fixtures for the accounts browser tests: a fresh context per test on the session's
Chromium (``opencem/conftest.py``), and a signed-in tab helper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from opencem.conftest import TIMEOUT_MS, Persona

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Dialog, Page
    from pytest_django.live_server_helper import LiveServer



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
