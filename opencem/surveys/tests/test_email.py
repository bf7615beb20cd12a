"""Invitation emails through a real SMTP server on localhost."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from opencem.customers.models import Customer
from opencem.surveys import distribution
from opencem.surveys.invitations import invitation_by_token
from opencem.surveys.models import Invitation, InvitationStatus, Unsubscribe
from opencem.surveys.tests.test_distribution_factories import (
    ingest,
    make_survey,
    make_trigger,
    token_in,
)

pytestmark = pytest.mark.django_db


class Inbox:
    """An SMTP handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.SITE_URL = "https://cx.acme.test"
    yield inbox
    controller.stop()


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def test_the_invitation_arrives_with_text_and_html_parts_and_a_working_link(smtp, org, client):
    survey = make_survey(unit=org.company)
    make_trigger(survey, valid_days=14)
    (invitation,) = distribution.triggers_evaluate(interaction_ids=[ingest().pk])
    assert distribution.invitations_send_due() == 1

    (message,) = smtp.messages
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "How did we do today?"
    assert message.get_content_type() == "multipart/alternative"
    text, html = _parts(message)
    token = token_in(text)
    assert f"https://cx.acme.test/s/{token}" in text
    assert f'href="https://cx.acme.test/s/{token}"' in html
    assert invitation_by_token(token).pk == invitation.pk
    assert "#1f5fbf" in html  # the survey's branding colour
    invitation.refresh_from_db()
    expiry = f"{invitation.expires_at:%b}"
    assert expiry in text
    assert expiry in html

    unsubscribe = re.fullmatch(r"<(https://cx\.acme\.test(/unsubscribe/[^>]+))>",
                               str(message["List-Unsubscribe"]).strip())
    assert unsubscribe is not None, message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.group(1) in text
    assert client.post(unsubscribe.group(2)).status_code == 200
    assert Unsubscribe.objects.get().survey_id == survey.pk


def test_the_invitation_is_written_in_the_respondents_language(smtp, org):
    survey = make_survey(unit=org.company, template="relational_nps")
    make_trigger(survey)
    distribution.triggers_evaluate(interaction_ids=[
        ingest(customer_attributes={"language": "de"}).pk])
    distribution.invitations_send_due()
    (message,) = smtp.messages
    assert message["Subject"] == "Ihre Erfahrung mit uns"
    assert message["Content-Language"] == "de"
    assert 'lang="de"' in _parts(message)[1]


def test_customer_text_in_the_survey_is_escaped_in_the_html_part(smtp, org):
    survey = make_survey(unit=org.company, template="relational_nps")
    version = survey.versions.get()
    version.definition["intro"] = {"en": "<script>alert(1)</script>"}
    version.save()
    make_trigger(survey)
    distribution.triggers_evaluate(interaction_ids=[ingest().pk])
    distribution.invitations_send_due()
    html = _parts(smtp.messages[0])[1]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_a_refused_connection_is_retried_then_marked_failed(settings, org):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2
    survey = make_survey(unit=org.company)
    make_trigger(survey)
    distribution.triggers_evaluate(interaction_ids=[ingest().pk])
    now = timezone.now()
    for attempt in range(distribution.MAX_SEND_ATTEMPTS):
        assert distribution.invitations_send_due(now=now + timedelta(hours=attempt)) == 0
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.FAILED
    assert invitation.send_attempts == distribution.MAX_SEND_ATTEMPTS
    assert invitation.suppressed_reason.startswith("sending failed:")


def test_a_manual_invitation_goes_out_through_smtp_at_once(smtp, admin, org):
    survey = make_survey(unit=org.company)
    customer = ingest(email="bob@example.com").customer
    response = admin.api().post_json(f"/api/v1/surveys/{survey.pk}/invitations",
                                     {"customer": customer.pk})
    assert response.json()["status"] == "sent"
    assert [m["To"] for m in smtp.messages] == ["bob@example.com"]
    assert Customer.objects.count() == 1
