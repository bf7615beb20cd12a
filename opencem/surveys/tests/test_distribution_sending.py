"""Sending a survey now to several customers or a segment: the service and its endpoint."""

from __future__ import annotations

import pytest
from django.core import mail

from opencem.core.errors import ApplicationError
from opencem.surveys import distribution
from opencem.surveys.models import Invitation
from opencem.surveys.tests.test_distribution_factories import ingest, make_rule, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(org):
    return make_survey(unit=org.company)


@pytest.fixture
def store_survey(org):
    return make_survey(unit=org.store_a, name="Store A CSAT")


def test_several_customers_are_mailed_at_once_within_the_contact_rules(admin, survey):
    make_rule(max_invitations=1)
    ann = ingest(email="ann@example.com").customer
    bob = ingest(email="bob@example.com").customer
    no_email = ingest(email=None, phone="+447700900123").customer
    distribution.invitation_send_now(survey=survey, customer_id=bob.pk,
                                     scope=distribution.SYSTEM_SCOPE)
    response = admin.api().post_json(f"/api/v1/surveys/{survey.pk}/invitations/batch",
                                     {"customers": [ann.pk, bob.pk, no_email.pk, ann.pk]})
    assert response.status_code == 201, response.content
    items = response.json()["items"]
    assert [(i["customer"], i["status"], i["suppressed_reason"]) for i in items] == [
        (ann.pk, "sent", ""),
        (bob.pk, "suppressed", "1 invitation in the last 30 days (limit 1)"),
        (no_email.pk, "suppressed", "customer has no email address")]
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "bob@example.com"]


def test_a_segment_is_invited_only_as_far_as_the_senders_scope_reaches(manager_a,
                                                                       store_survey):
    ingest(email="a@example.com", unit="STORE-A", customer_attributes={"tier": "gold"})
    ingest(email="b@example.com", unit="STORE-B", customer_attributes={"tier": "gold"})
    ingest(email="c@example.com", unit="STORE-A", customer_attributes={"tier": "silver"})
    response = manager_a.api().post_json(
        f"/api/v1/surveys/{store_survey.pk}/invitations/batch",
        {"segment": {"attribute": "tier", "value": "gold"}})
    assert response.status_code == 201, response.content
    assert [i["email"] for i in response.json()["items"]] == ["a@example.com"]
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


def test_more_customers_than_may_be_mailed_at_once_are_refused_whole(admin, survey,
                                                                    monkeypatch):
    monkeypatch.setattr("opencem.surveys.distribution.sending.MAX_SEND_NOW", 2)
    for i in range(3):
        ingest(email=f"g{i}@example.com", customer_attributes={"tier": "gold"})
    with pytest.raises(ApplicationError) as refused:
        distribution.invitations_send_now(survey=survey, scope=distribution.SYSTEM_SCOPE,
                                          segment=("tier", "gold"))
    assert refused.value.errors[0].loc == ("segment",)
    assert "narrow it down" in refused.value.message
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({}, "customers"),
    ({"customers": [1], "segment": {"attribute": "tier", "value": "gold"}}, "customers"),
    ({"customers": [99999]}, "customers.0"),
    ({"segment": {"attribute": "a__b", "value": "x"}}, "segment.attribute"),
    ({"segment": {"attribute": "tier", "value": "gold"}, "touchpoint": "Front Desk"},
     "touchpoint"),
    ({"segment": {"attribute": "tier", "value": "gold"}, "unit": "NOPE"}, "unit"),
])
def test_bad_requests_name_the_field_and_send_nothing(admin, survey, body, field):
    ingest(email="g@example.com", customer_attributes={"tier": "gold"})
    response = admin.api().post_json(f"/api/v1/surveys/{survey.pk}/invitations/batch", body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["errors"][0]["field"] == field
    assert not Invitation.objects.exists()
    assert mail.outbox == []
