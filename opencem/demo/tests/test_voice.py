"""The customers' voice from the generator alone, without a database: determinism, the story
it tells, and answers every survey version accepts."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import cache
from statistics import mean

import pytest

from opencem.demo.calendar import ZONE
from opencem.demo.generator import SIZES, Generator
from opencem.demo.voice import CES, CSAT, NPS, ResponsePlan, Voice
from opencem.feedback.services import FeedbackInput
from opencem.surveys.answers import validate_answers
from opencem.surveys.templates_library import template_definition

UNTIL = date(2026, 6, 30)
BAD_STORES = {"STORE-004", "STORE-013", "STORE-024", "STORE-035"}


def _voices(seed: int = 7, customers: int = 200) -> list[Voice]:
    size = replace(SIZES["small"], customers=customers)
    return list(Generator(seed=seed, size=size, until=UNTIL).voices())


@cache
def _large_sample() -> tuple[list[ResponsePlan], list[FeedbackInput]]:
    """The voices of 1,500 small-demo customers: enough for every unit to speak."""
    voices = _voices(seed=11, customers=1500)
    return ([r for v in voices for r in v.responses], [f for v in voices for f in v.feedback])


def _digest(voices: list[Voice]) -> str:
    return hashlib.sha256(repr(voices).encode()).hexdigest()


def _mean(plans: list[ResponsePlan], question: str,
          which: Callable[[ResponsePlan], bool]) -> float:
    return mean(p.answers[question] for p in plans if question in p.answers and which(p))


def test_the_same_seed_gives_the_same_voice_and_another_seed_another():
    assert _digest(_voices(seed=7)) == _digest(_voices(seed=7))
    assert _digest(_voices(seed=7)) != _digest(_voices(seed=8))


def test_a_customers_voice_does_not_depend_on_the_customers_before_them():
    tiny = Generator(seed=3, size=SIZES["tiny"], until=UNTIL)
    larger = Generator(seed=3, size=replace(SIZES["tiny"], customers=5000), until=UNTIL)
    assert tiny.customer_voice(42) == larger.customer_voice(42)


def test_every_planned_response_is_accepted_by_its_survey_version():
    definitions = {name: template_definition(name) for name in (NPS, CSAT, CES)}
    responses, _ = _large_sample()
    assert {r.survey for r in responses} == {NPS, CSAT, CES}
    for plan in responses:
        cleaned = validate_answers(definitions[plan.survey], plan.answers,
                                   complete=plan.complete)
        assert cleaned == plan.answers, plan.external_id


def test_poorly_run_stores_score_clearly_below_the_others():
    responses, _ = _large_sample()
    store = [r for r in responses if r.survey == CSAT and r.channel == "store"]
    bad = _mean(store, "csat", lambda r: r.unit in BAD_STORES)
    good = _mean(store, "csat", lambda r: r.unit not in BAD_STORES)
    assert good - bad > 0.8
    nps = [r for r in responses if r.survey == NPS]
    assert (_mean(nps, "nps", lambda r: r.unit not in BAD_STORES)
            - _mean(nps, "nps", lambda r: r.unit in BAD_STORES)) > 0.8


def test_the_delivery_partner_is_rated_below_the_own_fleet():
    responses, _ = _large_sample()
    deliveries = [r for r in responses if r.answers.get("touchpoint") == "delivery"]
    partner = _mean(deliveries, "csat", lambda r: r.unit == "DLV-PARCELWISE")
    fleet = _mean(deliveries, "csat", lambda r: r.unit == "DLV-FLEET")
    assert fleet - partner > 0.5


def test_the_returns_team_is_rated_below_the_other_teams():
    responses, _ = _large_sample()
    calls = [r for r in responses if r.answers.get("touchpoint") == "call"]
    assert (_mean(calls, "csat", lambda r: r.unit == "CC-ORDERS")
            - _mean(calls, "csat", lambda r: r.unit == "CC-RETURNS")) > 0.5
    support = [r for r in responses if r.survey == CES]
    assert (_mean(support, "ces", lambda r: r.unit != "CC-RETURNS")
            > _mean(support, "ces", lambda r: r.unit == "CC-RETURNS"))


def test_december_rush_brings_satisfaction_down():
    responses, _ = _large_sample()
    csat = [r for r in responses if r.survey == CSAT]
    december = _mean(csat, "csat", lambda r: r.started_at.month == 12)
    spring = _mean(csat, "csat", lambda r: r.started_at.month in (3, 4, 5))
    assert spring - december > 0.1


def test_responses_follow_their_interaction_and_stay_inside_the_window():
    end = datetime.combine(UNTIL + timedelta(days=1), time(), tzinfo=ZONE)
    tiny = Generator(seed=5, size=SIZES["tiny"], until=UNTIL)
    for index in range(SIZES["tiny"].customers):
        when = {(r.source, r.external_id): r.occurred_at for r in tiny.customer_records(index)}
        for plan in tiny.customer_voice(index).responses:
            assert plan.started_at < end
            if plan.interaction is not None:
                assert plan.started_at > when[plan.interaction]
            if plan.submitted_at is not None:
                assert plan.started_at < plan.submitted_at < end


def test_some_respondents_leave_before_the_end():
    responses, _ = _large_sample()
    partial = [r for r in responses if not r.complete]
    assert 0.03 < len(partial) / len(responses) < 0.15
    assert all(r.submitted_at is None and "reason" not in r.answers for r in partial)


def test_comments_name_the_real_cause():
    responses, _ = _large_sample()
    late = [r.answers["reason"] for r in responses
            if r.unit == "DLV-PARCELWISE" and r.language == "en" and "reason" in r.answers
            and r.answers["csat"] <= 2]
    assert late
    about_delivery = re.compile(r"late|arriv|deliver|tracking|courier|parcel|parcelwise|"
                                r"broken|damaged|crushed|box|transit", re.IGNORECASE)
    share = sum(bool(about_delivery.search(text)) for text in late) / len(late)
    assert share > 0.7


@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_a_few_customers_answer_in_another_language(language: str):
    responses, _ = _large_sample()
    theirs = [r for r in responses if r.language == language]
    assert 0 < len(theirs) < 0.03 * len(responses)


def test_some_comments_carry_an_email_address_or_phone_number():
    responses, feedback = _large_sample()
    texts = [r.answers["reason"] for r in responses if "reason" in r.answers]
    texts += [f.text for f in feedback]
    pii = re.compile(r"[\w.]+@example\.(com|net|org)|\b07\d{3} \d{6}\b")
    carrying = [t for t in texts if pii.search(t)]
    assert 0 < len(carrying) < 0.1 * len(texts)


def test_unhappy_parcels_become_posts_about_the_delivery_partner():
    _, feedback = _large_sample()
    posts = [f for f in feedback if f.kind == "social"]
    partner = [f for f in posts if f.unit == "DLV-PARCELWISE"]
    assert partner
    assert all(f.attributes["topic"] == "delivery" for f in partner)
    assert sum("Parcelwise" in f.text for f in partner) > len(partner) / 3


def test_unsolicited_feedback_has_reviews_with_stars_complaints_and_transcripts():
    _, feedback = _large_sample()
    kinds = {f.kind for f in feedback}
    assert kinds == {"review", "social", "complaint", "chat"}
    reviews = [f for f in feedback if f.kind == "review"]
    assert all(f.rating is not None and 1 <= f.rating <= 5 for f in reviews)
    assert mean(f.rating or 0 for f in reviews if f.unit in BAD_STORES) < mean(
        f.rating or 0 for f in reviews if f.unit.startswith("STORE-")
        and f.unit not in BAD_STORES)
    chats = [f for f in feedback if f.kind == "chat"]
    assert all(f.text.startswith(("Customer:", "Agent:", "Assistant:")) for f in chats)
