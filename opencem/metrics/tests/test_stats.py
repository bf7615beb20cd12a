from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from opencem.metrics.distributions import normal_two_sided_p, t_two_sided_p
from opencem.metrics.scores import NpsCounts, ProportionCounts, ScaleCounts, csat, wilson_interval
from opencem.metrics.stats import (
    Comparison,
    ControlFlag,
    compare_means,
    compare_means_with_parent,
    compare_nps,
    compare_nps_with_parent,
    compare_proportions,
    compare_proportions_with_parent,
    mean_vs_target,
    nps_control_chart,
    nps_vs_target,
    proportion_control_chart,
    proportion_vs_target,
    rest_of_parent,
    visible_groups,
)

nps_answers = st.lists(st.integers(0, 10), min_size=1, max_size=200)
ces_answers = st.lists(st.integers(1, 7), min_size=2, max_size=200)


def ces_counts(answers: list[int]) -> ScaleCounts:
    return ScaleCounts.from_scores(answers, minimum=1, maximum=7)


# --- NPS ------------------------------------------------------------------------------------


def test_a_twenty_point_nps_gap_between_two_groups_of_a_hundred_is_not_significant():
    result = compare_nps(NpsCounts(50, 30, 20), NpsCounts(40, 30, 30))
    # Variances 0.61 and 0.69: SE = 100 · sqrt(0.0061 + 0.0069) = 11.4018; z = 20 / 11.4018.
    assert result is not None
    assert result.difference == pytest.approx(20.0)
    assert result.statistic == pytest.approx(1.754116, abs=1e-6)
    assert result.p_value == pytest.approx(0.07941, abs=1e-5)
    assert not result.significant
    assert result.low < 0 < result.high


def test_the_same_gap_on_four_hundred_each_is_significant():
    result = compare_nps(NpsCounts(200, 120, 80), NpsCounts(160, 120, 120))
    assert result is not None
    assert result.statistic == pytest.approx(2 * 1.754116, abs=1e-5)
    assert result.significant
    assert result.low > 0


@given(nps_answers, nps_answers)
def test_nps_comparison_equals_a_z_test_on_the_raw_answers(first, second):
    def score_and_variance(answers):
        # Each respondent scores +1, 0 or −1; NPS is their mean, its variance the plain one.
        values = [1 if a >= 9 else -1 if a <= 6 else 0 for a in answers]
        return statistics.fmean(values), statistics.pvariance(values) / len(values)

    mean_a, var_a = score_and_variance(first)
    mean_b, var_b = score_and_variance(second)
    assume(var_a + var_b > 1e-12)
    z = (mean_a - mean_b) / math.sqrt(var_a + var_b)
    result = compare_nps(NpsCounts.from_scores(first), NpsCounts.from_scores(second), k=0)
    assert result is not None
    assert result.difference == pytest.approx(100 * (mean_a - mean_b), abs=1e-9)
    assert result.statistic == pytest.approx(z, rel=1e-9, abs=1e-9)
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), abs=1e-12)
    assert result.significant == (result.p_value < 0.05)
    # At the same level, the interval excludes 0 exactly when the test is significant.
    assert result.significant == (result.low > 0 or result.high < 0)


def test_groups_that_are_all_promoters_do_not_differ():
    result = compare_nps(NpsCounts(promoters=20), NpsCounts(promoters=50))
    assert result == Comparison(0.0, 0.0, 0.0, 0.0, 1.0, False)


def test_no_comparison_is_made_with_a_group_under_k():
    assert compare_nps(NpsCounts(promoters=4), NpsCounts(100, 0, 0)) is None
    assert compare_nps(NpsCounts(), NpsCounts(10, 0, 0), k=0) is None


def test_a_unit_is_compared_with_the_rest_of_its_parent_not_the_whole():
    unit, others = NpsCounts(60, 20, 20), NpsCounts(100, 100, 100)
    parent = unit + others
    assert rest_of_parent(parent, unit) == others
    result = compare_nps_with_parent(unit, parent)
    assert result == compare_nps(unit, others)
    assert result is not None
    assert result.difference == pytest.approx(40.0)  # NPS 40 against the others' 0
    # Against the whole parent (NPS 10), which contains the unit, the gap looks smaller.
    overlapping = compare_nps(unit, parent)
    assert overlapping is not None
    assert overlapping.difference == pytest.approx(30.0)


def test_a_unit_that_is_nearly_all_of_its_parent_is_not_compared():
    # The rest would be 3 respondents; the comparison would reveal their score.
    unit, parent = NpsCounts(50, 30, 20), NpsCounts(52, 30, 21)
    assert compare_nps_with_parent(unit, parent) is None


def test_a_unit_larger_than_its_parent_is_refused():
    with pytest.raises(ValueError, match="subgroup"):
        compare_nps_with_parent(NpsCounts(10, 0, 0), NpsCounts(5, 5, 5))


def test_nps_against_a_target_inside_its_interval_is_not_significant():
    counts = NpsCounts(50, 30, 20)  # NPS 30, 95% interval 14.7–45.3
    inside = nps_vs_target(counts, 40.0)
    outside = nps_vs_target(counts, 10.0)
    assert inside is not None
    assert outside is not None
    assert not inside.significant
    assert outside.significant
    # z = (30 − 10) / (100 · sqrt(0.61 / 100)) = 20 / 7.81025
    assert outside.statistic == pytest.approx(2.560738, abs=1e-6)
    assert outside.difference == pytest.approx(20.0)


# --- proportions ----------------------------------------------------------------------------


def test_sixty_versus_forty_five_percent_of_a_hundred_differ_significantly():
    result = compare_proportions(ProportionCounts(60, 100), ProportionCounts(45, 100))
    # Pooled share 0.525: SE = sqrt(0.525 · 0.475 · 0.02) = 0.0706223; z = 0.15 / SE.
    assert result is not None
    assert result.difference == pytest.approx(15.0)
    assert result.statistic == pytest.approx(2.123977, abs=1e-6)
    assert result.p_value == pytest.approx(0.03367, abs=1e-5)
    assert result.significant


def test_the_difference_interval_is_newcombes_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, 56/70 − 48/80, method 10: 0.0524–0.3339.
    result = compare_proportions(ProportionCounts(56, 70), ProportionCounts(48, 80))
    assert result is not None
    assert result.difference == pytest.approx(20.0)
    assert result.low == pytest.approx(5.24, abs=0.01)
    assert result.high == pytest.approx(33.39, abs=0.01)


@given(
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
)
def test_proportion_comparison_equals_a_pooled_z_test_on_the_counts(a, b):
    (x1, n1), (x2, n2) = a, b
    pooled = (x1 + x2) / (n1 + n2)
    assume(0 < pooled < 1)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    result = compare_proportions(ProportionCounts(x1, n1), ProportionCounts(x2, n2), k=0)
    assert result is not None
    assert result.statistic == pytest.approx(z, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(normal_two_sided_p(z), abs=1e-12)
    assert result.low <= result.difference <= result.high


def test_csat_of_a_unit_is_compared_with_the_rest_of_its_region():
    unit, region = ProportionCounts(45, 50), ProportionCounts(245, 350)
    assert compare_proportions_with_parent(unit, region) == compare_proportions(
        unit, ProportionCounts(200, 300)
    )


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.integers(1, 99))
def test_a_share_misses_its_target_exactly_when_the_target_is_outside_its_interval(counts, target):
    successes, n = counts
    result = proportion_vs_target(ProportionCounts(successes, n), float(target), k=0)
    low, high = wilson_interval(successes, n, z=1.959963984540054)
    assert result is not None
    # Skip targets within rounding of an interval endpoint, where either answer is right.
    assume(min(abs(target / 100 - low), abs(target / 100 - high)) > 1e-9)
    assert result.significant == (not low <= target / 100 <= high)


def test_a_share_against_its_target_is_measured_in_points():
    estimate = csat({4: 40, 5: 40, 3: 20})
    result = proportion_vs_target(ProportionCounts(80, 100), 90.0)
    # Under the target: SE = sqrt(0.9 · 0.1 / 100) = 0.03, z = −0.1 / 0.03.
    assert result is not None
    assert result.difference == pytest.approx(-10.0)
    assert result.statistic == pytest.approx(-10 / 3)
    assert result.significant
    assert estimate.high is not None
    assert result.high == pytest.approx(estimate.high - 90.0, abs=0.01)


# --- means ----------------------------------------------------------------------------------


@given(ces_answers, ces_answers)
def test_mean_comparison_equals_welchs_test_on_the_raw_answers(first, second):
    se_a = statistics.variance(first) / len(first)
    se_b = statistics.variance(second) / len(second)
    assume(se_a + se_b > 1e-9)
    t = (statistics.fmean(first) - statistics.fmean(second)) / math.sqrt(se_a + se_b)
    df = (se_a + se_b) ** 2 / (se_a**2 / (len(first) - 1) + se_b**2 / (len(second) - 1))
    result = compare_means(ces_counts(first), ces_counts(second), k=0)
    assert result is not None
    assert result.statistic == pytest.approx(t, rel=1e-9, abs=1e-9)
    assert result.df == pytest.approx(df, rel=1e-9)
    assert result.p_value == pytest.approx(t_two_sided_p(t, df), abs=1e-12)
    assert result.significant == (result.low > 0 or result.high < 0)


def test_a_clear_gap_in_effort_between_two_teams_is_significant():
    easy = ces_counts([6, 7, 7, 6, 5, 7, 6, 7, 6, 7])
    hard = ces_counts([3, 4, 2, 5, 3, 4, 3, 2, 4, 3])
    result = compare_means(easy, hard)
    # Means 6.4 and 3.3, variances 0.48889 and 0.9, Welch df = 16.55.
    assert result is not None
    assert result.difference == pytest.approx(3.1)
    assert result.df == pytest.approx(16.55, abs=0.01)
    assert result.statistic == pytest.approx(3.1 / math.sqrt(0.138889), abs=1e-4)
    assert result.p_value < 0.001
    assert result.significant


def test_means_need_two_answers_per_group_to_be_compared():
    assert compare_means(ces_counts([5]), ces_counts([1, 2, 3]), k=0) is None


def test_a_units_mean_is_compared_with_the_rest_of_its_parent():
    unit, rest = ces_counts([7, 7, 6, 6, 5]), ces_counts([1, 2, 3, 4, 5, 6])
    assert compare_means_with_parent(unit, unit + rest) == compare_means(unit, rest)


def test_a_mean_against_its_target_is_a_one_sample_t_test():
    counts = ces_counts([4, 5, 6, 5, 4, 6, 5, 5])  # mean 5, sd 0.7559, n 8
    result = mean_vs_target(counts, 4.0)
    assert result is not None
    assert result.df == 7
    assert result.statistic == pytest.approx(1 / (0.7559289 / math.sqrt(8)), abs=1e-5)
    assert result.significant
    unmoved = mean_vs_target(counts, 5.0)
    assert unmoved is not None
    assert not unmoved.significant


# --- anonymity by differencing --------------------------------------------------------------


def test_a_single_small_child_takes_the_next_smallest_with_it():
    shown = visible_groups(100, {"north": 3, "south": 47, "west": 50})
    # Hiding north alone would leave it readable as 100 − 47 − 50.
    assert shown.parent_visible
    assert shown.suppressed == {"north", "south"}
    assert shown.visible == {"west"}


def test_two_small_children_that_together_reach_k_protect_each_other():
    shown = visible_groups(100, {"a": 2, "b": 3, "c": 95})
    assert shown.suppressed == {"a", "b"}
    assert shown.visible == {"c"}


def test_two_small_children_that_together_stay_under_k_take_a_third_with_them():
    shown = visible_groups(100, {"a": 2, "b": 2, "c": 46, "d": 50})
    assert shown.suppressed == {"a", "b", "c"}


def test_a_small_parent_hides_itself_and_every_child():
    shown = visible_groups(4, {"a": 2, "b": 2})
    assert not shown.parent_visible
    assert shown.visible == frozenset()
    assert shown.suppressed == {"a", "b"}


def test_answers_recorded_at_the_parent_itself_count_as_a_hidden_group():
    # 2 respondents belong to no child: showing both children would reveal those 2.
    shown = visible_groups(100, {"a": 48, "b": 50})
    assert shown.visible == {"b"}


def test_children_that_are_all_large_are_all_shown():
    shown = visible_groups(100, {"a": 40, "b": 60})
    assert shown.visible == {"a", "b"}
    assert shown.suppressed == frozenset()


def test_children_holding_more_than_their_parent_are_refused():
    with pytest.raises(ValueError, match="more than their parent"):
        visible_groups(10, {"a": 6, "b": 6})


@given(st.lists(st.integers(0, 30), max_size=8), st.integers(0, 10), st.integers(1, 10))
def test_no_group_under_k_can_be_recovered_from_what_is_shown(children_sizes, extra, k):
    children = {f"unit-{i}": n for i, n in enumerate(children_sizes)}
    parent_n = sum(children_sizes) + extra
    shown = visible_groups(parent_n, children, k=k)
    assert all(children[key] >= k for key in shown.visible)
    assert shown.visible | shown.suppressed == set(children)
    if shown.parent_visible:
        recoverable = parent_n - sum(children[key] for key in shown.visible)
        assert recoverable == 0 or recoverable >= k
    else:
        assert parent_n < k
        assert shown.visible == frozenset()


# --- control charts -------------------------------------------------------------------------


def test_a_p_chart_flags_only_units_outside_their_own_limits():
    chart = proportion_control_chart({
        "big-high": ProportionCounts(70, 100),
        "small-high": ProportionCounts(7, 10),
        "big-low": ProportionCounts(30, 100),
        "typical": ProportionCounts(393, 790),
    })
    # Overall 500/1000 = 50%; for n = 100 the limits are 50 ± 3 · sqrt(0.25 / 100) = 50 ± 15.
    assert chart["big-high"].centre == pytest.approx(50.0)
    assert (chart["big-high"].lower, chart["big-high"].upper) == pytest.approx((35.0, 65.0))
    assert chart["big-high"].flag is ControlFlag.ABOVE
    assert chart["big-low"].flag is ControlFlag.BELOW
    # The same 70% on 10 answers is within 50 ± 47.4.
    assert chart["small-high"].flag is ControlFlag.WITHIN
    assert chart["typical"].flag is ControlFlag.WITHIN


def test_a_control_chart_shows_no_value_for_units_under_k():
    chart = proportion_control_chart(
        {"tiny": ProportionCounts(0, 3), "empty": ProportionCounts(0, 0),
         "rest": ProportionCounts(50, 100)}
    )
    assert chart["tiny"].flag is ControlFlag.SUPPRESSED
    assert chart["tiny"].value is None
    assert chart["empty"].flag is ControlFlag.NO_DATA


def test_an_nps_chart_uses_the_pooled_nps_variance_for_each_units_limits():
    chart = nps_control_chart({
        "a": NpsCounts(80, 10, 10),  # NPS 70
        "b": NpsCounts(20, 60, 20),  # NPS 0
        "c": NpsCounts(50, 30, 20),  # NPS 30
        "d": NpsCounts(50, 20, 30),  # NPS 20
    })
    # Pooled: 200 promoters, 80 detractors of 400 → NPS 30; p + d − (p − d)² = 0.61;
    # limits 30 ± 3 · 100 · sqrt(0.61 / 100) = 30 ± 23.4307.
    assert chart["a"].centre == pytest.approx(30.0)
    assert chart["a"].upper == pytest.approx(53.430749, abs=1e-6)
    assert chart["a"].flag is ControlFlag.ABOVE
    assert chart["b"].flag is ControlFlag.BELOW
    assert chart["c"].flag is ControlFlag.WITHIN
    assert chart["d"].flag is ControlFlag.WITHIN


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1])
def test_alpha_must_be_a_probability(alpha):
    with pytest.raises(ValueError, match="alpha"):
        compare_nps(NpsCounts(10, 0, 0), NpsCounts(10, 0, 0), alpha=alpha)
