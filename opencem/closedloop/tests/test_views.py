"""The closed-loop pages over HTTP: inbox, case detail with the 360, actions, reports, the
customer card and the dashboard's open-cases panel; customer text always escaped."""

from __future__ import annotations

import pytest
from django.core import mail

from opencem.closedloop.models import Case
from opencem.closedloop.tests.factories import make_rule, make_survey, relay, respond

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def case(org, admin, manager_a):
    make_rule(unit=org.company)
    respond(admin.api(), make_survey(unit=org.company).pk, nps=1,
            reason=f"Rude {SCRIPT} staff")
    relay()
    return Case.objects.get()


def test_the_inbox_lists_counts_and_filters(client, case, manager_a, manager_b):
    client.force_login(manager_a.user)
    page = client.get("/cases/").content.decode()
    assert f"#{case.pk} Detractors" in page
    assert 'id="count-mine">1<' in page
    closed = client.get("/cases/?status=closed").content.decode()
    assert f"#{case.pk} Detractors" not in closed
    client.force_login(manager_b.user)
    assert f"#{case.pk}" not in client.get("/cases/").content.decode()
    assert client.get(f"/cases/{case.pk}/").status_code == 404


def test_the_case_page_shows_the_customer_and_escapes_their_words(client, case, manager_a):
    client.force_login(manager_a.user)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert SCRIPT not in page
    assert "Rude &lt;script&gt;alert(1)&lt;/script&gt; staff" in page
    assert 'id="customer-360"' in page
    assert "ann" in page


def test_the_case_page_closes_with_a_root_cause_and_refuses_without(client, case, manager_a):
    client.force_login(manager_a.user)
    refused = client.post(f"/cases/{case.pk}/status", {"status": "closed"})
    assert refused.status_code == 422
    assert "root cause" in refused.content.decode()
    done = client.post(f"/cases/{case.pk}/status", {
        "status": "closed", "root_cause": "staff.friendliness", "issue_resolved": "yes",
        "note": "Done"})
    assert done.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.root_cause, case.issue_resolved) == (
        "closed", "staff.friendliness", True)


def test_notes_and_messages_from_the_case_page(client, case, manager_a):
    client.force_login(manager_a.user)
    assert client.post(f"/cases/{case.pk}/notes", {"text": "Called"}).status_code == 302
    mail.outbox.clear()
    assert client.post(f"/cases/{case.pk}/messages", {
        "subject": "We are sorry", "body": "Refund sent."}).status_code == 302
    relay()
    assert [m.subject for m in mail.outbox] == ["We are sorry"]
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Called" in page
    assert "Refund sent." in page


def test_a_viewer_sees_the_case_but_may_not_act(client, case, viewer):
    client.force_login(viewer.user)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Save status" not in page
    assert client.post(f"/cases/{case.pk}/notes", {"text": "x"}).status_code == 403


def test_taking_a_case(client, case, agent_a):
    client.force_login(agent_a.user)
    assert client.post(f"/cases/{case.pk}/take").status_code == 302
    case.refresh_from_db()
    assert case.owner == agent_a.user


def test_the_reports_page(client, case, manager_a):
    manager_a.api().post_json(f"/api/v1/cases/{case.pk}/status", {
        "status": "resolved", "root_cause": "staff.friendliness", "issue_resolved": True})
    client.force_login(manager_a.user)
    page = client.get("/cases/reports/?start=2000-01-01").content.decode()
    assert "Top root causes" in page
    assert "Staff › Friendly, helpful staff <code>staff.friendliness</code>" in page


def test_the_customer_card_and_its_api(client, case, manager_a, manager_b):
    card = manager_a.api().get(f"/api/v1/customers/{case.customer_id}/card").json()
    assert card["scores"][0]["nps"] == 1
    assert card["open_cases"][0]["id"] == case.pk
    assert card["comments"][0]["text"] == f"Rude {SCRIPT} staff"
    assert manager_b.api().get(f"/api/v1/customers/{case.customer_id}/card").status_code == 404
    client.force_login(manager_a.user)
    page = client.get(f"/customers/{case.customer_id}/card/")
    assert page.status_code == 200
    assert "X-Frame-Options" not in page  # it is made to be embedded
    assert SCRIPT not in page.content.decode()


def test_the_manager_dashboard_shows_open_cases(client, case, manager_a):
    client.force_login(manager_a.user)
    page = client.get("/dashboards/manager/").content.decode()
    assert 'id="open-cases"' in page
    assert f"#{case.pk} Detractors" in page
