from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencem.metrics.distributions import t_quantile
from opencem.metrics.scores import (
    Estimate,
    NpsCounts,
    ProportionCounts,
    ScaleCounts,
    ces,
    ces_agree,
    csat,
    mean_rating,
    net_estimate,
    net_satisfaction,
    nps,
    rating,
    response_rate,
    wilson_interval,
)

Z = 1.96

# Raw answers as a survey would store them; k=0 so that even tiny samples show their value.
nps_answers = st.lists(st.integers(0, 10), min_size=1, max_size=300)
csat_answers = st.lists(st.integers(1, 5), min_size=1, max_size=300)
ces_answers = st.lists(st.integers(1, 7), min_size=1, max_size=300)


def net_interval_by_hand(pos: int, neg: int, n: int) -> tuple[float, float, float]:
    """The design's formula, written out independently of the code under test."""
    p, d = pos / n, neg / n
    value = 100 * (p - d)
    half = Z * 100 * math.sqrt(max(0.0, p + d - (p - d) ** 2) / n)
    return value, max(-100.0, value - half), min(100.0, value + half)


def assert_is_a_wilson_endpoint(share: float, endpoint: float, n: int) -> None:
    # The Wilson interval is the set of π with |p̂ − π| ≤ z·sqrt(π(1 − π)/n); its endpoints
    # solve that with equality. Checking the defining equation needs no Wilson formula.
    assert (share - endpoint) ** 2 == pytest.approx(
        Z * Z * endpoint * (1 - endpoint) / n, abs=1e-12
    )


# --- NPS ------------------------------------------------------------------------------------


def test_fifty_promoters_thirty_passives_twenty_detractors_score_thirty():
    estimate = nps(NpsCounts(promoters=50, passives=30, detractors=20))
    # p = 0.5, d = 0.2: p + d − (p − d)² = 0.61; 1.96 · 100 · sqrt(0.61 / 100) = 15.3081 …
    assert estimate.value == pytest.approx(30.0)
    assert estimate.low == pytest.approx(30 - 15.308089, abs=1e-6)
    assert estimate.high == pytest.approx(30 + 15.308089, abs=1e-6)
    assert (estimate.n, estimate.small_sample, estimate.suppressed) == (100, False, False)


@given(nps_answers)
def test_nps_equals_a_recount_of_the_raw_answers(answers):
    promoters = sum(1 for a in answers if a in (9, 10))
    detractors = sum(1 for a in answers if a <= 6)
    value, low, high = net_interval_by_hand(promoters, detractors, len(answers))
    estimate = nps(NpsCounts.from_scores(answers), k=0)
    assert estimate.value == pytest.approx(value, abs=1e-9)
    assert estimate.low == pytest.approx(low, abs=1e-9)
    assert estimate.high == pytest.approx(high, abs=1e-9)
    assert estimate.n == len(answers)


@given(nps_answers)
def test_nps_from_counts_per_answer_matches_nps_from_categories(answers):
    per_answer = {score: answers.count(score) for score in set(answers)}
    assert nps(per_answer, k=0) == nps(NpsCounts.from_scores(answers), k=0)


@given(nps_answers, nps_answers)
def test_counts_of_two_groups_add_up_to_the_counts_of_both(first, second):
    assert NpsCounts.from_scores(first) + NpsCounts.from_scores(second) == (
        NpsCounts.from_scores(first + second)
    )


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500), st.integers(0, 40))
def test_net_estimate_of_bins_equals_nps_of_the_same_categories(pos, passive, neg, k):
    assert net_estimate(pos, neg, pos + passive + neg, k=k) == nps(
        NpsCounts(pos, passive, neg), k=k)


@pytest.mark.parametrize(("pos", "neg", "n"), [(6, 0, 5), (3, 3, 5), (-1, 2, 5), (2, -1, 5)])
def test_net_estimate_refuses_bins_that_do_not_fit_in_n(pos, neg, n):
    with pytest.raises(ValueError, match="do not fit"):
        net_estimate(pos, neg, n, k=0)


def test_a_group_of_only_promoters_scores_a_certain_hundred():
    assert nps(NpsCounts(promoters=40)) == Estimate(100.0, 40, 100.0, 100.0, False, False)


def test_the_nps_interval_never_leaves_minus_100_to_100():
    estimate = nps(NpsCounts(promoters=6, detractors=0, passives=1), k=0)
    assert estimate.high == 100.0
    assert estimate.low is not None
    assert estimate.low < estimate.value


def test_a_group_with_no_answers_has_no_value():
    estimate = nps(NpsCounts(), k=0)
    assert (estimate.value, estimate.low, estimate.high, estimate.n) == (None, None, None, 0)
    assert not estimate.suppressed


def test_a_group_under_k_shows_only_its_size():
    estimate = nps(NpsCounts(promoters=4), k=5)
    assert estimate == Estimate(None, 4, None, None, small_sample=True, suppressed=True)


def test_a_group_of_exactly_k_is_shown_but_marked_as_a_small_sample():
    estimate = nps(NpsCounts(promoters=3, detractors=2), k=5)
    assert estimate.value == pytest.approx(20.0)
    assert estimate.small_sample
    assert not estimate.suppressed


def test_small_sample_mark_stops_at_the_threshold():
    assert nps(NpsCounts(promoters=29)).small_sample
    assert not nps(NpsCounts(promoters=30)).small_sample
    assert not nps(NpsCounts(promoters=10), small_n=10).small_sample


def test_one_respondent_gives_a_value_with_no_spread():
    estimate = nps(NpsCounts(detractors=1), k=1)
    assert (estimate.value, estimate.low, estimate.high) == (-100.0, -100.0, -100.0)


def test_an_estimate_cannot_be_suppressed_and_carry_a_value():
    with pytest.raises(ValueError, match="suppressed"):
        Estimate(30.0, 3, None, None, small_sample=True, suppressed=True)


@pytest.mark.parametrize("bad", [11, -1, 7.5, True, "9"])
def test_scores_off_the_nps_scale_are_refused(bad):
    with pytest.raises(ValueError, match="scale"):
        NpsCounts.from_scores([9, bad])


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="detractors must not be negative"):
        NpsCounts(promoters=3, detractors=-1)


def test_removing_a_group_that_is_not_a_subgroup_is_refused():
    with pytest.raises(ValueError, match="subgroup"):
        NpsCounts(promoters=3) - NpsCounts(promoters=4)


# --- CSAT and net satisfaction --------------------------------------------------------------


def test_eighty_of_a_hundred_satisfied_has_the_published_wilson_interval():
    estimate = csat({1: 5, 2: 5, 3: 10, 4: 40, 5: 40})
    # Wilson 95% for 80/100 is 71.1%–86.7% in every reference table.
    assert estimate.value == pytest.approx(80.0)
    assert estimate.low == pytest.approx(71.12, abs=0.01)
    assert estimate.high == pytest.approx(86.66, abs=0.01)


@given(csat_answers)
def test_csat_equals_a_recount_of_the_raw_answers(answers):
    satisfied = sum(1 for a in answers if a >= 4)
    n = len(answers)
    estimate = csat(ScaleCounts.from_scores(answers, minimum=1, maximum=5), k=0)
    assert estimate.value == pytest.approx(100 * satisfied / n)
    assert estimate.low is not None
    assert estimate.high is not None
    assert estimate.low <= estimate.value <= estimate.high
    if satisfied > 0:
        assert_is_a_wilson_endpoint(satisfied / n, estimate.low / 100, n)
    else:
        assert estimate.low == 0.0
    if satisfied < n:
        assert_is_a_wilson_endpoint(satisfied / n, estimate.high / 100, n)
    else:
        assert estimate.high == 100.0


def test_net_satisfaction_of_a_hand_counted_group():
    estimate = net_satisfaction({1: 5, 2: 5, 3: 10, 4: 40, 5: 40})
    # s = 0.8, d = 0.1: s + d − (s − d)² = 0.41; 1.96 · 100 · sqrt(0.41 / 100) = 12.5501 …
    assert estimate.value == pytest.approx(70.0)
    assert estimate.low == pytest.approx(70 - 12.550123, abs=1e-6)
    assert estimate.high == pytest.approx(70 + 12.550123, abs=1e-6)


@given(csat_answers)
def test_net_satisfaction_equals_a_recount_of_the_raw_answers(answers):
    satisfied = sum(1 for a in answers if a in (4, 5))
    dissatisfied = sum(1 for a in answers if a in (1, 2))
    value, low, high = net_interval_by_hand(satisfied, dissatisfied, len(answers))
    estimate = net_satisfaction(ScaleCounts.from_scores(answers, minimum=1, maximum=5), k=0)
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((value, low, high))


def test_csat_refuses_counts_on_another_scale():
    with pytest.raises(ValueError, match="1–5 scale"):
        csat(ScaleCounts.from_scores([9, 10], minimum=0, maximum=10))
    with pytest.raises(ValueError, match="outside the 1–5 scale"):
        csat({0: 3, 5: 2})


# --- CES and ratings ------------------------------------------------------------------------


@given(ces_answers.filter(lambda answers: len(answers) >= 2))
def test_ces_equals_the_mean_and_t_interval_of_the_raw_answers(answers):
    n = len(answers)
    mean = statistics.fmean(answers)
    half = t_quantile(0.975, n - 1) * statistics.stdev(answers) / math.sqrt(n)
    estimate = ces(ScaleCounts.from_scores(answers, minimum=1, maximum=7), k=0)
    assert estimate.value == pytest.approx(mean)
    assert estimate.low == pytest.approx(max(1.0, mean - half), abs=1e-9)
    assert estimate.high == pytest.approx(min(7.0, mean + half), abs=1e-9)


def test_ces_of_ten_answers_uses_the_t_critical_value_for_nine_degrees_of_freedom():
    answers = [1, 4, 4, 4, 5, 5, 5, 5, 7, 7]
    estimate = ces(ScaleCounts.from_scores(answers, minimum=1, maximum=7))
    # mean 4.7, sd = sqrt(26.1 / 9) = 1.702939; t(0.975, 9) = 2.262157; half = 1.218209.
    assert estimate.value == pytest.approx(4.7)
    assert estimate.low == pytest.approx(4.7 - 1.218209, abs=1e-5)
    assert estimate.high == pytest.approx(4.7 + 1.218209, abs=1e-5)
    assert estimate.small_sample


def test_a_mean_of_one_answer_has_no_interval():
    estimate = mean_rating(ScaleCounts.from_scores([6], minimum=1, maximum=7), k=1)
    assert (estimate.value, estimate.low, estimate.high) == (6.0, None, None)


def test_a_mean_interval_stays_on_its_scale():
    estimate = ces({7: 5, 1: 1}, k=0)
    assert estimate.low is not None
    assert estimate.high == 7.0
    assert estimate.low >= 1.0


@given(ces_answers)
def test_ces_agree_equals_a_recount_of_the_raw_answers(answers):
    agreeing = sum(1 for a in answers if a >= 5)
    estimate = ces_agree(ScaleCounts.from_scores(answers, minimum=1, maximum=7), k=0)
    low, high = wilson_interval(agreeing, len(answers))
    assert estimate.value == pytest.approx(100 * agreeing / len(answers))
    assert (estimate.low, estimate.high) == pytest.approx((100 * low, 100 * high))


@given(st.integers(-3, 3).flatmap(
    lambda lo: st.tuples(st.just(lo), st.lists(st.integers(lo, lo + 6), min_size=2))
))
def test_a_rating_gives_the_share_of_every_answer_and_the_mean(scale_and_answers):
    minimum, answers = scale_and_answers
    summary = rating(ScaleCounts.from_scores(answers, minimum=minimum, maximum=minimum + 6), k=0)
    assert summary.mean.value == pytest.approx(statistics.fmean(answers))
    assert list(summary.distribution) == list(range(minimum, minimum + 7))
    for point, share in summary.distribution.items():
        assert share.value == pytest.approx(100 * answers.count(point) / len(answers))


def test_rating_shares_are_suppressed_with_the_group():
    summary = rating(ScaleCounts.from_mapping({3: 2, 4: 1}, minimum=1, maximum=5))
    assert summary.mean.suppressed
    assert all(share.value is None for share in summary.distribution.values())


def test_a_scale_needs_one_count_per_point():
    with pytest.raises(ValueError, match="needs 5 counts"):
        ScaleCounts(1, 5, (1, 2, 3))


def test_counts_on_different_scales_do_not_add():
    with pytest.raises(ValueError, match="cannot combine"):
        ScaleCounts.from_scores([1], minimum=1, maximum=5) + ScaleCounts.from_scores(
            [1], minimum=1, maximum=7
        )


# --- response rate --------------------------------------------------------------------------


def test_response_rate_is_responses_over_invitations():
    estimate = response_rate(25, 200)
    assert estimate.value == pytest.approx(12.5)
    assert estimate.n == 200
    assert estimate.low is not None
    assert estimate.high is not None
    assert estimate.low < 12.5 < estimate.high


def test_more_responses_than_invitations_are_refused():
    with pytest.raises(ValueError, match="cannot exceed invitations"):
        response_rate(11, 10)


def test_a_proportion_cannot_have_more_successes_than_trials():
    with pytest.raises(ValueError, match="cannot exceed n"):
        ProportionCounts(successes=6, n=5)
