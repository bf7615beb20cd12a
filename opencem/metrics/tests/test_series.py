"""Every figure the API gives equals a brute-force recomputation from the raw responses.

The expected values below are computed from the response rows with the design's formulas
written out again here, not with the code under test; anonymity is set to k = 1 so that
every group shows its value (anonymity has tests of its own).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencem.accounts.models import Unit
from opencem.feedback.models import Response
from opencem.metrics.distributions import t_quantile
from opencem.metrics.models import (
    DailyRollup,
    DailyUnitRollup,
    MonthlyRollup,
    MonthlyUnitRollup,
    RatingRollup,
)
from opencem.metrics.rebuild import rollups_rebuild
from opencem.metrics.tests.factories import Answers, make_survey, record_many

pytestmark = pytest.mark.django_db

Z = 1.96


def wilson(successes, n):
    share = successes / n
    centre = (share + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(share * (1 - share) / n + Z * Z / (4 * n * n))
    return 100 * share, 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def net(positive, negative, n):
    p, d = positive / n, negative / n
    value = 100 * (p - d)
    half = Z * 100 * math.sqrt(max(0.0, p + d - (p - d) ** 2) / n)
    return value, max(-100.0, value - half), min(100.0, value + half)


def mean_interval(scores, low_end, high_end):
    n = len(scores)
    mean = sum(scores) / n
    if n == 1:
        return mean, None, None
    variance = sum((s - mean) ** 2 for s in scores) / (n - 1)
    half = t_quantile(0.975, n - 1) * math.sqrt(variance / n)
    return mean, max(low_end, mean - half), min(high_end, mean + half)


def brute_force(metric, scores):
    """(value, low, high) of a metric from the raw answers of one group."""
    n = len(scores)
    if metric == "nps":
        return net(sum(s >= 9 for s in scores), sum(s <= 6 for s in scores), n)
    if metric == "csat":
        return wilson(sum(s >= 4 for s in scores), n)
    if metric == "net_satisfaction":
        return net(sum(s >= 4 for s in scores), sum(s <= 2 for s in scores), n)
    if metric == "ces":
        return mean_interval(scores, 1, 7)
    if metric == "ces_agree":
        return wilson(sum(s >= 5 for s in scores), n)
    if metric == "rating":
        return mean_interval(scores, 1, 5)
    raise AssertionError(metric)


COLUMN = {"nps": "nps", "csat": "csat", "net_satisfaction": "csat", "ces": "ces",
          "ces_agree": "ces", "rating": "quality"}


def answer_of(response, metric):
    column = COLUMN[metric]
    return response.answers.get("quality") if column == "quality" else getattr(response, column)


def month_of(moment):
    return moment.date().replace(day=1).isoformat()


def raw_groups(metric, dims, *, root):
    """Answers per group straight from the rows; a unit group is its whole subtree."""
    units = {u.pk: u for u in Unit.objects.all()}
    groups = defaultdict(list)
    for r in Response.objects.filter(completed=True):
        score = answer_of(r, metric)
        if score is None or not units[r.unit_id].path.startswith(root.path):
            continue
        lineage = [u for u in units.values()
                   if units[r.unit_id].path.startswith(u.path) and u.path.startswith(root.path)]
        for unit in lineage if "unit" in dims else [root]:
            key = []
            for dim in dims:
                key.append({"unit": unit.code, "month": month_of(r.submitted_at),
                            "channel": r.channel, "touchpoint": r.touchpoint}[dim])
            groups[tuple(key)].append(score)
    return groups


def api_groups(persona, metric, dims, **params):
    query = {"metric": metric, "group_by": ",".join(dims), "from": "2025-01-01",
             "to": "2025-06-30", **params}
    response = persona.api().get("/api/v1/metrics", query)
    assert response.status_code == 200, response.content
    return {tuple(g["key"][d] for d in dims): g for g in response.json()["groups"]}


def assert_matches(got, expected_scores, metric):
    assert set(got) == set(expected_scores)
    for key, scores_ in expected_scores.items():
        value, low, high = brute_force(metric, scores_)
        group = got[key]
        assert group["n"] == len(scores_)
        assert not group["suppressed"]
        assert group["small_sample"] == (len(scores_) < 30)
        assert group["value"] == pytest.approx(value, abs=1e-9)
        if low is None:
            assert group["low"] is group["high"] is None
        else:
            assert group["low"] == pytest.approx(low, abs=1e-9)
            assert group["high"] == pytest.approx(high, abs=1e-9)


answers = st.builds(
    Answers, nps=st.one_of(st.none(), st.integers(0, 10)),
    csat=st.one_of(st.none(), st.integers(1, 5)), ces=st.one_of(st.none(), st.integers(1, 7)),
    quality=st.one_of(st.none(), st.integers(1, 5)))
rows = st.lists(st.tuples(st.integers(0, 3), answers, st.integers(0, 180),
                          st.sampled_from(["", "store", "web"]),
                          st.sampled_from(["", "checkout", "returns"])),
                min_size=1, max_size=60)
groupings = st.sampled_from([(), ("month",), ("unit",), ("channel",), ("unit", "month"),
                             ("touchpoint", "channel")])
metrics = st.sampled_from(["nps", "csat", "net_satisfaction", "ces", "ces_agree", "rating"])


@override_settings(OPENCEM_ANONYMITY_K=1)
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=rows, dims=groupings, metric=metrics)
def test_every_metric_and_interval_equals_a_brute_force_recomputation(admin, org, rows, dims,
                                                                      metric):
    Response.objects.all().delete()
    for model in (DailyRollup, MonthlyRollup, DailyUnitRollup, MonthlyUnitRollup,
                  RatingRollup):
        model.objects.all().delete()
    survey, version = make_survey(org.company, name="Brute force")
    units = [org.store_a, org.store_b, org.web, org.north]
    record_many(version, [
        (units[u], a, datetime(2025, 1, 1, 12, tzinfo=UTC) + timedelta(days=d), True, tp, ch,
         None) for u, a, d, ch, tp in rows])
    extra = {"survey": survey.pk, "question": "quality"} if metric == "rating" else {}
    got = api_groups(admin, metric, dims, **extra)
    assert_matches(got, raw_groups(metric, dims, root=org.company), metric)


def test_a_range_that_cuts_months_reads_the_edges_from_the_days(admin, org):
    _, version = make_survey(org.company)
    at = [datetime(2025, 1, 31, 10, tzinfo=UTC), datetime(2025, 2, 1, 10, tzinfo=UTC),
          datetime(2025, 2, 14, 10, tzinfo=UTC), datetime(2025, 3, 31, 10, tzinfo=UTC),
          datetime(2025, 4, 1, 10, tzinfo=UTC)]
    record_many(version, [(org.store_a, Answers(nps=10), moment, True, "", "", None)
                          for moment in at])
    response = admin.api().get("/api/v1/metrics", {"metric": "volume", "from": "2025-01-31",
                                                    "to": "2025-03-31"})
    (group,) = response.json()["groups"]
    assert group["value"] == group["n"] == 4
    by_month = admin.api().get("/api/v1/metrics", {
        "metric": "volume", "group_by": "month", "from": "2025-01-15", "to": "2025-04-01"})
    assert [(g["key"]["month"], g["n"]) for g in by_month.json()["groups"]] == [
        ("2025-01-01", 1), ("2025-02-01", 2), ("2025-03-01", 1), ("2025-04-01", 1)]


def test_weeks_and_quarters_start_on_monday_and_the_quarters_first_day(admin, org):
    _, version = make_survey(org.company)
    record_many(version, [
        (org.store_a, Answers(csat=5), datetime(2025, 1, 1, 9, tzinfo=UTC), True, "", "", None),
        (org.store_a, Answers(csat=1), datetime(2025, 5, 7, 9, tzinfo=UTC), True, "", "", None)])
    weeks = admin.api().get("/api/v1/metrics", {"metric": "volume", "group_by": "week",
                                                 "from": "2025-01-01", "to": "2025-06-30"})
    assert [g["key"]["week"] for g in weeks.json()["groups"]] == ["2024-12-30", "2025-05-05"]
    quarters = admin.api().get("/api/v1/metrics", {"metric": "volume", "group_by": "quarter",
                                                    "from": "2025-01-01", "to": "2025-06-30"})
    assert [g["key"]["quarter"] for g in quarters.json()["groups"]] == ["2025-01-01",
                                                                        "2025-04-01"]


def test_completion_rate_counts_unfinished_responses_and_volume_only_finished_ones(admin, org):
    _, version = make_survey(org.company)
    record_many(version, [(org.store_a, Answers(nps=8), None, i < 6, "", "", None)
                          for i in range(8)])
    params = {"from": "2025-03-01", "to": "2025-03-31"}
    volume = admin.api().get("/api/v1/metrics", {"metric": "volume", **params}).json()
    rate = admin.api().get("/api/v1/metrics", {"metric": "completion_rate", **params}).json()
    assert volume["groups"][0]["value"] == 6
    expected = wilson(6, 8)
    assert (rate["groups"][0]["value"], rate["groups"][0]["n"]) == (75.0, 8)
    assert rate["groups"][0]["low"] == pytest.approx(expected[1])


def test_customer_attributes_are_counted_exactly_from_the_responses(admin, org):
    _, version = make_survey(org.company)
    record_many(version, [
        (org.store_a, Answers(nps=score), None, True, "", "",
         (f"{tier}{i}@example.com", {"tier": tier}))
        for i, (tier, score) in enumerate([("gold", 10)] * 6 + [("basic", 3)] * 5)]
        + [(org.store_a, Answers(nps=7), None, True, "", "", None)] * 5)
    params = {"metric": "nps", "from": "2025-03-01", "to": "2025-03-31", "attribute": "tier"}
    grouped = admin.api().get("/api/v1/metrics", {**params, "group_by": "attribute"}).json()
    assert {g["key"]["attribute"]: (g["n"], g["value"]) for g in grouped["groups"]} == {
        "gold": (6, 100.0), "basic": (5, -100.0), "": (5, 0.0)}
    gold = admin.api().get("/api/v1/metrics", {**params, "attribute_value": "gold"}).json()
    assert (gold["groups"][0]["n"], gold["groups"][0]["value"]) == (6, 100.0)


def test_the_rebuilt_rollups_answer_exactly_as_the_incremental_ones(admin, org):
    _, version = make_survey(org.company)
    record_many(version, [(org.store_a if i % 2 else org.store_b,
                           Answers(nps=i % 11, ces=1 + i % 7),
                           datetime(2025, 1 + i % 5, 1 + i, tzinfo=UTC), True, "", "", None)
                          for i in range(25)])
    query = {"metric": "nps", "group_by": "unit,month", "from": "2025-01-01", "to": "2025-05-31",
             "compare": "previous"}
    before = admin.api().get("/api/v1/metrics", query).json()
    rollups_rebuild()
    assert admin.api().get("/api/v1/metrics", query).json() == before


def test_a_period_is_compared_with_the_one_before_with_a_proper_test(admin, org):
    _, version = make_survey(org.company)
    march = [(org.store_a, Answers(nps=10), datetime(2025, 3, 5, tzinfo=UTC), True, "", "", None)
             for _ in range(40)]
    february = [(org.store_a, Answers(nps=s), datetime(2025, 2, 5, tzinfo=UTC), True, "", "",
                 None) for s in [0] * 30 + [10] * 10]
    record_many(version, march + february)
    answer = admin.api().get("/api/v1/metrics", {"metric": "nps", "from": "2025-03-01",
                                                  "to": "2025-03-31", "compare": "previous"})
    comparison = answer.json()["groups"][0]["comparison"]
    assert comparison["against"] == "previous"
    assert comparison["baseline"]["value"] == pytest.approx(-50.0)
    assert comparison["difference"] == pytest.approx(150.0)
    assert comparison["significant"] is True
    # Month by month, each month is compared with the month before it.
    monthly = admin.api().get("/api/v1/metrics", {
        "metric": "nps", "group_by": "month", "from": "2025-03-01", "to": "2025-03-31",
        "compare": "previous"}).json()
    assert monthly["groups"][0]["comparison"]["baseline"]["n"] == 40


def test_a_unit_is_compared_with_the_rest_of_its_parent(admin, org):
    _, version = make_survey(org.company)
    record_many(version, [(org.store_a, Answers(csat=5), None, True, "", "", None)] * 30
                + [(org.store_b, Answers(csat=1), None, True, "", "", None)] * 30)
    answer = admin.api().get("/api/v1/metrics", {"metric": "csat", "group_by": "unit",
                                                  "unit": "NORTH", "from": "2025-03-01",
                                                  "to": "2025-03-31", "compare": "parent"})
    groups = {g["key"]["unit"]: g for g in answer.json()["groups"]}
    store_a = groups["STORE-A"]["comparison"]
    assert store_a["baseline"]["value"] == 0.0
    assert (store_a["difference"], store_a["significant"]) == (100.0, True)
    # All of ACME's responses are NORTH's: there is no rest to compare NORTH with.
    assert groups["NORTH"]["comparison"] is None


def test_a_group_is_compared_with_its_units_target_or_the_nearest_one_above(admin, org):
    _, version = make_survey(org.company)
    record_many(version, [(org.store_a, Answers(nps=10), None, True, "", "", None)] * 40)
    response = admin.api().put("/api/v1/metrics/targets",
                               {"unit": "NORTH", "metric": "nps", "value": 30},
                               content_type="application/json")
    assert response.status_code == 200, response.content
    answer = admin.api().get("/api/v1/metrics", {"metric": "nps", "unit": "STORE-A",
                                                  "from": "2025-03-01", "to": "2025-03-31",
                                                  "compare": "target"}).json()
    comparison = answer["groups"][0]["comparison"]
    assert (comparison["target"], comparison["difference"], comparison["significant"]) == (
        30.0, 70.0, True)


def test_the_response_rate_counts_invitations_sent_and_answered(admin, org):
    from opencem.surveys.models import Invitation  # noqa: PLC0415

    survey, _ = make_survey(org.company)
    sent = datetime(2025, 3, 3, 9, tzinfo=UTC)
    for i in range(10):
        Invitation.objects.create(
            survey=survey, unit=org.store_a, token_hash=f"{i:064d}", sent_at=sent,
            expires_at=sent + timedelta(days=30), status="completed" if i < 4 else "sent",
            completed_at=sent + timedelta(hours=1) if i < 4 else None)
    answer = admin.api().get("/api/v1/metrics", {"metric": "response_rate", "group_by": "unit",
                                                  "unit": "STORE-A", "from": "2025-03-01",
                                                  "to": "2025-03-31"}).json()
    (group,) = answer["groups"]
    assert (group["value"], group["n"]) == (40.0, 10)
    assert group["low"] == pytest.approx(wilson(4, 10)[1])


def test_by_default_the_last_twelve_calendar_months_are_counted(admin, org):
    answer = admin.api().get("/api/v1/metrics", {"metric": "nps"}).json()
    start, end = date.fromisoformat(answer["from"]), date.fromisoformat(answer["to"])
    assert start.day == 1
    assert (end.year - start.year) * 12 + end.month - start.month == 11
