"""Feedback collection end to end, through real servers only: an interaction posted over HTTP
with an API key, a trigger that invites its customer, the invitation arriving at an SMTP server,
the customer answering it in a headless browser, and the store's manager reading the answer on
the customer's 360 page.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from opencem.conftest import Persona, new_page
from opencem.feedback.models import FeedbackItem, Response
from opencem.surveys.invitations import hash_token
from opencem.surveys.models import Invitation, InvitationStatus

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = 'The queue was <b>long</b> & slow <script>alert("x")</script>'
MAIL_WAIT_SECONDS = 10


class Inbox:
    """An SMTP handler that keeps every message it receives and says when one came."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any  # noqa: N802 (aiosmtpd)
                          ) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.arrived.set()
        return "250 Message accepted"

    def wait(self) -> EmailMessage:
        """The one message that arrived (waiting a little for it, not a timing check)."""
        assert self.arrived.wait(MAIL_WAIT_SECONDS), "no email reached the SMTP server"
        (message,) = self.messages
        return message


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any, live_server: LiveServer) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.SITE_URL = live_server.url  # the links in the mail lead to this very server
    yield inbox
    controller.stop()


class Http:
    """A client of the live server over real HTTP, with one persona's API key."""

    def __init__(self, playwright: Playwright, base_url: str, persona: Persona) -> None:
        self.context = playwright.request.new_context(
            base_url=base_url, extra_http_headers={"Authorization": f"Bearer {persona.key}"})

    def post(self, path: str, body: object) -> tuple[int, Any]:
        answer = self.context.post(path, data=body)  # a dict or list is sent as JSON
        return answer.status, answer.json() if answer.ok else answer.text()


@pytest.fixture
def http(playwright_session: Playwright, live_server: LiveServer, admin: Persona
         ) -> Iterator[Http]:
    """The company's integrator: the admin's API key."""
    client = Http(playwright_session, live_server.url, admin)
    yield client
    client.context.dispose()


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def _program(http: Http) -> int:
    """A relationship NPS survey of the company, published, with a trigger that invites every
    store purchaser at once; all through the API. Returns the survey id."""
    status, survey = http.post("/api/v1/surveys", {
        "name": "Relationship NPS", "unit": "ACME", "template": "relational_nps"})
    assert status == 201, survey
    status, published = http.post(f"/api/v1/surveys/{survey['id']}/publish", {})
    assert status == 200, published
    status, trigger = http.post(f"/api/v1/surveys/{survey['id']}/triggers", {
        "name": "After a store purchase", "kinds": ["purchase"], "channels": ["store"],
        "delay_minutes": 0, "sample_percent": 100, "hidden_fields": {"store": "unit"}})
    assert status == 201, trigger
    return int(survey["id"])


def _answer(page: Page, link: str) -> None:
    """The customer follows the link from the email and answers both pages."""
    page.goto(link)
    page.get_by_role("heading", name="Your experience with us").wait_for()
    page.get_by_text("Step 1 of 2").wait_for()
    page.get_by_label("6", exact=True).check(force=True)  # the radios are drawn as buttons
    page.get_by_label("What is the main reason for your score?").fill(REASON)
    page.get_by_role("button", name="Next").click()
    page.get_by_text("Step 2 of 2").wait_for()  # a 6 asks what to improve
    page.get_by_label("Staff and service", exact=True).check()
    page.get_by_label("You may contact me about my answers.").check()
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="Thank you!").wait_for()


def _manager_reads_the_360(page: Page, email: str) -> None:
    """The store's manager signs in, finds the customer by email and opens the 360."""
    page.goto("/login/")
    page.get_by_label("Username").fill("manager_a")
    page.get_by_label("Password").fill("pw-manager_a")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    search = page.get_by_label("Find a customer")
    search.fill(email)
    search.press("Enter")
    page.get_by_role("heading", name="Ann Example").wait_for()


def test_an_interaction_leads_to_an_emailed_invitation_answered_and_seen_on_the_360(
        smtp: Inbox, http: Http, manager_a: Persona, browser: Browser,
        live_server: LiveServer) -> None:
    survey_id = _program(http)
    # The point of sale reports a purchase; the trigger's task runs once it is committed.
    status, interaction = http.post("/api/v1/interactions", {
        "source": "pos", "external_id": "T-1001", "channel": "store", "kind": "purchase",
        "occurred_at": timezone.now().isoformat(), "unit": "STORE-A", "value": 59.9,
        "customer": {"email": "ann@example.com", "name": "Ann Example"}})
    assert status == 201, interaction

    message = smtp.wait()
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your experience with us"
    assert message.get_content_type() == "multipart/alternative"
    text, html = _parts(message)
    found = re.search(rf"{re.escape(live_server.url)}/s/([A-Za-z0-9_-]+)", text)
    assert found is not None, text
    link, token = found.group(0), found.group(1)
    assert f'href="{link}"' in html
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_token(token)
    assert (invitation.survey_id, invitation.interaction_id) == (survey_id, interaction["id"])
    assert invitation.status == InvitationStatus.SENT
    unsubscribe = re.fullmatch(rf"<({re.escape(live_server.url)}/unsubscribe/[^>]+)>",
                               str(message["List-Unsubscribe"]).strip())
    assert unsubscribe is not None, message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.group(1) in text
    assert f'href="{unsubscribe.group(1)}"' in html

    customer_page = new_page(browser, live_server.url)
    try:
        _answer(customer_page, link)
    finally:
        customer_page.context.close()

    response = Response.objects.get()
    assert response.completed
    assert (response.nps, response.customer_id, response.unit.code) == (
        6, interaction["customer_id"], "STORE-A")
    assert response.answers == {"nps": 6, "reason": REASON, "improve": ["staff"],
                                "contact_ok": True, "store": "STORE-A"}
    assert FeedbackItem.objects.get(response=response).text == REASON
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.COMPLETED

    manager_page = new_page(browser, live_server.url)
    dialogs: list[str] = []
    manager_page.on("dialog", lambda dialog: (dialogs.append(dialog.message),
                                              dialog.dismiss()))
    try:
        _manager_reads_the_360(manager_page, "ann@example.com")
        entry = manager_page.locator("#timeline > li.entry-response")
        assert entry.count() == 1
        assert "Answered “Relationship NPS” · NPS 6" in entry.inner_text()
        # The reason reads exactly as the customer typed it; none of it became markup.
        assert entry.locator("blockquote").inner_text() == REASON
        assert entry.locator("b, script").count() == 0
        assert manager_page.locator("main script").count() == 0
        assert "Purchase · 59.90" in manager_page.locator("#timeline").inner_text()
        manager_page.wait_for_timeout(200)  # let any wrongly injected script run before judging
        assert dialogs == []
    finally:
        manager_page.context.close()
