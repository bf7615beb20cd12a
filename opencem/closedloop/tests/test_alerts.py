"""Alert rules judge each response and feedback item once, through the outbox relay, and
open a case for the right person."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opencem.closedloop import consumer
from opencem.closedloop.choices import CaseStatus
from opencem.closedloop.models import Alert, Case, CaseEvent, Notification
from opencem.closedloop.tests.factories import make_rule, make_survey, relay, respond
from opencem.core.models import OutboxConsumption, OutboxEvent
from opencem.core.relay import outbox_drain
from opencem.core.services import outbox_emit
from opencem.feedback.models import Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(org):
    return make_survey(unit=org.company)


def _own(unit, persona):
    unit.owner = persona.user
    unit.save()


def test_a_detractor_opens_one_case_for_the_owner_of_the_store_and_mails_them(
        org, admin, manager_a, survey, django_capture_on_commit_callbacks):
    _own(org.store_a, manager_a)
    make_rule(unit=org.company)
    with django_capture_on_commit_callbacks(execute=True):
        respond(admin.api(), survey.pk, nps=3, reason="Rude staff")
    case = Case.objects.get()
    assert case.owner == manager_a.user
    assert (case.unit, case.status, case.alert_nps) == (org.store_a, CaseStatus.NEW, 3)
    assert case.response == Response.objects.get()
    assert case.due_at is not None
    assert [e.kind for e in CaseEvent.objects.filter(case=case)] == ["created"]
    assert {m.to[0] for m in mail.outbox} == {"manager_a@acme.test"}
    assert {n.status for n in Notification.objects.all()} == {"sent"}
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0
    # Draining again changes nothing: the event was consumed once.
    assert relay() == 0
    assert Alert.objects.count() == 1


def test_a_promoter_fires_nothing(org, admin, manager_a, survey):
    make_rule(unit=org.company)
    respond(admin.api(), survey.pk, nps=9)
    relay()
    assert Alert.objects.count() == 0
    assert Case.objects.count() == 0


def test_without_an_owner_the_case_goes_up_the_tree_to_the_region(org, admin, manager_b,
                                                                   survey):
    _own(org.north, manager_b)
    make_rule(unit=org.company)
    respond(admin.api(), survey.pk, nps=0)
    relay()
    assert Case.objects.get().owner == manager_b.user


def test_a_manager_stands_in_for_a_missing_owner(org, admin, manager_a, survey):
    make_rule(unit=org.company)
    respond(admin.api(), survey.pk, nps=2)
    relay()
    assert Case.objects.get().owner == manager_a.user


def test_a_team_rule_hands_cases_out_in_turn(org, admin, manager_a, agent_a, survey):
    make_rule(unit=org.company, team=org.store_a)
    for i in range(3):
        respond(admin.api(), survey.pk, nps=1, email=f"c{i}@example.com")
    relay()
    owners = list(Case.objects.order_by("id").values_list("owner__username", flat=True))
    assert owners == ["manager_a", "agent_a", "manager_a"]


def test_keywords_and_or_groups(org, admin, manager_a, survey):
    make_rule(unit=org.company, conditions={"match": "any", "conditions": [
        {"field": "keyword", "op": "in", "value": ["cancel", "lawyer"]},
        {"match": "all", "conditions": [{"field": "nps", "op": "lte", "value": 4},
                                        {"field": "unit", "op": "in", "value": ["STORE-B"]}]}]})
    respond(admin.api(), survey.pk, nps=9, reason="I will CANCEL my card", email="a@x.test")
    respond(admin.api(), survey.pk, nps=9, reason="cancellation fees", email="b@x.test")
    respond(admin.api(), survey.pk, nps=3, unit="STORE-A", email="c@x.test")
    respond(admin.api(), survey.pk, nps=3, unit="STORE-B", email="d@x.test")
    relay()
    fired = sorted(Alert.objects.values_list("customer__name", "unit__code"))
    assert len(fired) == 2
    assert {u for _, u in fired} == {"STORE-A", "STORE-B"}


def test_customer_attributes_are_conditions(org, admin, manager_a, survey):
    make_rule(unit=org.company, conditions={"match": "all", "conditions": [
        {"field": "nps", "op": "lte", "value": 6},
        {"field": "customer.tier", "op": "in", "value": ["gold"]}]})
    api = admin.api()
    for email, tier in (("gold@x.test", "gold"), ("plain@x.test", "blue")):
        respond(api, survey.pk, nps=5, customer={"email": email, "attributes": {"tier": tier}})
    relay()
    assert Alert.objects.count() == 1


def test_a_rule_ignores_what_arrived_before_it_was_made(org, admin, manager_a, survey):
    respond(admin.api(), survey.pk, nps=1)
    make_rule(unit=org.company)
    relay()
    assert Alert.objects.count() == 0


def test_a_rule_watches_only_its_own_subtree(org, admin, manager_a, survey):
    make_rule(unit=org.web)
    respond(admin.api(), survey.pk, nps=1)
    relay()
    assert Alert.objects.count() == 0


def test_text_rules_wait_for_the_analysis_and_fire_once_per_response(org, admin, manager_a,
                                                                      survey):
    make_rule(unit=org.company, conditions={"match": "all", "conditions": [
        {"field": "sentiment", "op": "eq", "value": "negative"},
        {"field": "theme", "op": "in", "value": ["staff.friendliness"]}]})
    body = respond(admin.api(), survey.pk, nps=8, reason="Slow till")
    relay()
    assert Alert.objects.count() == 0  # not before the analysis
    response = Response.objects.get(pk=body["id"])
    for _ in range(2):  # two comments of one response analysed
        outbox_emit(topic="feedback.analyzed", payload={
            "feedback_id": 1, "response_id": response.pk, "unit_id": response.unit_id,
            "customer_id": response.customer_id, "sentiment": "negative",
            "sentiment_score": -0.8, "emotions": ["anger"], "themes": ["staff.friendliness"],
            "pillars": [], "effort": []})
    relay()
    assert Alert.objects.count() == 1
    assert Case.objects.count() == 1


def test_a_complaint_from_the_feedback_stream_fires(org, admin, manager_a, survey):
    make_rule(unit=org.company, conditions={"match": "all", "conditions": [
        {"field": "keyword", "op": "in", "value": ["lawyer"]}]}, actions=("case",))
    answer = admin.api().post_json("/api/v1/feedback", {
        "kind": "complaint", "text": "My lawyer will call you", "unit": "STORE-A",
        "occurred_at": "2026-11-01T10:00:00Z", "source": "crm", "external_id": "C-1"})
    assert answer.status_code == 201, answer.content
    relay()
    alert = Alert.objects.get()
    assert alert.subject.startswith("feedback:")
    assert Case.objects.get().alert == alert


def test_a_failing_consumer_leaves_the_event_pending_with_backoff(org, admin, manager_a,
                                                                   survey, monkeypatch):
    make_rule(unit=org.company)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(consumer, "cases_open", broken)
    respond(admin.api(), survey.pk, nps=1)
    relay()
    event = OutboxEvent.objects.get(topic="response.completed")
    assert event.dispatched_at is None
    assert event.attempts == 1
    assert "boom" in event.last_error
    assert event.next_attempt_at is not None
    assert not OutboxConsumption.objects.filter(event=event, consumer="closedloop").exists()
    assert Alert.objects.count() == 0  # rolled back with the mark
    monkeypatch.undo()
    OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)
    relay()
    assert Case.objects.count() == 1


def test_a_burst_is_judged_with_as_many_queries_as_one_response(org, admin, manager_a,
                                                                 survey):
    _own(org.store_a, manager_a)
    make_rule(unit=org.company)
    api = admin.api()
    respond(api, survey.pk, nps=1, email="warm@example.com")
    outbox_drain()  # the rules are read once and kept until they change

    def drain_queries(n: int) -> int:
        for i in range(n):
            respond(api, survey.pk, nps=i % 7, email=f"n{n}-{i}@example.com")
        with CaptureQueriesContext(connection) as queries:
            outbox_drain()
        return len(queries)

    assert drain_queries(1) == drain_queries(6)
    assert Case.objects.count() == 8
    assert CaseEvent.objects.filter(kind="created").count() == 8
    assert Notification.objects.filter(to_email="manager_a@acme.test").count() == 8
