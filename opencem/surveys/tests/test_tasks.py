"""The Celery entry points of the surveys app, run eagerly as in the tests and one-machine
setups."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from opencem.surveys.models import Invitation, InvitationStatus
from opencem.surveys.tests.test_distribution_factories import make_survey, make_trigger

pytestmark = pytest.mark.django_db


def _post_purchase(admin, external_id: str, **changes):
    return admin.api().post_json("/api/v1/interactions", {
        "source": "pos", "external_id": external_id, "channel": "store", "kind": "purchase",
        "occurred_at": timezone.now().isoformat(), "unit": "STORE-A",
        "customer": {"email": "ann@example.com"}, **changes})


def test_an_invitation_of_a_trigger_without_delay_is_mailed_as_soon_as_it_is_made(
        org, admin, django_capture_on_commit_callbacks):
    make_trigger(make_survey(unit=org.company), delay_minutes=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_purchase(admin, "T-1").status_code == 201
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SENT
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_an_invitation_due_later_waits_for_the_scheduler(
        org, admin, django_capture_on_commit_callbacks):
    make_trigger(make_survey(unit=org.company), delay_minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_purchase(admin, "T-2").status_code == 201
    assert Invitation.objects.get().status == InvitationStatus.SCHEDULED
    assert mail.outbox == []


def test_a_suppressed_invitation_is_not_mailed(org, admin, django_capture_on_commit_callbacks):
    make_trigger(make_survey(unit=org.company), delay_minutes=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_purchase(admin, "T-3", customer={"phone": "+447700900123"}
                              ).status_code == 201
    assert Invitation.objects.get().status == InvitationStatus.SUPPRESSED
    assert mail.outbox == []
