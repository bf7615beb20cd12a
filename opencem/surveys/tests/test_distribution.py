from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from opencem.core.errors import ApplicationError
from opencem.customers.models import Customer
from opencem.customers.services import customers_merge
from opencem.surveys import distribution
from opencem.surveys.invitations import invitation_by_token
from opencem.surveys.models import (
    ContactRule,
    Invitation,
    InvitationStatus,
    Trigger,
    Unsubscribe,
)
from opencem.surveys.tests.test_distribution_factories import (
    ingest,
    make_rule,
    make_survey,
    make_trigger,
    token_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(org):
    return make_survey(unit=org.company)


def evaluate(*interactions):
    return distribution.triggers_evaluate(interaction_ids=[i.pk for i in interactions])


# Triggers --------------------------------------------------------------------------------

def test_an_interaction_posted_to_the_api_invites_its_customer_and_the_mail_goes_when_due(
        admin, survey, django_capture_on_commit_callbacks):
    api = admin.api()
    created = api.post_json(f"/api/v1/surveys/{survey.pk}/triggers", {
        "name": "After a purchase", "kinds": ["purchase"], "delay_minutes": 60,
        "hidden_fields": {"store": "unit", "order": "attributes.order_id"}})
    assert created.status_code == 201, created.content
    occurred = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        posted = api.post_json("/api/v1/interactions", {
            "source": "pos", "external_id": "T-1", "channel": "store", "kind": "purchase",
            "occurred_at": occurred.isoformat(), "unit": "STORE-A",
            "customer": {"email": "ann@example.com", "name": "Ann"},
            "attributes": {"order_id": "O-7"}})
    assert posted.status_code == 201, posted.content

    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.scheduled_for == occurred + timedelta(minutes=60)
    assert invitation.hidden == {"store": "STORE-A", "order": "O-7"}
    assert invitation.email == "ann@example.com"
    assert distribution.invitations_send_due(now=occurred + timedelta(minutes=59)) == 0
    assert distribution.invitations_send_due(now=occurred + timedelta(minutes=61)) == 1
    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    token = token_in(message.body)
    assert invitation_by_token(token).pk == invitation.pk
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert distribution.invitations_send_due(now=occurred + timedelta(minutes=90)) == 0


def test_a_trigger_invites_only_after_interactions_matching_its_filters(org, survey):
    make_trigger(survey, kinds=("purchase",), channels=("store",), unit_codes=("NORTH",))
    matching = ingest(email="a@example.com", unit="STORE-B")
    other_kind = ingest(email="b@example.com", kind="return")
    other_channel = ingest(email="c@example.com", channel="web")
    outside_unit = ingest(email="d@example.com", unit="WEB")
    anonymous = ingest(email=None)
    made = evaluate(matching, other_kind, other_channel, outside_unit, anonymous)
    assert [i.interaction_id for i in made] == [matching.pk]


def test_inactive_triggers_and_unpublished_surveys_invite_nobody(org, survey):
    make_trigger(survey, active=False)
    make_trigger(make_survey(unit=org.company, name="Draft", publish=False))
    assert evaluate(ingest()) == []


def test_interactions_from_a_history_import_are_not_invited(survey):
    make_trigger(survey)
    old = ingest(occurred_at=timezone.now() - timedelta(days=20))
    assert evaluate(old) == []


def test_sampling_at_0_percent_invites_nobody_and_at_100_percent_everybody(org, survey):
    never = make_trigger(survey, name="never", sample_percent=0)
    always = make_trigger(survey, name="always", sample_percent=100)
    interactions = [ingest(email=f"c{i}@example.com") for i in range(5)]
    made = evaluate(*interactions)
    assert {i.trigger_id for i in made} == {always.pk}
    assert len(made) == 5
    assert not Invitation.objects.filter(trigger=never).exists()


def test_sampling_is_the_same_every_time_and_close_to_the_percentage():
    first = [distribution.sampled(trigger_id=7, interaction_id=i, percent=30)
             for i in range(2000)]
    again = [distribution.sampled(trigger_id=7, interaction_id=i, percent=30)
             for i in range(2000)]
    assert first == again
    assert 500 < sum(first) < 700


def test_evaluating_an_interaction_again_makes_no_second_invitation(survey):
    make_trigger(survey, sample_percent=50)
    interactions = [ingest(email=f"c{i}@example.com") for i in range(10)]
    first = evaluate(*interactions)
    assert evaluate(*interactions) == []
    assert Invitation.objects.count() == len(first)


def test_the_database_refuses_a_second_invitation_for_one_trigger_and_interaction(survey):
    trigger = make_trigger(survey)
    interaction = ingest()
    (invitation,) = evaluate(interaction)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.create(survey=survey, unit=invitation.unit, trigger=trigger,
                                  interaction=interaction, token_hash="x" * 64,
                                  expires_at=invitation.expires_at)


def test_a_customer_without_an_email_address_gets_a_suppressed_invitation(survey):
    make_trigger(survey)
    (invitation,) = evaluate(ingest(email=None, phone="+4915112345678"))
    assert invitation.status == InvitationStatus.SUPPRESSED
    assert invitation.suppressed_reason == "customer has no email address"


# Contact rules ---------------------------------------------------------------------------

def test_the_default_rule_suppresses_invitations_beyond_the_limit_with_the_reason(survey):
    make_rule(max_invitations=2, period_days=30)
    make_trigger(survey)
    made = [evaluate(ingest())[0] for _ in range(3)]
    assert [i.status for i in made] == ["scheduled", "scheduled", "suppressed"]
    assert made[2].suppressed_reason == "2 invitations in the last 30 days (limit 2)"


def test_invitations_older_than_the_period_no_longer_count(survey):
    make_rule(max_invitations=1, period_days=30)
    make_trigger(survey)
    evaluate(ingest())
    Invitation.objects.update(created_at=timezone.now() - timedelta(days=31))
    (again,) = evaluate(ingest())
    assert again.status == InvitationStatus.SCHEDULED


def test_the_minimum_gap_suppresses_an_invitation_too_soon_after_the_last(survey):
    make_rule(min_gap_days=7)
    make_trigger(survey)
    evaluate(ingest())
    Invitation.objects.update(created_at=timezone.now() - timedelta(days=2))
    (too_soon,) = evaluate(ingest())
    assert too_soon.status == InvitationStatus.SUPPRESSED
    assert too_soon.suppressed_reason == "last invitation 2 days ago (minimum gap 7 days)"
    Invitation.objects.update(created_at=timezone.now() - timedelta(days=8))
    (later,) = evaluate(ingest())
    assert later.status == InvitationStatus.SCHEDULED


def test_invitations_to_other_surveys_count_against_the_limit(org, survey):
    other = make_survey(unit=org.company, name="Delivery CSAT")
    make_rule(max_invitations=1, period_days=30)
    make_trigger(other)
    evaluate(ingest())
    make_trigger(survey)
    made = evaluate(ingest())
    assert {i.survey_id: i.status for i in made} == {
        other.pk: "suppressed", survey.pk: "suppressed"}


def test_a_per_survey_rule_overrides_the_default(org, survey):
    make_rule(max_invitations=1)
    make_rule(survey=survey, max_invitations=5)
    make_trigger(survey)
    made = [evaluate(ingest())[0] for _ in range(3)]
    assert {i.status for i in made} == {"scheduled"}


def test_a_per_segment_rule_overrides_the_default_for_customers_in_the_segment(survey):
    make_rule(max_invitations=5)
    make_rule(segment_attribute="tier", segment_value="gold", max_invitations=1)
    make_trigger(survey)
    gold = [evaluate(ingest(email="g@example.com", customer_attributes={"tier": "gold"}))[0]
            for _ in range(2)]
    plain = [evaluate(ingest(email="p@example.com"))[0] for _ in range(2)]
    assert [i.status for i in gold] == ["scheduled", "suppressed"]
    assert [i.status for i in plain] == ["scheduled", "scheduled"]


def test_the_most_specific_rule_wins(org, survey):
    default = make_rule(max_invitations=1)
    segment = make_rule(segment_attribute="tier", segment_value="gold", max_invitations=2)
    per_survey = make_rule(survey=survey, max_invitations=3)
    both = make_rule(survey=survey, segment_attribute="tier", segment_value="gold",
                     max_invitations=4)
    gold = Customer.objects.create(attributes={"tier": "gold"})
    plain = Customer.objects.create()
    other = make_survey(unit=org.company, name="Other")
    assert distribution.contact_rule_for(survey=survey, customer=gold) == both
    assert distribution.contact_rule_for(survey=survey, customer=plain) == per_survey
    assert distribution.contact_rule_for(survey=other, customer=gold) == segment
    assert distribution.contact_rule_for(survey=other, customer=plain) == default


# Unsubscribes ----------------------------------------------------------------------------

def test_an_unsubscribed_customer_is_suppressed(org, survey):
    make_trigger(survey)
    first = ingest()
    distribution.unsubscribe_create(customer_id=first.customer_id, survey_id=None)
    (invitation,) = evaluate(ingest())
    assert invitation.suppressed_reason == "customer unsubscribed"


def test_unsubscribing_from_one_survey_leaves_the_others(org, survey):
    other = make_survey(unit=org.company, name="Other")
    make_trigger(survey)
    make_trigger(other)
    first = ingest()
    distribution.unsubscribe_create(customer_id=first.customer_id, survey_id=survey.pk)
    made = evaluate(ingest())
    assert {i.survey_id: i.status for i in made} == {survey.pk: "suppressed",
                                                     other.pk: "scheduled"}


def test_an_invitation_waiting_to_be_sent_is_not_sent_after_an_unsubscribe(survey):
    make_trigger(survey, delay_minutes=30)
    (invitation,) = evaluate(ingest())
    distribution.unsubscribe_create(customer_id=invitation.customer_id, survey_id=survey.pk)
    assert distribution.invitations_send_due(now=timezone.now() + timedelta(hours=1)) == 0
    assert mail.outbox == []
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SUPPRESSED


def test_the_unsubscribe_page_asks_first_and_unsubscribes_on_the_button(client, survey):
    customer = ingest().customer
    url = distribution.unsubscribe_url(customer_id=customer.pk, survey_id=survey.pk)
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    assert "Store CSAT" in page.content.decode()
    assert not Unsubscribe.objects.exists()
    done = client.post("/" + path)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.content.decode()
    assert Unsubscribe.objects.get().survey_id == survey.pk
    assert client.post("/" + path).status_code == 200  # twice is harmless
    assert Unsubscribe.objects.count() == 1


def test_mail_clients_unsubscribe_with_one_post(client, survey):
    customer = ingest().customer
    url = distribution.unsubscribe_url(customer_id=customer.pk, survey_id=None)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Unsubscribe.objects.get().source == "one-click"


def test_a_forged_unsubscribe_link_changes_nothing(client, survey):
    customer = ingest().customer
    url = distribution.unsubscribe_url(customer_id=customer.pk, survey_id=None)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    forged = path.replace(f'"c":{customer.pk}', '"c":1').rstrip("/")[:-2] + "xx/"
    assert client.post(forged).status_code == 404
    assert client.get("/unsubscribe/nonsense/").status_code == 404
    assert not Unsubscribe.objects.exists()


# Reminders and expiry --------------------------------------------------------------------

def test_reminders_go_only_to_non_responders_and_stop_after_the_maximum(survey):
    make_trigger(survey, reminder_after_days=3, max_reminders=2)
    silent, answered = (evaluate(ingest(email=e))[0] for e in ("s@example.com",
                                                                 "a@example.com"))
    start = timezone.now()
    distribution.invitations_send_due(now=start)
    first_link = token_in(mail.outbox[0].body)
    Invitation.objects.filter(pk=answered.pk).update(completed_at=start,
                                                     status=InvitationStatus.COMPLETED)
    mail.outbox.clear()
    assert distribution.reminders_send(now=start + timedelta(days=2)) == 0
    assert distribution.reminders_send(now=start + timedelta(days=3, minutes=1)) == 1
    assert distribution.reminders_send(now=start + timedelta(days=4)) == 0  # too soon again
    assert distribution.reminders_send(now=start + timedelta(days=6, minutes=2)) == 1
    assert distribution.reminders_send(now=start + timedelta(days=12)) == 0  # at most 2
    assert [m.to for m in mail.outbox] == [["s@example.com"], ["s@example.com"]]
    assert mail.outbox[0].subject.startswith("Reminder:")
    assert token_in(mail.outbox[1].body) == first_link  # the same link still works
    silent.refresh_from_db()
    assert silent.reminders_sent == 2


def test_a_trigger_without_reminders_never_reminds(survey):
    make_trigger(survey)
    evaluate(ingest())
    distribution.invitations_send_due()
    assert distribution.reminders_send(now=timezone.now() + timedelta(days=20)) == 0


def test_unanswered_invitations_expire_and_their_links_stop_working(survey):
    make_trigger(survey, valid_days=7)
    evaluate(ingest())
    distribution.invitations_send_due()
    token = token_in(mail.outbox[0].body)
    later = timezone.now() + timedelta(days=8)
    assert distribution.invitations_expire(now=later) == 1
    assert Invitation.objects.get().status == InvitationStatus.EXPIRED
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ApplicationError) as exc:
        invitation_by_token(token)
    assert exc.value.status == 410


def test_an_invitation_due_after_its_expiry_is_not_sent(survey):
    make_trigger(survey, delay_minutes=60, valid_days=1)
    evaluate(ingest())
    assert distribution.invitations_send_due(now=timezone.now() + timedelta(days=2)) == 0
    assert Invitation.objects.get().status == InvitationStatus.EXPIRED
    assert mail.outbox == []


# The API ---------------------------------------------------------------------------------

@pytest.fixture
def store_survey(org):
    return make_survey(unit=org.store_a, name="Store A CSAT")


def test_a_manual_invitation_is_mailed_at_once_within_the_contact_rules(admin, survey):
    make_rule(min_gap_days=7)
    customer = ingest().customer
    api = admin.api()
    sent = api.post_json(f"/api/v1/surveys/{survey.pk}/invitations", {"customer": customer.pk})
    assert sent.status_code == 201, sent.content
    assert sent.json()["status"] == "sent"
    assert len(mail.outbox) == 1
    again = api.post_json(f"/api/v1/surveys/{survey.pk}/invitations", {"customer": customer.pk})
    assert again.json()["status"] == "suppressed"
    assert again.json()["suppressed_reason"].startswith("last invitation 0 days ago")
    assert len(mail.outbox) == 1


def test_the_invitation_list_shows_reasons_and_only_units_in_scope(admin, manager_a,
                                                                   store_survey):
    make_rule(max_invitations=1)
    make_trigger(store_survey)
    evaluate(ingest(email="a@example.com", unit="STORE-A"),
             ingest(email="a@example.com", unit="STORE-A"),
             ingest(email="b@example.com", unit="STORE-B"))
    everything = admin.api().get(f"/api/v1/surveys/{store_survey.pk}/invitations").json()
    assert len(everything["items"]) == 3
    mine = manager_a.api().get(f"/api/v1/surveys/{store_survey.pk}/invitations").json()
    assert {i["unit"] for i in mine["items"]} == {"STORE-A"}
    suppressed = manager_a.api().get(
        f"/api/v1/surveys/{store_survey.pk}/invitations?status=suppressed").json()["items"]
    assert [i["suppressed_reason"] for i in suppressed] == [
        "1 invitation in the last 30 days (limit 1)"]


def test_personal_links_cover_only_customers_in_scope_and_are_formula_safe(
        manager_a, store_survey):
    ingest(email="a@example.com", unit="STORE-A", name="=HYPERLINK(\"http://x\")",
           customer_attributes={"list": "spring"})
    ingest(email="b@example.com", unit="STORE-B", customer_attributes={"list": "spring"})
    ingest(email="c@example.com", unit="STORE-A", customer_attributes={"list": "autumn"})
    response = manager_a.api().post_json(
        f"/api/v1/surveys/{store_survey.pk}/personal-links",
        {"segment": {"attribute": "list", "value": "spring"}})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["email"] for r in rows] == ["a@example.com"]
    assert rows[0]["name"] == "'=HYPERLINK(\"http://x\")"
    invitation = invitation_by_token(token_in(rows[0]["link"]))
    assert (invitation.channel, invitation.status) == ("link", "sent")


def test_personal_links_respect_the_contact_rules(admin, survey):
    make_rule(max_invitations=1)
    customer = ingest().customer
    api = admin.api()
    first = api.post_json(f"/api/v1/surveys/{survey.pk}/personal-links",
                          {"customers": [customer.pk]})
    second = api.post_json(f"/api/v1/surveys/{survey.pk}/personal-links",
                           {"customers": [customer.pk]})
    rows = [next(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
            for r in (first, second)]
    assert rows[0]["link"].startswith("http")
    assert rows[0]["status"] == "sent"
    assert (rows[1]["link"], rows[1]["status"]) == ("", "suppressed")
    assert rows[1]["reason"] == "1 invitation in the last 30 days (limit 1)"


def test_only_designers_of_the_surveys_unit_may_change_triggers_and_rules(
        admin, manager_a, store_survey):
    api = manager_a.api()
    assert api.post_json(f"/api/v1/surveys/{store_survey.pk}/triggers",
                         {"name": "x"}).status_code == 403
    assert api.post_json("/api/v1/contact-rules", {"max_invitations": 1}).status_code == 403
    trigger = make_trigger(store_survey)
    assert api.delete(f"/api/v1/triggers/{trigger.pk}").status_code == 403
    assert Trigger.objects.count() == 1
    assert not ContactRule.objects.exists()


def test_triggers_and_rules_can_be_read_changed_and_deleted(admin, survey):
    api = admin.api()
    trigger = api.post_json(f"/api/v1/surveys/{survey.pk}/triggers",
                            {"name": "Visits", "unit_codes": ["NORTH"]}).json()
    changed = api.put(f"/api/v1/triggers/{trigger['id']}",
                      {"name": "Visits", "sample_percent": 10},
                      content_type="application/json")
    assert changed.json()["sample_percent"] == 10
    assert [t["name"] for t in api.get(f"/api/v1/surveys/{survey.pk}/triggers").json()] == [
        "Visits"]
    assert api.delete(f"/api/v1/triggers/{trigger['id']}").status_code == 204
    rule = api.post_json("/api/v1/contact-rules", {"max_invitations": 3}).json()
    assert api.post_json("/api/v1/contact-rules", {"max_invitations": 4}).status_code == 409
    override = api.post_json("/api/v1/contact-rules", {"survey": survey.pk,
                                                       "min_gap_days": 7})
    assert override.status_code == 201
    assert api.get(f"/api/v1/contact-rules/{rule['id']}").json()["max_invitations"] == 3
    assert api.put(f"/api/v1/contact-rules/{rule['id']}", {"max_invitations": 2},
                   content_type="application/json").json()["max_invitations"] == 2
    assert len(api.get("/api/v1/contact-rules").json()) == 2
    assert api.delete(f"/api/v1/contact-rules/{rule['id']}").status_code == 204


BAD_TRIGGERS = [
    ({"name": "x", "sample_percent": 101}, "sample_percent"),
    ({"name": "x", "sample_percent": "lots"}, "sample_percent"),
    ({"name": "x", "channels": ["fax"]}, "channels.0"),
    ({"name": "x", "kinds": ["Not A Slug"]}, "kinds.0"),
    ({"name": "x", "unit_codes": ["NOPE"]}, "unit_codes.0"),
    ({"name": "x", "delay_minutes": -1}, "delay_minutes"),
    ({"name": "x", "hidden_fields": {"store": "password"}}, "hidden_fields.store"),
    ({"name": "x", "max_reminders": 9}, "max_reminders"),
    ({"name": ""}, "name"),
    ({"name": "x", "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD_TRIGGERS)
def test_a_bad_trigger_names_the_field_and_writes_nothing(admin, survey, body, field):
    response = admin.api().post_json(f"/api/v1/surveys/{survey.pk}/triggers", body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["errors"][0]["field"] == field
    assert not Trigger.objects.exists()


BAD_RULES = [
    ({"period_days": 0}, "period_days"),
    ({"max_invitations": 0}, "max_invitations"),
    ({"min_gap_days": -3}, "min_gap_days"),
    ({"segment_attribute": "tier"}, "segment_value"),
    ({"segment_attribute": "a__b", "segment_value": "x"}, "segment_attribute"),
    ({"survey": 99999}, "survey"),
    ({"priority": 1}, "priority"),
]


@pytest.mark.parametrize(("body", "field"), BAD_RULES)
def test_a_bad_contact_rule_names_the_field_and_writes_nothing(admin, body, field):
    response = admin.api().post_json("/api/v1/contact-rules", body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["errors"][0]["field"] == field
    assert not ContactRule.objects.exists()


def test_bad_sends_and_exports_name_the_field_and_write_nothing(admin, manager_b, survey,
                                                                store_survey):
    customer = ingest(email="a@example.com", unit="STORE-A").customer
    api = admin.api()
    cases = [
        (f"/api/v1/surveys/{survey.pk}/invitations", {"customer": 99999}, 422, "customer"),
        (f"/api/v1/surveys/{survey.pk}/invitations", {"customer": "me"}, 422, "customer"),
        (f"/api/v1/surveys/{survey.pk}/invitations",
         {"customer": customer.pk, "unit": "NOPE"}, 422, "unit"),
        (f"/api/v1/surveys/{survey.pk}/invitations",
         {"customer": customer.pk, "valid_days": 0}, 422, "valid_days"),
        (f"/api/v1/surveys/{survey.pk}/personal-links", {}, 422, "customers"),
        (f"/api/v1/surveys/{survey.pk}/personal-links",
         {"customers": [customer.pk], "segment": {"attribute": "a", "value": "b"}}, 422,
         "customers"),
        (f"/api/v1/surveys/{survey.pk}/personal-links",
         {"segment": {"attribute": "a__contains", "value": "b"}}, 422, "segment.attribute"),
        (f"/api/v1/surveys/{survey.pk}/personal-links", {"customers": [customer.pk, 99999]},
         422, "customers.1"),
    ]
    for path, body, status, field in cases:
        response = api.post_json(path, body)
        assert response.status_code == status, (body, response.content)
        assert response.json()["error"]["errors"][0]["field"] == field, body
    listing = api.get(f"/api/v1/surveys/{survey.pk}/invitations?status=lost")
    assert listing.json()["error"]["errors"][0]["field"] == "status"
    # manager_b cannot see store A's survey, nor store A's customer.
    hidden = manager_b.api().post_json(f"/api/v1/surveys/{store_survey.pk}/invitations",
                                       {"customer": customer.pk})
    assert hidden.status_code == 404
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_a_survey_without_a_published_version_cannot_be_sent(admin, org):
    draft = make_survey(unit=org.company, name="Draft", publish=False)
    customer = ingest().customer
    response = admin.api().post_json(f"/api/v1/surveys/{draft.pk}/invitations",
                                     {"customer": customer.pk})
    assert response.status_code == 409
    assert not Invitation.objects.exists()


def test_merged_customers_keep_their_invitation_history_and_unsubscribes(admin, survey):
    make_rule(max_invitations=1)
    make_trigger(survey)
    first = ingest(email="old@example.com")
    evaluate(first)
    second = ingest(email="new@example.com")
    distribution.unsubscribe_create(customer_id=second.customer_id, survey_id=None)
    customers_merge(survivor=first.customer, absorbed=second.customer, actor=None,
                    reason="same person")
    assert Unsubscribe.objects.get().customer_id == first.customer_id
    assert Invitation.objects.filter(customer_id=first.customer_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_committed_interaction_is_evaluated_by_the_celery_task(admin, survey):
    make_trigger(survey)
    posted = admin.api().post_json("/api/v1/interactions", {
        "source": "pos", "external_id": "T-9", "channel": "store", "kind": "purchase",
        "occurred_at": timezone.now().isoformat(), "unit": "STORE-A",
        "customer": {"email": "ann@example.com"}})
    assert posted.status_code == 201
    assert Invitation.objects.get().interaction_id == posted.json()["id"]
    again = admin.api().post_json("/api/v1/interactions/batch", {"items": [{
        "source": "pos", "external_id": "T-9", "channel": "store", "kind": "purchase",
        "occurred_at": timezone.now().isoformat(), "unit": "STORE-A"}]})
    assert again.status_code == 200
    assert Invitation.objects.count() == 1  # a resent interaction is not new
