"""Roles without PII rights read redacted text through the API, analysed or not yet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opencem.feedback.models import FeedbackItem
from opencem.metrics.tests.factories import make_survey
from opencem.textanalytics import services
from opencem.textanalytics.tests.factories import feedback, respond

pytestmark = pytest.mark.django_db

TEXT = "Nobody called back. My number is 07700 900123, email dee@example.com"


def _text(persona):
    response = persona.api().get("/api/v1/feedback")
    assert response.status_code == 200, response.content
    return [i["text"] for i in response.json()["items"]]


def test_a_manager_reads_redacted_text_even_before_analysis(org, manager_a):
    feedback(TEXT)
    (text,) = _text(manager_a)
    assert "07700" not in text
    assert "dee@example.com" not in text
    assert text.endswith("My number is [PHONE], email [EMAIL]")
    services.analysis_run_pending()
    assert _text(manager_a) == [text]


def test_admins_and_agents_read_the_text_as_written(org, admin, agent_a):
    feedback(TEXT)
    services.analysis_run_pending()
    assert _text(admin) == [TEXT]
    assert _text(agent_a) == [TEXT]


def test_viewers_read_redacted_text(org, viewer):
    feedback(TEXT)
    assert "[PHONE]" in _text(viewer)[0]


def test_exports_hold_redacted_text_for_readers_without_pii_rights(org, manager_a, admin):
    feedback(TEXT)
    manager = manager_a.api().get("/api/v1/feedback/export.csv")
    body = b"".join(manager.streaming_content).decode()
    assert "[PHONE]" in body
    assert "07700" not in body
    admin_body = b"".join(admin.api().get("/api/v1/feedback/export.csv").streaming_content)
    assert b"07700 900123" in admin_body


def test_free_text_answers_of_responses_are_redacted_without_pii_rights(org, manager_a, admin):
    _, version = make_survey(org.company)
    respond(version, org.store_a, count=1, nps=3, csat=2, comment=TEXT,
            at=datetime(2025, 3, 10, tzinfo=UTC))
    (item,) = manager_a.api().get("/api/v1/responses").json()["items"]
    assert item["answers"]["reason"].endswith("[PHONE], email [EMAIL]")
    assert item["answers"]["nps"] == 3
    export = b"".join(manager_a.api().get("/api/v1/responses/export.csv").streaming_content)
    assert b"07700" not in export
    (raw,) = admin.api().get("/api/v1/responses").json()["items"]
    assert raw["answers"]["reason"] == TEXT


def test_pages_and_the_timeline_show_redacted_text_to_readers_without_pii_rights(
        org, client, manager_a, agent_a):
    item = feedback(TEXT, email="dee@example.com")  # not analysed yet: redacted on the fly
    client.force_login(manager_a.user)
    page = client.get("/feedback/").content.decode()
    assert "[PHONE]" in page
    assert "07700" not in page
    customer = FeedbackItem.objects.get(pk=item).customer_id
    timeline = manager_a.api().get(f"/api/v1/customers/{customer}/timeline").json()
    (entry,) = [e for e in timeline["entries"] if e["kind"] == "feedback"]
    assert "07700" not in entry["detail"]["text"]
    client.force_login(agent_a.user)
    assert "07700 900123" in client.get("/feedback/").content.decode()
