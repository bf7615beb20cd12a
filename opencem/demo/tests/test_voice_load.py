"""The customers' voice as ``opencem demo`` stores it: programmes, responses that validate
against their version and point at what they are about, the story in the numbers, and
scope through the API."""

from __future__ import annotations

import io
from statistics import mean
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from opencem.accounts.services import apikey_create
from opencem.core.models import OutboxEvent
from opencem.demo.models import DemoLoad
from opencem.feedback.models import FeedbackItem, Response
from opencem.surveys.answers import metric_values, validate_answers
from opencem.surveys.models import ContactRule, Survey, Trigger
from opencem.surveys.selectors import version_definition

pytestmark = pytest.mark.django_db

BAD_STORES = {"STORE-004", "STORE-013", "STORE-024", "STORE-035"}


def demo(*args: str, seed: int = 1) -> None:
    call_command("demo", "--size", "tiny", "--seed", str(seed), "--until", "2026-06-30", *args,
                 verbosity=0, stdout=io.StringIO())


def everything(client: Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = client.get(path, {"limit": 200, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.content
        body = page.json()
        items += body["items"]
        if not body["next_cursor"]:
            return items
        cursor = body["next_cursor"]


def test_the_demo_runs_the_three_ready_programmes_with_triggers_and_contact_rules():
    demo()
    surveys = {s.slug: s for s in Survey.objects.all()}
    assert set(surveys) == {"relationship-nps", "visit-call-and-delivery-csat",
                            "support-effort-ces"}
    assert all(s.versions.filter(published_at__isnull=False).count() == 1
               for s in surveys.values())
    # Live since the history began: no response is older than the version it answers.
    assert not Response.objects.filter(
        submitted_at__lt=F("survey_version__published_at")).exists()
    assert Response.objects.exists()
    triggers = [(slug, tuple(kinds)) for slug, kinds in
                Trigger.objects.values_list("survey__slug", "kinds")]
    assert sorted(triggers) == [
        ("support-effort-ces", ("chat", "email")),
        ("visit-call-and-delivery-csat", ("call",)),
        ("visit-call-and-delivery-csat", ("delivery",)),
        ("visit-call-and-delivery-csat", ("purchase", "click_collect", "refund")),
    ]
    assert ContactRule.objects.filter(survey__isnull=True, segment_attribute="").exists()
    assert ContactRule.objects.filter(segment_attribute="segment",
                                      segment_value="trade").exists()
    load = DemoLoad.objects.get()
    assert load.responses == Response.objects.count() > 50
    assert load.feedback == FeedbackItem.objects.filter(response__isnull=True).count() > 10


def test_every_stored_response_validates_against_its_version_and_names_what_it_is_about():
    demo()
    responses = list(Response.objects.select_related("survey_version", "interaction", "unit"))
    definitions = {r.survey_version_id: version_definition(r.survey_version)
                   for r in responses}
    for r in responses:
        definition = definitions[r.survey_version_id]
        assert validate_answers(definition, r.answers, complete=r.completed) == r.answers
        values = metric_values(definition, r.answers)
        assert (r.nps, r.csat, r.ces) == (values["nps"], values["csat"], values["ces"])
        assert r.customer_id is not None
        if r.interaction is not None:
            assert r.interaction.customer_id == r.customer_id
            assert r.interaction.unit_id == r.unit_id
            assert r.started_at > r.interaction.occurred_at
    transactional = [r for r in responses if r.survey_version.survey.slug != "relationship-nps"]
    assert transactional
    assert all(r.interaction is not None for r in transactional)
    assert any(not r.completed and r.submitted_at is None for r in responses)
    completed = sum(r.completed for r in responses)
    events = OutboxEvent.objects.filter(topic="response.completed").count()
    assert events == completed


def test_poorly_run_stores_have_clearly_lower_csat_than_the_others():
    demo()
    store = Response.objects.filter(csat__isnull=False, channel="store")
    bad = [r.csat for r in store.filter(unit__code__in=BAD_STORES)]
    good = [r.csat for r in store.exclude(unit__code__in=BAD_STORES)]
    assert len(bad) >= 10
    assert len(good) >= 10
    assert mean(good) - mean(bad) > 0.8


def test_the_same_seed_stores_the_same_voice():
    demo()
    first = voice_rows()
    demo("--reset")
    assert voice_rows() == first
    demo("--reset", seed=2)
    assert voice_rows() != first


def voice_rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What the inputs determine about responses and feedback (database ids left out)."""
    responses = sorted(Response.objects.values_list(
        "source", "external_id", "survey__slug", "unit__code", "touchpoint", "channel",
        "language", "answers", "nps", "csat", "ces", "completed", "started_at",
        "submitted_at", "interaction__external_id"))
    feedback = sorted(FeedbackItem.objects.values_list(
        "source", "external_id", "kind", "text", "rating", "unit__code", "occurred_at",
        "language", "response__external_id"))
    return [tuple(map(str, r)) for r in responses], [tuple(map(str, f)) for f in feedback]


def test_an_interrupted_load_finishes_the_voice():
    demo()
    complete = voice_rows()
    Response.objects.filter(survey__slug="relationship-nps").delete()
    FeedbackItem.objects.filter(kind="social").delete()
    DemoLoad.objects.update(finished_at=None)
    demo()
    assert voice_rows() == complete


def test_the_store_manager_sees_only_their_stores_responses_and_feedback_through_the_api():
    demo()
    manager = get_user_model().objects.get(username="manager")
    _, key = apikey_create(user=manager, name="test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    responses = everything(client, "/api/v1/responses")
    assert len(responses) == Response.objects.filter(unit__code="STORE-001").count() > 0
    assert {r["unit"] for r in responses} == {"STORE-001"}
    feedback = everything(client, "/api/v1/feedback")
    assert len(feedback) == FeedbackItem.objects.filter(unit__code="STORE-001").count() > 0
    assert {f["unit"] for f in feedback} == {"STORE-001"}
    assert Response.objects.exclude(unit__code="STORE-001").exists()
