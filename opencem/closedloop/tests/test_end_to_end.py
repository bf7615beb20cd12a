"""The whole inner loop through real servers: a detractor's response committed over the API,
a Celery worker on the local Redis opening a case for the store's manager, the alert mail
arriving at an SMTP server, the manager resolving the case with a root cause, the customer's
follow-up invitation arriving, their answer, and the recovery counted."""

from __future__ import annotations

import re

import pytest

from opencem.closedloop.models import Case, Notification
from opencem.closedloop.tests.factories import make_rule, make_survey, respond
from opencem.closedloop.tests.live import (
    SHARED_BROKER,
    Worker,
    broker,
    needs_postgres,
    smtp_server,
    wait_for,
)
from opencem.surveys.models import Invitation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("starter_taxonomy"),
              pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")]


@pytest.fixture
def live():
    needs_postgres()
    with smtp_server() as (inbox, port):
        worker = Worker(SHARED_BROKER, port)
        worker.start()
        try:
            with broker(SHARED_BROKER):
                yield inbox, worker
        finally:
            worker.stop()


def test_a_detractor_reaches_the_manager_and_is_followed_up_to_recovery(
        live, org, admin, manager_a):
    inbox, worker = live
    org.store_a.owner = manager_a.user
    org.store_a.save()
    survey = make_survey(unit=org.company)
    followup = make_survey(unit=org.company, name="Did we put it right?")
    make_rule(unit=org.company, followup_survey_id=followup.pk, name="Detractor at a store")

    respond(admin.api(), survey.pk, nps=3, reason="Waited 40 minutes at the till",
            email="ann@example.com")

    case = wait_for(Case.objects.first, "a case opened by the worker", worker)
    assert case.owner_id == manager_a.user.pk
    (assigned,) = wait_for(lambda: inbox.to("manager_a@acme.test"), "the mail to the manager",
                           worker)
    assert f"Case {case.pk} is yours" in str(assigned["Subject"])
    text = assigned.get_body(preferencelist=("plain",)).get_content()
    assert f"/cases/{case.pk}/" in text

    answer = manager_a.api().post_json(f"/api/v1/cases/{case.pk}/status", {
        "status": "resolved", "root_cause": "service.waiting", "issue_resolved": True})
    assert answer.status_code == 200, answer.content

    (invitation_mail,) = wait_for(lambda: inbox.to("ann@example.com"),
                                  "the follow-up invitation", worker)
    assert re.search(r"/s/[A-Za-z0-9_-]+", invitation_mail.get_body(
        preferencelist=("plain",)).get_content())
    # The mail goes out inside the invitation's row lock; its "sent" commits right after.
    wait_for(lambda: Invitation.objects.filter(survey=followup, status="sent").exists(),
             "the invitation marked sent", worker)

    respond(admin.api(), followup.pk, nps=9, email="ann@example.com")
    wait_for(lambda: Case.objects.filter(pk=case.pk, recovered=True).exists(),
             "the follow-up answer counted", worker)
    report = admin.api().get("/api/v1/reports/recovery?by=unit").json()
    assert report == [{"key": "STORE-A", "label": "Store A", "followed_up": 1, "recovered": 1,
                       "rate": 100.0}]
    assert Notification.objects.filter(status="sent").count() == 1
    assert len(inbox.to("manager_a@acme.test")) == 1
