"""Working a case: statuses, notes, messages to the customer, closing with a root cause,
the follow-up survey and recovery, and escalation when the SLA is breached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from opencem.closedloop.cases import cases_escalate_overdue
from opencem.closedloop.followup import case_followup_send
from opencem.closedloop.mailer import notifications_send_due
from opencem.closedloop.models import Case, CaseEvent, Notification
from opencem.closedloop.tests.factories import make_rule, make_survey, relay, respond
from opencem.customers.models import CustomerIdentity
from opencem.surveys.models import Invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(org):
    return make_survey(unit=org.company)


@pytest.fixture
def case(org, admin, manager_a, survey):
    make_rule(unit=org.company)
    respond(admin.api(), survey.pk, nps=2, reason="Nobody helped me")
    relay()
    mail.outbox.clear()
    return Case.objects.get()


def test_the_owner_moves_the_case_along_and_every_step_is_on_its_timeline(case, manager_a):
    api = manager_a.api()
    assert api.post_json(f"/api/v1/cases/{case.pk}/status",
                         {"status": "in_progress"}).status_code == 200
    assert api.post_json(f"/api/v1/cases/{case.pk}/notes",
                         {"text": "Called, no answer"}).status_code == 201
    assert api.post_json(f"/api/v1/cases/{case.pk}/status",
                         {"status": "waiting"}).status_code == 200
    detail = api.get(f"/api/v1/cases/{case.pk}").json()
    assert [e["kind"] for e in detail["events"]] == ["created", "status", "note", "status"]
    assert detail["status"] == "waiting"


def test_closing_needs_a_root_cause_and_whether_it_was_resolved(case, manager_a):
    api = manager_a.api()
    refused = api.post_json(f"/api/v1/cases/{case.pk}/status", {"status": "closed"})
    assert refused.status_code == 422
    assert refused.json()["error"]["errors"][0]["field"] == "root_cause"
    unknown = api.post_json(f"/api/v1/cases/{case.pk}/status", {
        "status": "closed", "root_cause": "rude-cashier", "issue_resolved": True})
    assert unknown.status_code == 422
    assert "not a theme of the taxonomy" in unknown.json()["error"]["errors"][0]["message"]
    refused = api.post_json(f"/api/v1/cases/{case.pk}/status",
                            {"status": "closed", "root_cause": "staff.friendliness"})
    assert refused.json()["error"]["errors"][0]["field"] == "issue_resolved"
    case.refresh_from_db()
    assert case.status == "new"
    assert CaseEvent.objects.filter(case=case).count() == 1
    done = api.post_json(f"/api/v1/cases/{case.pk}/status", {
        "status": "closed", "root_cause": "staff.friendliness", "issue_resolved": True})
    assert done.status_code == 200, done.content
    assert (done.json()["root_cause"], done.json()["issue_resolved"]) == (
        "staff.friendliness", True)
    again = api.post_json(f"/api/v1/cases/{case.pk}/status", {"status": "in_progress"})
    assert again.status_code == 422


def test_others_may_read_but_not_change_a_case_outside_their_units(case, manager_b, viewer):
    assert manager_b.api().get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert viewer.api().get(f"/api/v1/cases/{case.pk}").status_code == 200
    refused = viewer.api().post_json(f"/api/v1/cases/{case.pk}/notes", {"text": "hi"})
    assert refused.status_code == 403
    assert manager_b.api().get("/api/v1/cases").json() == []


def test_the_owner_writes_to_the_customer_and_it_lands_on_the_360(case, manager_a, client):
    answer = manager_a.api().post_json(f"/api/v1/cases/{case.pk}/messages", {
        "subject": "Sorry", "body": "We are <b>sorry</b>; your refund is on its way."})
    assert answer.status_code == 201, answer.content
    relay()
    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    assert message.subject == "Sorry"
    html = message.alternatives[0][0]
    assert "&lt;b&gt;sorry&lt;/b&gt;" in html
    client.force_login(manager_a.user)
    page = client.get(f"/customers/{case.customer_id}/").content.decode()
    assert "Message from manager_a" in page
    assert "We are &lt;b&gt;sorry&lt;/b&gt;; your refund is on its way." in page


def test_a_message_needs_a_customer_email(case, manager_a):
    CustomerIdentity.objects.filter(customer_id=case.customer_id).delete()
    refused = manager_a.api().post_json(f"/api/v1/cases/{case.pk}/messages",
                                        {"subject": "Hi", "body": "Hello"})
    assert refused.status_code == 422
    assert CaseEvent.objects.filter(case=case, kind="message").count() == 0


def test_resolution_sends_the_follow_up_and_the_answer_counts_recovery(
        org, admin, manager_a, survey, django_capture_on_commit_callbacks):
    followup = make_survey(unit=org.company, name="How did we do?")
    make_rule(unit=org.company, followup_survey_id=followup.pk)
    respond(admin.api(), survey.pk, nps=2)
    relay()
    case = Case.objects.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = manager_a.api().post_json(f"/api/v1/cases/{case.pk}/status", {
            "status": "resolved", "root_cause": "service.waiting", "issue_resolved": True})
    assert answer.status_code == 200, answer.content
    invitation = Invitation.objects.get(survey=followup)
    assert invitation.status == "sent"
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    case.refresh_from_db()
    assert case.followup_invitation_id == invitation.pk
    respond(admin.api(), followup.pk, nps=8)
    relay()
    case.refresh_from_db()
    assert (case.followup_nps, case.recovered) == (8, True)
    report = admin.api().get("/api/v1/reports/recovery?by=root_cause").json()
    assert report == [{"key": "service.waiting",
                       "label": "Customer service › Waiting to get through",
                       "followed_up": 1, "recovered": 1, "rate": 100.0}]
    by_unit = admin.api().get("/api/v1/reports/recovery?by=unit").json()
    assert by_unit[0]["key"] == "STORE-A"
    causes = admin.api().get("/api/v1/reports/root-causes?unit=NORTH").json()
    assert causes == [{"root_cause": "service.waiting",
                       "label": "Customer service › Waiting to get through",
                       "cases": 1, "resolved": 1, "share": 100.0}]


def test_a_detractor_who_stays_a_detractor_is_not_recovered(org, admin, manager_a, survey):
    followup = make_survey(unit=org.company, name="How did we do?")
    make_rule(unit=org.company, followup_survey_id=followup.pk)
    respond(admin.api(), survey.pk, nps=2)
    relay()
    case = Case.objects.get()
    manager_a.api().post_json(f"/api/v1/cases/{case.pk}/status", {
        "status": "resolved", "root_cause": "staff.friendliness", "issue_resolved": False})
    assert case_followup_send(case_id=case.pk)
    assert not case_followup_send(case_id=case.pk)  # once
    respond(admin.api(), followup.pk, nps=5)
    relay()
    case.refresh_from_db()
    assert case.recovered is False


def test_a_breached_sla_escalates_up_the_tree_once_per_breach(case, org, manager_a, admin):
    org.north.owner = admin.user
    org.north.save()
    later = timezone.now() + timedelta(hours=49)
    assert cases_escalate_overdue(now=later) == 1
    case.refresh_from_db()
    assert (case.owner, case.escalation_level) == (admin.user, 1)
    assert case.due_at > later
    assert cases_escalate_overdue(now=later) == 0
    assert CaseEvent.objects.filter(case=case, kind="escalated").count() == 1
    relay()
    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]
    # At the top there is no one further up: it stays, and is not looked at again.
    assert cases_escalate_overdue(now=later + timedelta(hours=100)) == 0
    case.refresh_from_db()
    assert case.escalation_exhausted


def test_waiting_on_the_customer_stops_the_sla_clock(case, manager_a):
    manager_a.api().post_json(f"/api/v1/cases/{case.pk}/status", {"status": "waiting"})
    assert cases_escalate_overdue(now=timezone.now() + timedelta(days=30)) == 0


def test_the_inbox_counts_and_filters(case, manager_a, agent_a):
    api = manager_a.api()
    counts = api.get("/api/v1/cases/counts").json()
    assert (counts["open"], counts["mine"], counts["by_status"]["new"]) == (1, 1, 1)
    assert agent_a.api().get("/api/v1/cases/counts").json()["mine"] == 0
    assert [c["id"] for c in api.get("/api/v1/cases?owner=me").json()] == [case.pk]
    assert api.get("/api/v1/cases?status=closed").json() == []
    bad = api.get("/api/v1/cases?status=bogus")
    assert bad.status_code == 422


def test_assigning_to_someone_without_a_role_there_is_refused(case, manager_a, manager_b):
    refused = manager_a.api().post_json(f"/api/v1/cases/{case.pk}/assign",
                                        {"owner": "manager_b"})
    assert refused.status_code == 422
    case.refresh_from_db()
    assert case.owner == manager_a.user


def test_a_mail_server_failure_keeps_the_mail_for_a_later_try(case, manager_a, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    manager_a.api().post_json(f"/api/v1/cases/{case.pk}/messages",
                              {"subject": "Hi", "body": "Sorry"})
    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    assert notifications_send_due() == 0
    pending = Notification.objects.get(kind="customer")
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert "mail server down" in pending.last_error
    monkeypatch.undo()
    assert notifications_send_due(now=pending.next_attempt_at) == 1
    assert [m.subject for m in mail.outbox] == ["Hi"]


def test_owners_of_many_units_are_who_each_would_get_alone(org, manager_a, manager_b, admin):
    from opencem.accounts.services import user_create  # noqa: PLC0415
    from opencem.closedloop import routing  # noqa: PLC0415

    # store_a: its manager stands in for a missing owner; store_b's owner is inactive, so its
    # manager; north and web have nobody of their own, so the company's owner.
    org.company.owner = admin.user
    org.company.save()
    gone = user_create(username="gone", email="gone@acme.test", password=None)
    gone.is_active = False
    gone.save()
    org.store_b.owner = gone
    org.store_b.save()
    units = [org.store_a, org.store_b, org.north, org.web, org.company]
    together = routing.owners_up_the_tree(units)
    assert together == {u.pk: routing.owner_up_the_tree(u)[0] for u in units}
    assert [together[u.pk] for u in units] == [manager_a.user, manager_b.user, admin.user,
                                               admin.user, admin.user]
