"""The estimates of many groups at once are, float for float, those computed one by one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencem.metrics.batch import Estimates, net_estimates, one_by_one, share_estimates
from opencem.metrics.definitions import Metric, measure
from opencem.metrics.scores import (
    Estimate,
    ProportionCounts,
    ScaleCounts,
    mean_rating,
    net_estimate,
    proportion,
)

# Small counts reach the edges (n = 0, n under k, 0% and 100%); large ones the rollups of
# ten million responses.
count = st.one_of(st.integers(0, 12), st.integers(0, 5_000_000), st.integers(0, 2**40))
thresholds = st.sampled_from([0, 1, 5, 10])


def columns_of(estimates: list[Estimate]) -> Estimates:
    return Estimates.of(estimates)


@given(st.lists(st.tuples(count, count, count), max_size=60), thresholds)
def test_net_scores_of_many_groups_equal_each_computed_alone(
        groups: list[tuple[int, int, int]], k: int) -> None:
    expected = [net_estimate(p, d, p + m + d, k=k) for p, m, d in groups]
    assert net_estimates(groups, k=k) == columns_of(expected)


@given(st.lists(st.tuples(count, count), max_size=60), thresholds)
def test_shares_of_many_groups_equal_each_computed_alone(
        groups: list[tuple[int, int]], k: int) -> None:
    expected = [proportion(ProportionCounts(yes, yes + no), k=k) for yes, no in groups]
    assert share_estimates(groups, k=k) == columns_of(expected)


@given(st.lists(st.tuples(count, count).map(lambda c: (min(c), max(c))), max_size=60),
       thresholds)
def test_rates_of_many_groups_equal_each_computed_alone(
        groups: list[tuple[int, int]], k: int) -> None:
    expected = [proportion(ProportionCounts(done, n), k=k) for done, n in groups]
    assert share_estimates(groups, k=k, rate=True) == columns_of(expected)


@pytest.mark.parametrize("metric", [Metric.NPS, Metric.NET_SATISFACTION, Metric.CSAT,
                                    Metric.CES_AGREE, Metric.CES, Metric.VOLUME,
                                    Metric.COMPLETION_RATE, Metric.RESPONSE_RATE])
def test_every_metric_estimates_many_groups_as_it_estimates_one(metric: Metric) -> None:
    the_measure = measure(metric)
    width = the_measure.width
    groups = [tuple((i * 7 + j * 3) % 11 for j in range(width)) for i in range(40)]
    if metric in (Metric.COMPLETION_RATE, Metric.RESPONSE_RATE):
        groups = [(min(c), max(c)) for c in groups]
    many = the_measure.estimates(groups, 5)
    assert [many.at(i) for i in range(len(many))] == [the_measure.estimate(c, 5)
                                                       for c in groups]


def test_a_hidden_group_keeps_its_n_and_shows_nothing_else() -> None:
    shown = net_estimates([(30, 10, 5), (3, 1, 2), (50, 0, 0)], k=5)
    hidden = shown.hiding([0])
    assert hidden.at(0) == Estimate(None, 45, None, None, False, True)
    assert hidden.at(1) == shown.at(1)
    assert hidden.at(2) == shown.at(2)
    assert shown.at(0).value is not None  # the original columns are left as they were


def test_counts_that_cannot_be_are_refused_as_one_by_one() -> None:
    with pytest.raises(ValueError, match="negative"):
        net_estimates([(10, -1, 5)], k=0)
    with pytest.raises(ValueError, match="cannot exceed"):
        share_estimates([(6, 5)], k=0, rate=True)
    with pytest.raises(ValueError, match="k must not be negative"):
        net_estimates([(1, 1, 1)], k=-1)


def test_means_go_through_the_scalar_function() -> None:
    def mean(c: tuple[int, ...], k: int) -> Estimate:
        return mean_rating(ScaleCounts(1, 7, c), k=k)

    groups = [(1, 0, 0, 0, 0, 0, 0), (0, 2, 3, 0, 0, 9, 1), (0, 0, 0, 0, 0, 0, 0)]
    assert one_by_one(mean)(groups, 1) == columns_of([mean(c, 1) for c in groups])
