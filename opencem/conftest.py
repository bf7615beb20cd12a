"""Shared personas for every test: an admin of the whole company, the managers of two
stores, an agent of store A, and an outsider with no role at all.

The organisation is: ACME (company) > NORTH (region) > STORE-A, STORE-B; ACME > WEB (channel).

The browser tests of every app share one headless Chromium for the whole session
(``browser``); ``new_page`` opens a fresh context on it. Playwright's sync API runs an event
loop in the test thread, and Django refuses database access from a thread with a running loop
unless told that it is safe; here it is, because the loop only drives the browser. The switch
is set only while a browser runs, so the other tests keep Django's guard.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.test import Client

from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.models import Unit
from opencem.accounts.services import apikey_create, membership_grant, unit_create, user_create

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Playwright
    from pytest_django.live_server_helper import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
TIMEOUT_MS = 10_000


@dataclass
class Persona:
    user: AbstractUser
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"}

    def api(self) -> ApiClient:
        return ApiClient(self.key)


class ApiClient(Client):
    """A test client that sends the persona's bearer key and JSON bodies."""

    def __init__(self, key: str) -> None:
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {key}")

    def post_json(self, path: str, body: object, **extra: Any) -> Any:
        return self.post(path, body, content_type="application/json", **extra)

    def put_json(self, path: str, body: object, **extra: Any) -> Any:
        return self.put(path, body, content_type="application/json", **extra)


@dataclass
class Org:
    company: Unit
    north: Unit
    store_a: Unit
    store_b: Unit
    web: Unit


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def org(db: None) -> Org:
    company = unit_create(code="ACME", name="Acme Retail", kind=UnitKind.COMPANY)
    north = unit_create(code="NORTH", name="North", kind=UnitKind.REGION, parent=company)
    store_a = unit_create(code="STORE-A", name="Store A", parent=north)
    store_b = unit_create(code="STORE-B", name="Store B", parent=north)
    web = unit_create(code="WEB", name="Web shop", kind=UnitKind.CHANNEL, parent=company)
    return Org(company, north, store_a, store_b, web)


def _persona(username: str, unit: Unit | None, role: str | None) -> Persona:
    user = user_create(username=username, email=f"{username}@acme.test", password="pw-" + username)
    if unit is not None and role is not None:
        membership_grant(user=user, unit=unit, role=role)
    _, key = apikey_create(user=user, name="tests")
    return Persona(user, key)


@pytest.fixture
def admin(org: Org) -> Persona:
    return _persona("admin", org.company, Role.ADMIN)


@pytest.fixture
def manager_a(org: Org) -> Persona:
    return _persona("manager_a", org.store_a, Role.MANAGER)


@pytest.fixture
def manager_b(org: Org) -> Persona:
    return _persona("manager_b", org.store_b, Role.MANAGER)


@pytest.fixture
def agent_a(org: Org) -> Persona:
    return _persona("agent_a", org.store_a, Role.AGENT)


@pytest.fixture
def viewer(org: Org) -> Persona:
    return _persona("viewer", org.company, Role.VIEWER)


@pytest.fixture
def outsider(org: Org) -> Persona:
    return _persona("outsider", None, None)


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    if not shutil.which(CHROMIUM):
        # On CI a missing browser must fail loudly, not quietly skip the browser tests.
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


def new_page(browser: Browser, base_url: str, **options: Any) -> Page:
    """A tab in a fresh browser context (cookies of its own); close it with
    ``page.context.close()``."""
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Save a full-page screenshot when OPENCEM_SCREENSHOTS names a folder (for a human look)."""
    folder = os.environ.get("OPENCEM_SCREENSHOTS")

    def take(page: Page, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take


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
