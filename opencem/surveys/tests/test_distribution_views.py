"""The distribution pages through the Django test client: triggers, sending now, personal
links, the invitations list, and the contact rules; who may do what, and what is refused."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opencem.surveys import distribution
from opencem.surveys.models import ContactRule, Invitation, InvitationStatus, Trigger
from opencem.surveys.tests.test_distribution_factories import (
    ingest,
    make_rule,
    make_survey,
    make_trigger,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
INVITATION_ROW = re.compile(r'<tr id="invitation-\d+">')


def signed_in(persona):
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def survey(org):
    """A survey owned by the whole company: only company-wide roles open its page."""
    return make_survey(unit=org.company)


@pytest.fixture
def store_survey(org):
    """A survey owned by store A, whose trigger also invites store B's customers."""
    return make_survey(unit=org.store_a, name="Store A CSAT")


def page_of(client, survey, **params):
    return client.get(reverse("survey_distribution", args=[survey.pk]), params)


def trigger_post(**overrides):
    data = {"name": "After a purchase", "active": "on", "kinds": "purchase, refund",
            "channels": ["store"], "units": ["NORTH"], "delay_minutes": "30",
            "sample_percent": "50", "touchpoint": "", "valid_days": "14",
            "reminder_after_days": "3", "max_reminders": "1",
            "hidden": "store = unit\norder = attributes.order_id"}
    data.update(overrides)
    return data


def send_post(prefix="send", **overrides):
    data = {"identities": "", "segment_attribute": "", "segment_value": "", "unit": "",
            "valid_days": "30", "touchpoint": ""}
    data.update(overrides)
    return {f"{prefix}-{key}": value for key, value in data.items()}


def invitations_of_everyone(store_survey):
    """Ann bought at store A and Bob at store B; the store A survey's trigger invites both."""
    make_trigger(store_survey)
    ann = ingest(email="ann@example.com", unit="STORE-A", name="Ann Alpha")
    bob = ingest(email="bob@example.com", unit="STORE-B", name="Bob Beta")
    return distribution.triggers_evaluate(interaction_ids=[ann.pk, bob.pk])


# --- the page and who sees what -------------------------------------------------------------


def test_the_page_shows_triggers_and_the_forms_to_a_designer(admin, survey):
    make_trigger(survey, name="After a refund", kinds=("refund",), sample_percent=25)
    response = page_of(signed_in(admin), survey)
    assert response.status_code == 200
    html = response.content.decode()
    assert "After a refund" in html
    assert "25 %" in html
    for button in ("Add trigger", "Send invitations", "Download personal links (CSV)"):
        assert button in html


def test_a_manager_sees_only_their_stores_invitations(admin, manager_a, store_survey):
    invitations_of_everyone(store_survey)
    html = page_of(signed_in(manager_a), store_survey).content.decode()
    assert "ann@example.com" in html
    assert "bob@example.com" not in html
    assert "Bob Beta" not in html
    everything = page_of(signed_in(admin), store_survey).content.decode()
    assert "bob@example.com" in everything


def test_a_manager_gets_no_design_forms_and_no_page_for_a_company_survey(manager_a, survey,
                                                                        store_survey):
    make_trigger(store_survey, name="After a purchase")
    html = page_of(signed_in(manager_a), store_survey).content.decode()
    assert "After a purchase" in html
    assert "Add trigger" not in html
    assert "Send invitations" in html  # a manager may write for their store
    assert page_of(signed_in(manager_a), survey).status_code == 404


def test_a_viewer_reads_the_page_without_any_form(viewer, survey):
    make_trigger(survey, name="After a purchase")
    response = page_of(signed_in(viewer), survey)
    assert response.status_code == 200
    html = response.content.decode()
    assert "After a purchase" in html
    for button in ("Add trigger", "Send invitations", "Download personal links", "Delete"):
        assert button not in html
    ingest(email="ann@example.com", unit="STORE-A")
    refused = signed_in(viewer).post(reverse("invitations_send", args=[survey.pk]),
                                     send_post(identities="ann@example.com"))
    assert refused.status_code == 403
    assert "needs a role that may write there" in refused.content.decode()
    assert not Invitation.objects.exists()


def test_the_outsider_sees_no_survey_and_visitors_must_sign_in(outsider, survey):
    assert page_of(signed_in(outsider), survey).status_code == 404
    response = page_of(Client(), survey)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_invitations_list_filters_by_status_and_shows_the_suppression_reason(
        admin, store_survey):
    invitations_of_everyone(store_survey)
    bob = Invitation.objects.get(email="bob@example.com")
    distribution.unsubscribe_create(customer_id=bob.customer_id, survey_id=None)
    client = signed_in(admin)
    html = page_of(client, store_survey, status="suppressed").content.decode()
    assert "bob@example.com" in html
    assert "customer unsubscribed" in html
    assert "ann@example.com" not in html
    html = page_of(client, store_survey, status="scheduled").content.decode()
    assert "ann@example.com" in html
    assert "bob@example.com" not in html


def test_an_unknown_status_is_refused_with_the_field_named(admin, store_survey):
    response = page_of(signed_in(admin), store_survey, status="lost")
    assert response.status_code == 422
    assert "status: must be one of" in response.content.decode()


def test_invitations_come_a_page_at_a_time_and_htmx_gets_only_the_next_rows(admin,
                                                                           store_survey):
    make_trigger(store_survey)
    interactions = [ingest(email=f"c{i}@example.com", unit="STORE-A") for i in range(27)]
    distribution.triggers_evaluate(interaction_ids=[i.pk for i in interactions])
    client = signed_in(admin)
    first = page_of(client, store_survey)
    html = first.content.decode()
    assert len(INVITATION_ROW.findall(html)) == 25
    assert "c26@example.com" in html  # newest first
    assert "c0@example.com" not in html
    cursor = first.context["page"].next_cursor
    rest = client.get(reverse("survey_distribution", args=[store_survey.pk]),
                      {"cursor": cursor}, HTTP_HX_REQUEST="true")
    rows = rest.content.decode()
    assert "<h1" not in rows
    assert len(INVITATION_ROW.findall(rows)) == 2
    assert "c0@example.com" in rows


def test_customer_names_in_the_invitations_list_are_escaped(admin, store_survey):
    make_trigger(store_survey)
    interaction = ingest(email="mallory@example.com", unit="STORE-A", name=SCRIPT)
    distribution.triggers_evaluate(interaction_ids=[interaction.pk])
    html = page_of(signed_in(admin), store_survey).content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- triggers --------------------------------------------------------------------------------


def test_a_designer_adds_a_trigger_through_the_form(admin, survey):
    response = signed_in(admin).post(reverse("trigger_create", args=[survey.pk]),
                                     trigger_post())
    assert response.status_code == 302
    assert response["Location"].endswith("#triggers")
    trigger = Trigger.objects.get()
    assert trigger.kinds == ["purchase", "refund"]
    assert trigger.channels == ["store"]
    assert trigger.unit_codes == ["NORTH"]
    assert (trigger.delay_minutes, trigger.sample_percent, trigger.valid_days) == (30, 50, 14)
    assert trigger.hidden_fields == {"store": "unit", "order": "attributes.order_id"}
    assert trigger.created_by == admin.user


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"sample_percent": "150"}, "sample_percent", "must be between 0 and 100"),
    ({"sample_percent": "lots"}, "sample_percent", "Enter a whole number."),
    ({"kinds": "purchase, Bad Kind!"}, "kinds", "item 2: must be a lower-case slug"),
    ({"units": ["NOWHERE"]}, "units", "Select a valid choice."),
    ({"name": "  "}, "name", "This field is required."),
    ({"delay_minutes": "-5"}, "delay_minutes", "must be between 0 and 43200"),
    ({"hidden": "store unit"}, "hidden", "line 1: write"),
    ({"hidden": "store = password"}, "hidden", "store: must be"),
    ({"touchpoint": "Front Desk"}, "touchpoint", "must be a lower-case slug"),
])
def test_bad_trigger_input_shows_a_form_error_and_stores_nothing(admin, survey, overrides,
                                                                 field, message):
    response = signed_in(admin).post(reverse("trigger_create", args=[survey.pk]),
                                     trigger_post(**overrides))
    assert response.status_code == 422
    form = response.context["trigger_form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Trigger.objects.exists()


def test_a_manager_may_not_add_a_trigger(manager_a, store_survey):
    response = signed_in(manager_a).post(reverse("trigger_create", args=[store_survey.pk]),
                                         trigger_post(units=[]))
    assert response.status_code == 403
    assert "needs the admin or analyst role" in response.content.decode()
    assert not Trigger.objects.exists()


def test_a_designer_edits_a_trigger(admin, survey):
    trigger = make_trigger(survey, kinds=("purchase",), sample_percent=100)
    client = signed_in(admin)
    form = client.get(reverse("trigger_edit", args=[trigger.pk]))
    assert form.status_code == 200
    assert 'value="purchase"' in form.content.decode()
    response = client.post(reverse("trigger_edit", args=[trigger.pk]),
                           trigger_post(name="After a visit", kinds="visit", units=[],
                                        channels=[], sample_percent="10", active=""))
    assert response.status_code == 302
    trigger.refresh_from_db()
    assert (trigger.name, trigger.kinds, trigger.sample_percent, trigger.active) == (
        "After a visit", ["visit"], 10, False)


def test_a_bad_edit_changes_nothing(admin, survey):
    trigger = make_trigger(survey, sample_percent=100)
    response = signed_in(admin).post(reverse("trigger_edit", args=[trigger.pk]),
                                     trigger_post(sample_percent="101"))
    assert response.status_code == 422
    trigger.refresh_from_db()
    assert trigger.sample_percent == 100
    assert trigger.name == "After a purchase"


def test_deleting_a_trigger_with_htmx_removes_its_row(admin, survey):
    trigger = make_trigger(survey)
    response = signed_in(admin).post(reverse("trigger_delete", args=[trigger.pk]),
                                     HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content == b""
    assert not Trigger.objects.exists()


def test_deleting_a_trigger_without_javascript_comes_back_to_the_page(admin, survey):
    trigger = make_trigger(survey)
    response = signed_in(admin).post(reverse("trigger_delete", args=[trigger.pk]),
                                     follow=True)
    assert response.redirect_chain[-1][0].endswith("#triggers")
    assert "Trigger \u201cAfter a purchase\u201d deleted." in response.content.decode()
    assert not Trigger.objects.exists()


def test_managers_may_not_edit_or_delete_triggers(manager_a, manager_b, store_survey):
    trigger = make_trigger(store_survey)
    client = signed_in(manager_a)
    assert client.get(reverse("trigger_edit", args=[trigger.pk])).status_code == 403
    assert client.post(reverse("trigger_delete", args=[trigger.pk])).status_code == 403
    # Store B's manager does not even see store A's survey.
    assert signed_in(manager_b).get(reverse("trigger_edit", args=[trigger.pk])
                                    ).status_code == 404
    assert Trigger.objects.filter(pk=trigger.pk).exists()


# --- sending now -----------------------------------------------------------------------------


def test_sending_to_a_customer_by_email_mails_them_and_lists_the_invitation(admin, survey):
    ingest(email="ann@example.com", unit="STORE-A", name="Ann Alpha")
    client = signed_in(admin)
    response = client.post(reverse("invitations_send", args=[survey.pk]),
                           send_post(identities="ANN@example.com\n"), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 invitation: 1 sent." in html
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SENT
    assert f'id="invitation-{invitation.pk}"' in html
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_sending_to_a_segment_invites_its_customers_within_the_contact_rules(admin, survey):
    ingest(email="gold1@example.com", unit="STORE-A", customer_attributes={"tier": "gold"})
    ingest(email="gold2@example.com", unit="STORE-B", customer_attributes={"tier": "gold"})
    ingest(email="plain@example.com", unit="STORE-A", customer_attributes={"tier": "silver"})
    make_rule(segment_attribute="tier", segment_value="gold", max_invitations=1)
    client = signed_in(admin)
    client.post(reverse("invitations_send", args=[survey.pk]),
                send_post(identities="gold1@example.com"))
    response = client.post(reverse("invitations_send", args=[survey.pk]),
                           send_post(segment_attribute="tier", segment_value="gold"),
                           follow=True)
    html = response.content.decode()
    assert "2 invitations: 1 sent, 1 suppressed" in html
    assert "1 invitation in the last 30 days (limit 1)" in html
    assert set(Invitation.objects.values_list("email", "status")) == {
        ("gold1@example.com", "sent"), ("gold1@example.com", "suppressed"),
        ("gold2@example.com", "sent")}


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"identities": "nobody@example.com"}, "identities", "line 1: no customer in your scope"),
    ({}, "identities", "Give at least one customer, or a segment."),
    ({"identities": "ann@example.com", "segment_attribute": "tier",
      "segment_value": "gold"}, "identities", "not both"),
    ({"segment_attribute": "tier"}, "segment_value", "Give the value too."),
    ({"segment_attribute": "a__b", "segment_value": "x"}, "segment_attribute",
     "must be 1-64 letters"),
    ({"identities": "ann@example.com", "valid_days": "0"}, "valid_days",
     "must be between 1 and 365"),
    ({"identities": "ann@example.com", "unit": "NOWHERE"}, "unit", "Select a valid choice."),
])
def test_bad_sending_input_shows_a_form_error_and_sends_nothing(admin, survey, overrides,
                                                                field, message):
    ingest(email="ann@example.com", unit="STORE-A")
    response = signed_in(admin).post(reverse("invitations_send", args=[survey.pk]),
                                     send_post(**overrides))
    assert response.status_code == 422
    form = response.context["send_form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_a_manager_cannot_send_to_another_stores_customer(admin, manager_a, store_survey):
    ingest(email="bob@example.com", unit="STORE-B")
    response = signed_in(manager_a).post(reverse("invitations_send", args=[store_survey.pk]),
                                         send_post(identities="bob@example.com"))
    assert response.status_code == 422
    assert "no customer in your scope" in response.content.decode()
    assert not Invitation.objects.exists()


def test_sending_for_an_unpublished_survey_says_why(admin, org):
    draft = make_survey(unit=org.company, name="Draft", publish=False)
    ingest(email="ann@example.com", unit="STORE-A")
    response = signed_in(admin).post(reverse("invitations_send", args=[draft.pk]),
                                     send_post(identities="ann@example.com"))
    assert response.status_code == 409
    assert "has no published version" in response.content.decode()
    assert not Invitation.objects.exists()


# --- personal links --------------------------------------------------------------------------


def test_personal_links_for_a_segment_come_as_csv(admin, survey):
    ingest(email="gold@example.com", unit="STORE-A", name="=HYPERLINK(1)",
           customer_attributes={"tier": "gold"})
    ingest(email="plain@example.com", unit="STORE-A", customer_attributes={"tier": "silver"})
    response = signed_in(admin).post(
        reverse("personal_links", args=[survey.pk]),
        send_post("links", segment_attribute="tier", segment_value="gold"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == distribution.PERSONAL_LINK_COLUMNS
    assert len(rows) == 2
    assert rows[1][1] == "'=HYPERLINK(1)"  # a formula is neutralised
    assert rows[1][2] == "gold@example.com"
    assert "/s/" in rows[1][3]
    assert Invitation.objects.get().channel == "link"


def test_a_managers_personal_links_leave_out_other_stores_customers(manager_a, store_survey):
    ingest(email="a@example.com", unit="STORE-A", customer_attributes={"tier": "gold"})
    ingest(email="b@example.com", unit="STORE-B", customer_attributes={"tier": "gold"})
    response = signed_in(manager_a).post(
        reverse("personal_links", args=[store_survey.pk]),
        send_post("links", segment_attribute="tier", segment_value="gold"))
    body = b"".join(response.streaming_content).decode()
    assert "a@example.com" in body
    assert "b@example.com" not in body


def test_personal_links_without_anyone_named_show_a_form_error(admin, survey):
    response = signed_in(admin).post(reverse("personal_links", args=[survey.pk]),
                                     send_post("links"))
    assert response.status_code == 422
    assert response.context["links_form"].errors["identities"]
    assert not Invitation.objects.exists()


# --- contact rules ---------------------------------------------------------------------------


def rule_post(**overrides):
    data = {"survey": "", "segment_attribute": "", "segment_value": "",
            "max_invitations": "2", "period_days": "30", "min_gap_days": "7"}
    data.update(overrides)
    return data


def test_a_designer_adds_edits_and_deletes_a_contact_rule(admin, survey):
    client = signed_in(admin)
    response = client.post(reverse("contact_rule_list"),
                           rule_post(survey=str(survey.pk), segment_attribute="tier",
                                     segment_value="gold"))
    assert response.status_code == 302
    rule = ContactRule.objects.get()
    assert (rule.survey, rule.segment_attribute, rule.segment_value) == (survey, "tier", "gold")
    assert (rule.max_invitations, rule.period_days, rule.min_gap_days) == (2, 30, 7)
    html = client.get(reverse("contact_rule_list")).content.decode()
    assert "2 in 30 days" in html
    assert "with tier = gold" in html

    response = client.post(reverse("contact_rule_edit", args=[rule.pk]),
                           rule_post(max_invitations="", min_gap_days="0"))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.survey, rule.max_invitations, rule.min_gap_days) == (None, None, 0)

    response = client.post(reverse("contact_rule_delete", args=[rule.pk]),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert not ContactRule.objects.exists()


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"period_days": "0"}, "period_days", "must be between 1 and 3650"),
    ({"max_invitations": "0"}, "max_invitations", "must be between 1 and 1000"),
    ({"max_invitations": "two"}, "max_invitations", "Enter a whole number."),
    ({"segment_attribute": "tier"}, "segment_value", "give both"),
    ({"segment_attribute": "a__b", "segment_value": "x"}, "segment_attribute",
     "must be 1-64 letters"),
    ({"survey": "999999"}, "survey", "Select a valid choice."),
])
def test_bad_rule_input_shows_a_form_error_and_stores_nothing(admin, overrides, field,
                                                              message):
    response = signed_in(admin).post(reverse("contact_rule_list"), rule_post(**overrides))
    assert response.status_code == 422
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert not ContactRule.objects.exists()


def test_a_second_default_rule_is_refused_above_the_form(admin):
    make_rule(max_invitations=3)
    response = signed_in(admin).post(reverse("contact_rule_list"), rule_post())
    assert response.status_code == 409
    assert "already exists" in response.content.decode()
    assert ContactRule.objects.count() == 1


def test_a_bad_rule_edit_changes_nothing(admin):
    rule = make_rule(max_invitations=3, period_days=30)
    response = signed_in(admin).post(reverse("contact_rule_edit", args=[rule.pk]),
                                     rule_post(period_days="-1"))
    assert response.status_code == 422
    rule.refresh_from_db()
    assert (rule.max_invitations, rule.period_days) == (3, 30)


@pytest.mark.parametrize("who", ["manager_a", "agent_a", "viewer"])
def test_non_designers_read_the_rules_but_change_nothing(request, who, admin):
    rule = make_rule(max_invitations=3)
    client = signed_in(request.getfixturevalue(who))
    page = client.get(reverse("contact_rule_list"))
    assert page.status_code == 200
    assert "3 in 30 days" in page.content.decode()
    assert "Add rule" not in page.content.decode()
    assert client.post(reverse("contact_rule_list"), rule_post()).status_code == 403
    assert client.get(reverse("contact_rule_edit", args=[rule.pk])).status_code == 403
    assert client.post(reverse("contact_rule_delete", args=[rule.pk])).status_code == 403
    assert ContactRule.objects.count() == 1


def test_the_nav_offers_contact_rules_to_designers_only(admin, manager_a):
    link = f'href="{reverse("contact_rule_list")}"'
    assert link in signed_in(admin).get(reverse("home")).content.decode()
    assert link not in signed_in(manager_a).get(reverse("home")).content.decode()


def test_the_number_of_queries_does_not_grow_with_the_invitations(admin, store_survey):
    make_trigger(store_survey)
    client = signed_in(admin)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert page_of(client, store_survey).status_code == 200
        return len(captured)

    distribution.triggers_evaluate(interaction_ids=[ingest(email="a@example.com").pk])
    few = queries()
    distribution.triggers_evaluate(interaction_ids=[
        ingest(email=f"m{i}@example.com").pk for i in range(8)])
    assert queries() == few
