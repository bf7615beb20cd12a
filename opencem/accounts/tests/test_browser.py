"""The sign-in, customer and settings pages in a real headless Chromium against a live server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import expect

from opencem.accounts.choices import Role
from opencem.accounts.models import Membership, Unit
from opencem.accounts.tests.conftest import Session, ingest
from opencem.conftest import Org, Persona

if TYPE_CHECKING:
    from playwright.sync_api import Page, Playwright
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"


def test_sign_in_and_out(session: Session, manager_a: Persona) -> None:
    page = session.page
    page.goto(session.url("/"))
    page.get_by_role("heading", name="Sign in").wait_for()  # sent to sign in first
    session.sign_in("manager_a", "pw-manager_a")
    expect(page.get_by_role("heading", name="Customer hub")).to_be_visible()
    assert page.locator(".who").inner_text() == "manager_a"
    session.sign_out()
    page.goto(session.url("/customers/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_shows_an_error(session: Session, manager_a: Persona) -> None:
    page = session.page
    page.goto(session.url("/login/"))
    page.get_by_label("Username", exact=True).fill("manager_a")
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")


def test_find_a_customer_by_email_and_open_the_360(
        session: Session, admin: Persona, agent_a: Persona,
        screenshot: Callable[[Page, str], None]) -> None:
    ingest(admin, email="ann@example.com", unit="STORE-A", name="Ann Example",
           attributes={"tier": "gold"}, count=3)
    page = session.page
    session.sign_in("agent_a", "pw-agent_a")
    page.get_by_label("Find a customer").fill("ANN@example.com")
    page.get_by_label("Find a customer").press("Enter")
    page.get_by_role("heading", name="Ann Example").wait_for()
    assert re.search(r"/customers/\d+/$", page.url)
    timeline = page.locator("#timeline > li.entry")
    assert timeline.count() == 3
    assert "Store A" in timeline.first.inner_text()
    expect(page.get_by_text("ann@example.com")).to_be_visible()
    expect(page.locator("dd", has_text="gold")).to_be_visible()
    screenshot(page, "customer-360")
    assert session.dialogs == []


def test_an_api_key_created_in_the_ui_works_until_revoked(
        session: Session, manager_a: Persona, playwright_session: Playwright,
        live_server: LiveServer, screenshot: Callable[[Page, str], None]) -> None:
    page = session.page
    session.sign_in("manager_a", "pw-manager_a")
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name", exact=True).fill("Warehouse export")
    page.get_by_role("button", name="Create key").click()
    page.get_by_text("cannot be shown again").wait_for()  # the answer may still be on its way
    raw = page.get_by_label("Key", exact=True).input_value()
    assert raw.startswith("ocm_")
    screenshot(page, "api-keys")

    api = playwright_session.request.new_context(base_url=live_server.url)
    try:
        headers = {"Authorization": f"Bearer {raw}"}
        me = api.get("/api/v1/me", headers=headers)
        assert me.status == 200
        assert me.json()["username"] == "manager_a"

        row = page.locator("tr", has_text="Warehouse export")
        row.get_by_role("button", name="Revoke").click()  # htmx swaps the row in place
        row.get_by_text("revoked").wait_for()
        assert session.dialogs == [
            "confirm: Revoke this key? Anything using it stops working at once."]
        assert api.get("/api/v1/me", headers=headers).status == 401
    finally:
        api.dispose()


def test_an_admin_creates_a_unit_and_a_user_with_a_membership(
        session: Session, admin: Persona, org: Org,
        screenshot: Callable[[Page, str], None]) -> None:
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.get_by_role("link", name="Units").click()
    page.get_by_label("Parent unit", exact=True).select_option(str(org.north.pk))
    page.get_by_label("Code", exact=True).fill("STORE-C")
    page.get_by_label("Name", exact=True).fill("Store C")
    page.get_by_label("Kind", exact=True).select_option("store")
    page.get_by_role("button", name="Add unit").click()
    page.get_by_role("status").get_by_text("Unit Store C (STORE-C) created.").wait_for()
    expect(page.locator("#unit-STORE-C")).to_be_visible()
    screenshot(page, "units")
    store_c = Unit.objects.get(code="STORE-C")
    assert store_c.parent_id == org.north.pk

    page.get_by_role("link", name="Users").click()
    page.get_by_label("Username", exact=True).fill("carla")
    page.get_by_label("Email", exact=True).fill("carla@acme.test")
    page.get_by_label("Password", exact=True).fill("Store-C-manager-2026")
    page.get_by_label("Unit", exact=True).select_option(str(store_c.pk))
    page.get_by_label("Role", exact=True).select_option(Role.MANAGER)
    page.get_by_role("button", name="Add user").click()
    page.get_by_role("heading", name="carla").wait_for()
    screenshot(page, "user-detail")
    expect(page.get_by_role("cell", name="Manager", exact=True)).to_be_visible()
    assert Membership.objects.filter(user__username="carla", unit=store_c,
                                     role=Role.MANAGER).exists()

    # The new manager signs in and sees their store, but not the admin pages.
    session.sign_out()
    session.sign_in("carla", "Store-C-manager-2026")
    expect(page.get_by_text("Store C").first).to_be_visible()
    assert page.get_by_role("link", name="Units").count() == 0


def test_a_bad_unit_shows_an_error_in_the_form(session: Session, admin: Persona,
                                               org: Org) -> None:
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url("/settings/units/"))
    page.get_by_label("Parent unit", exact=True).select_option(str(org.north.pk))
    page.get_by_label("Code", exact=True).fill("STORE-A")
    page.get_by_label("Name", exact=True).fill("Duplicate")
    page.get_by_role("button", name="Add unit").click()
    expect(page.get_by_text("a unit with code 'STORE-A' already exists")).to_be_visible()
    assert page.get_by_label("Code", exact=True).get_attribute("aria-invalid") == "true"
    assert not Unit.objects.filter(name="Duplicate").exists()


def test_a_store_manager_sees_only_their_store(
        session: Session, admin: Persona, manager_a: Persona,
        screenshot: Callable[[Page, str], None]) -> None:
    ingest(admin, email="alice@example.com", unit="STORE-A", name="Alice Alpha")
    bob = ingest(admin, email="bob@example.com", unit="STORE-B", name="Bob Beta")
    page = session.page
    session.sign_in("manager_a", "pw-manager_a")
    screenshot(page, "home")
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Alice Alpha")).to_be_visible()
    assert page.get_by_role("link", name="Bob Beta").count() == 0
    screenshot(page, "customer-list")
    page.get_by_label("Email, phone").fill("bob@example.com")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No customer in your scope matches")).to_be_visible()
    response = page.goto(session.url(f"/customers/{bob}/"))
    assert response is not None
    assert response.status == 404


def test_customer_text_renders_as_text_never_as_markup(
        session: Session, admin: Persona, screenshot: Callable[[Page, str], None]) -> None:
    evil = ingest(admin, email="mallory@example.com", unit="STORE-A",
                  name=f"{SCRIPT} Mallory", attributes={"note": IMG, IMG: SCRIPT},
                  interaction_attributes={"comment": IMG})
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url(f"/customers/{evil}/"))
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text().startswith(f"{SCRIPT} Mallory")
    expect(page.locator("dd", has_text=IMG)).to_be_visible()
    expect(page.locator("dt", has_text=IMG)).to_be_visible()
    expect(page.locator("#timeline", has_text=f"comment: {IMG}")).to_be_visible()
    # Nothing injected became an element.
    assert page.locator("main script").count() == 0
    assert page.locator("main img").count() == 0

    page.goto(session.url("/customers/?q=Mallory"))
    expect(page.get_by_role("link", name=f"{SCRIPT} Mallory")).to_be_visible()
    page.go_back()
    screenshot(page, "xss-360")
    page.wait_for_timeout(200)  # let any wrongly injected handler fire before judging
    assert session.dialogs == []


def test_password_reset_by_email(session: Session, manager_a: Persona) -> None:
    page = session.page
    page.goto(session.url("/login/"))
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email address", exact=True).fill("manager_a@acme.test")
    page.get_by_role("button", name="Send the link").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["manager_a@acme.test"]
    assert message.subject == "Set your OpenCEM password"
    link = re.search(r"https?://\S+/reset/\S+/", message.body)
    assert link is not None
    page.goto(link.group(0))
    page.get_by_label("New password", exact=True).fill("Fresh-password-2026")
    page.get_by_label("Repeat the new password", exact=True).fill("Fresh-password-2026")
    page.get_by_role("button", name="Set password").click()
    page.get_by_role("heading", name="Password set").wait_for()
    page.get_by_role("link", name="Sign in").click()

    session.sign_in("manager_a", "Fresh-password-2026")
    expect(page.get_by_role("heading", name="Customer hub")).to_be_visible()
    assert User.objects.get(username="manager_a").check_password("Fresh-password-2026")
    # The link works once only.
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/customers/?q=ann", "/customers/{customer}/",
                                  "/settings/api-keys/", "/settings/units/",
                                  "/settings/units/{store_a}/", "/settings/users/",
                                  "/settings/users/{manager}/"])
def test_pages_pass_the_axe_accessibility_rules(session: Session, admin: Persona,
                                                manager_a: Persona, org: Org,
                                                path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415 (browser tests only)

    customer = ingest(admin, email="ann@example.com", unit="STORE-A", name="Ann Example",
                      attributes={"tier": "gold"})
    session.sign_in("admin", "pw-admin")
    page = session.page
    page.goto(session.url(path.format(customer=customer, store_a=org.store_a.pk,
                                      manager=manager_a.user.pk)))
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
