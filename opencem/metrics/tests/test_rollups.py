from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencem.feedback.models import Response
from opencem.metrics.models import (
    COUNTER_COLUMNS,
    DailyRollup,
    DailyUnitRollup,
    MonthlyRollup,
    MonthlyUnitRollup,
    PendingRollup,
    RatingRollup,
)
from opencem.metrics.rebuild import rollups_rebuild, rollups_verify
from opencem.metrics.rollups import rollups_fold
from opencem.metrics.tests.factories import (
    Answers,
    delete,
    make_survey,
    record,
    record_many,
    save,
    start,
    submit,
)

pytestmark = pytest.mark.django_db


def rollup_of(model, **key):
    row = model.objects.filter(**key).values(*COUNTER_COLUMNS).first()
    return {k: v for k, v in (row or {}).items() if v}


def counters_from_raw(*, monthly=False):
    """Brute force: every counter of every rollup key, straight from the response rows."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from django.conf import settings as django_settings  # noqa: PLC0415

    zone = ZoneInfo(django_settings.TIME_ZONE)
    tally: dict[tuple, Counter] = {}
    for r in Response.objects.all():
        day = (r.submitted_at or r.started_at).astimezone(zone).date()
        if monthly:
            day = day.replace(day=1)
        counts = tally.setdefault((day, r.unit_id, r.survey_id, r.touchpoint, r.channel),
                                  Counter())
        counts["responses"] += 1
        if r.completed:
            counts["completed"] += 1
            for name in ("nps", "csat", "ces"):
                if getattr(r, name) is not None:
                    counts[f"{name}_{getattr(r, name)}"] += 1
    return {k: dict(+v) for k, v in tally.items()}


def counters_in(model):
    stored = {}
    for row in model.objects.values("date", "unit_id", "survey_id", "touchpoint", "channel",
                                    *COUNTER_COLUMNS):
        counts = {c: row[c] for c in COUNTER_COLUMNS if row[c]}
        if counts:
            stored[(row["date"], row["unit_id"], row["survey_id"], row["touchpoint"],
                    row["channel"])] = counts
    return stored


def by_unit(counters):
    """Detailed counters summed over survey, touchpoint and channel."""
    summed: dict[tuple, Counter] = {}
    for (day, unit, *_rest), counts in counters.items():
        summed.setdefault((day, unit), Counter()).update(counts)
    return {k: dict(+v) for k, v in summed.items() if +v}


def unit_counters_in(model):
    stored = {}
    for row in model.objects.values("date", "unit_id", *COUNTER_COLUMNS):
        counts = {c: row[c] for c in COUNTER_COLUMNS if row[c]}
        if counts:
            stored[(row["date"], row["unit_id"])] = counts
    return stored


def ratings_from_raw():
    tally = Counter()
    for r in Response.objects.filter(completed=True):
        if isinstance(r.answers.get("quality"), int):
            tally[(r.submitted_at.date(), r.unit_id, r.answers["quality"])] += 1
    return dict(tally)


def ratings_in():
    tally = Counter()
    for row in RatingRollup.objects.filter(question="quality"):
        tally[(row.date, row.unit_id, row.score)] += row.count
    return {k: v for k, v in tally.items() if v}


def test_a_completed_response_is_counted_on_its_day_unit_survey_touchpoint_and_channel(org):
    survey, version = make_survey(org.company)
    record(version, org.store_a, Answers(nps=9, csat=4, ces=6, quality=3),
           at=datetime(2025, 3, 10, 12, tzinfo=UTC), touchpoint="checkout", channel="store")
    key = {"unit": org.store_a, "survey": survey, "touchpoint": "checkout", "channel": "store"}
    expected = {"responses": 1, "completed": 1, "nps_9": 1, "csat_4": 1, "ces_6": 1}
    assert rollup_of(DailyRollup, date="2025-03-10", **key) == expected
    assert rollup_of(MonthlyRollup, date="2025-03-01", **key) == expected
    (rating,) = RatingRollup.objects.all()
    assert (rating.question, rating.score, rating.count) == ("quality", 3, 1)


@override_settings(TIME_ZONE="America/New_York")
def test_the_day_is_the_organisations_day_not_utcs(org):
    _, version = make_survey(org.company)
    # 02:00 UTC on 1 April is still 31 March in New York: March's figures, not April's.
    record(version, org.store_a, Answers(nps=10), at=datetime(2025, 4, 1, 2, tzinfo=UTC))
    assert list(DailyRollup.objects.values_list("date", flat=True)) == [
        datetime(2025, 3, 31).date()]
    assert list(MonthlyRollup.objects.values_list("date", flat=True)) == [
        datetime(2025, 3, 1).date()]
    assert rollups_verify().ok


def test_a_batch_of_responses_adds_up_in_one_row_per_key(org):
    _, version = make_survey(org.company)
    at = datetime(2025, 5, 2, 9, tzinfo=UTC)
    record_many(version, [(org.store_a, Answers(nps=score), at, True, "", "", None)
                          for score in (0, 6, 9, 9, 10)])
    assert rollup_of(DailyRollup, date="2025-05-02") == {
        "responses": 5, "completed": 5, "nps_0": 1, "nps_6": 1, "nps_9": 2, "nps_10": 1}


def test_answers_given_in_one_go_count_exactly_what_each_answered(org):
    # The statements of one new response are made once per kind of response; responses that
    # count differently never share them.
    _, version = make_survey(org.company)
    for answers in (Answers(nps=9, quality=4), Answers(nps=9, quality=2),
                    Answers(nps=9, quality=4), Answers(nps=3)):
        submit(version, org.store_a, answers, channel="web")
    rollups_fold()  # what the relay does once the submissions have committed
    day = Response.objects.first().submitted_at.date()
    assert rollup_of(DailyRollup, unit=org.store_a) == {
        "responses": 4, "completed": 4, "nps_9": 3, "nps_3": 1}
    assert ratings_in() == {(day, org.store_a.pk, 4): 2, (day, org.store_a.pk, 2): 1}
    assert rollups_verify().ok


def test_an_unfinished_response_counts_as_started_but_not_in_any_score(org):
    _, version = make_survey(org.company)
    response_id = start(version, org.store_a)
    save(response_id, Answers(nps=3), complete=False)
    (row,) = DailyRollup.objects.all()
    assert (row.responses, row.completed, row.nps_3) == (1, 0, 0)


def test_completing_a_saved_response_moves_its_scores_into_the_rollup(org):
    _, version = make_survey(org.company)
    response_id = start(version, org.store_a)
    save(response_id, Answers(nps=3), complete=False)
    save(response_id, Answers(nps=8, csat=5, quality=4), complete=True)
    assert counters_in(DailyRollup) == counters_from_raw()
    (row,) = DailyRollup.objects.all()
    assert (row.responses, row.completed, row.nps_3, row.nps_8, row.csat_5) == (1, 1, 0, 1, 1)
    assert ratings_in() == ratings_from_raw() != {}


def test_deleting_responses_takes_them_out_of_the_rollups(org):
    _, version = make_survey(org.company)
    kept = record(version, org.store_a, Answers(nps=10, quality=5))
    gone = record(version, org.store_a, Answers(nps=2, quality=1))
    assert delete(gone) == 1
    assert counters_in(DailyRollup) == counters_from_raw()
    assert counters_in(MonthlyRollup) == counters_from_raw(monthly=True)
    assert ratings_in() == ratings_from_raw()
    assert Response.objects.get().pk == kept
    assert rollups_verify().ok


def test_a_write_that_rolls_back_leaves_the_rollups_as_they_were(org):
    _, version = make_survey(org.company)
    record(version, org.store_a, Answers(nps=10))
    before = counters_in(DailyRollup)

    def record_then_fail():
        with transaction.atomic():
            record(version, org.store_a, Answers(nps=0))
            raise RuntimeError("the caller's transaction fails after the response was stored")

    with pytest.raises(RuntimeError):
        record_then_fail()
    assert counters_in(DailyRollup) == before == counters_from_raw()


def test_verify_reports_a_drifted_rollup_and_rebuild_repairs_it(org, capsys):
    _, version = make_survey(org.company)
    record(version, org.store_a, Answers(nps=10, quality=2))
    record(version, org.store_b, Answers(nps=4), at=datetime(2025, 6, 1, 8, tzinfo=UTC))
    assert rollups_verify().ok
    DailyRollup.objects.filter(unit=org.store_a).update(nps_10=7)
    MonthlyRollup.objects.filter(unit=org.store_b).delete()
    MonthlyUnitRollup.objects.filter(unit=org.store_a).update(responses=-1)
    RatingRollup.objects.update(count=3)
    report = rollups_verify()
    assert report.different == {"daily": 1, "monthly": 1, "daily by unit": 0,
                                "monthly by unit": 1, "ratings": 1}
    drifted = next(d for d in report.differences if d.table == "daily")
    assert (drifted.expected["nps_10"], drifted.actual["nps_10"]) == (1, 7)
    with pytest.raises(CommandError) as failed:
        call_command("rollups", "verify")
    assert failed.value.returncode == 1
    assert "daily: 2 rows recomputed from the responses, 1 differ" in capsys.readouterr().out
    rollups_rebuild()
    assert rollups_verify().ok
    call_command("rollups", "verify")
    assert "the rollups match the responses" in capsys.readouterr().out


@pytest.fixture
def one_statement():
    from django.db import connection  # noqa: PLC0415

    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL writes a submission in one statement")


def test_a_submission_in_one_statement_leaves_its_counts_for_the_relay(org, one_statement):
    # Inside this test's transaction nothing commits, so the relay is not woken: the counts
    # wait, and the next drain (the relay's, the sweeper's) adds them.
    from opencem.core.relay import outbox_drain  # noqa: PLC0415

    _, version = make_survey(org.company)
    submit(version, org.store_a, Answers(nps=9, quality=4), channel="web")
    submit(version, org.store_a, Answers(nps=2, quality=4), channel="web")
    assert PendingRollup.objects.count() == 2
    assert not DailyRollup.objects.exists()
    assert not RatingRollup.objects.exists()
    outbox_drain()
    assert not PendingRollup.objects.exists()
    assert rollup_of(DailyRollup, unit=org.store_a, channel="web") == {
        "responses": 2, "completed": 2, "nps_9": 1, "nps_2": 1}
    assert rollup_of(MonthlyUnitRollup, unit=org.store_a) == {
        "responses": 2, "completed": 2, "nps_9": 1, "nps_2": 1}
    assert list(RatingRollup.objects.values_list("question", "score", "count")) == [
        ("quality", 4, 2)]


def test_a_committed_submission_is_in_the_rollups_once_the_relay_has_run(
        org, one_statement, django_capture_on_commit_callbacks):
    _, version = make_survey(org.company)
    with django_capture_on_commit_callbacks(execute=True) as woken:
        submit(version, org.store_b, Answers(nps=10), channel="web")
    assert woken  # the submission woke the relay (eager here: it ran at once)
    assert not PendingRollup.objects.exists()
    assert rollup_of(DailyUnitRollup, unit=org.store_b) == {
        "responses": 1, "completed": 1, "nps_10": 1}


def test_verify_folds_pending_counts_in_and_rebuild_drops_them(org, one_statement):
    _, version = make_survey(org.company)
    submit(version, org.store_a, Answers(nps=7), channel="web")
    assert rollups_verify().ok  # the pending counts were added before comparing
    assert not PendingRollup.objects.exists()
    assert rollup_of(DailyUnitRollup, unit=org.store_a)["nps_7"] == 1
    submit(version, org.store_a, Answers(nps=7), channel="web")
    rollups_rebuild()  # counts both responses itself: nothing may be added again
    assert not PendingRollup.objects.exists()
    rollups_fold()
    assert rollup_of(DailyUnitRollup, unit=org.store_a)["nps_7"] == 2
    assert rollups_verify().ok


def test_rebuild_recomputes_exactly_what_the_incremental_path_keeps(org):
    _, version = make_survey(org.company)
    for i, score in enumerate((0, 5, 7, 8, 9, 10)):
        record(version, org.store_a if i % 2 else org.web, Answers(nps=score, ces=1 + i),
               at=datetime(2025, 1, 31, 23, tzinfo=UTC) + timedelta(hours=i),
               channel="web" if i % 3 else "")
    start(version, org.store_b)
    incremental = (counters_in(DailyRollup), counters_in(MonthlyRollup), ratings_in())
    rollups_rebuild()
    assert (counters_in(DailyRollup), counters_in(MonthlyRollup), ratings_in()) == incremental


scores = st.one_of(st.none(), st.integers(0, 10))
answers = st.builds(Answers, nps=scores, csat=st.one_of(st.none(), st.integers(1, 5)),
                    ces=st.one_of(st.none(), st.integers(1, 7)),
                    quality=st.one_of(st.none(), st.integers(1, 5)))
operations = st.lists(st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 2), answers, st.integers(0, 40),
              st.sampled_from(["", "store", "web"])),
    st.tuples(st.just("start"), st.integers(0, 2), answers),
    st.tuples(st.just("submit"), st.integers(0, 2), answers, st.sampled_from(["", "web"])),
    st.tuples(st.just("complete"), st.integers(0, 50), answers),
    st.tuples(st.just("rescore"), st.integers(0, 50), answers),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("fold")),
), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=operations)
def test_rollups_equal_the_raw_responses_after_any_sequence_of_writes(org, operations):
    Response.objects.all().delete()
    for model in (DailyRollup, MonthlyRollup, DailyUnitRollup, MonthlyUnitRollup, RatingRollup,
                  PendingRollup):
        model.objects.all().delete()
    _, version = make_survey(org.company, name="Property")
    units = [org.store_a, org.store_b, org.web]
    unfinished: list[int] = []
    for op in operations:
        existing = list(Response.objects.order_by("pk").values_list("pk", flat=True))
        if op[0] == "insert":
            _, unit, scores_, days, channel = op
            record(version, units[unit], scores_, channel=channel,
                   at=datetime(2025, 1, 20, 22, tzinfo=UTC) + timedelta(days=days, hours=days))
        elif op[0] == "submit":
            submit(version, units[op[1]], op[2], channel=op[3])
        elif op[0] == "start":
            unfinished.append(start(version, units[op[1]]))
            save(unfinished[-1], op[2], complete=False)
        elif op[0] in ("complete", "rescore") and unfinished:
            response_id = unfinished[op[1] % len(unfinished)]
            save(response_id, op[2], complete=op[0] == "complete")
            if op[0] == "complete":
                unfinished.remove(response_id)
        elif op[0] == "delete" and existing:
            gone = existing[op[1] % len(existing)]
            delete(gone)
            if gone in unfinished:
                unfinished.remove(gone)
        elif op[0] == "fold":
            # The relay at some point between writes: counts a one-statement submission left
            # pending may be folded in before or after later writes touch their responses.
            rollups_fold()
    rollups_fold()
    assert not PendingRollup.objects.exists()
    assert counters_in(DailyRollup) == counters_from_raw()
    assert counters_in(MonthlyRollup) == counters_from_raw(monthly=True)
    assert unit_counters_in(DailyUnitRollup) == by_unit(counters_from_raw())
    assert unit_counters_in(MonthlyUnitRollup) == by_unit(counters_from_raw(monthly=True))
    assert ratings_in() == ratings_from_raw()
    assert rollups_verify().ok
