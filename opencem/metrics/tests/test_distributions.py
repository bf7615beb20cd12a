from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencem.metrics.distributions import (
    normal_cdf,
    normal_quantile,
    normal_two_sided_p,
    regularized_incomplete_beta,
    t_cdf,
    t_quantile,
    t_two_sided_p,
)

unit_interval = st.floats(min_value=1e-6, max_value=1 - 1e-6)


@given(a=st.integers(1, 40), b=st.integers(1, 40), x=unit_interval)
def test_incomplete_beta_with_whole_parameters_is_a_binomial_tail(a, b, x):
    # For whole a and b, I_x(a, b) = P(Binomial(a + b − 1, x) ≥ a): an exact, independent sum.
    trials = a + b - 1
    tail = sum(math.comb(trials, j) * x**j * (1 - x) ** (trials - j) for j in range(a, trials + 1))
    assert regularized_incomplete_beta(a, b, x) == pytest.approx(tail, rel=1e-9, abs=1e-13)


@given(a=st.floats(0.1, 50), x=unit_interval)
def test_incomplete_beta_with_b_one_is_a_power(a, x):
    assert regularized_incomplete_beta(a, 1.0, x) == pytest.approx(x**a, rel=1e-9, abs=1e-300)


@given(a=st.floats(0.1, 500))
def test_incomplete_beta_of_a_symmetric_beta_is_one_half_at_the_middle(a):
    assert regularized_incomplete_beta(a, a, 0.5) == pytest.approx(0.5, rel=1e-12)


def test_incomplete_beta_is_zero_and_one_at_the_ends():
    assert regularized_incomplete_beta(2.5, 3.5, 0.0) == 0.0
    assert regularized_incomplete_beta(2.5, 3.5, 1.0) == 1.0


@pytest.mark.parametrize(("a", "b", "x"), [(0, 1, 0.5), (1, -1, 0.5), (1, 1, 1.5), (1, 1, -0.1)])
def test_incomplete_beta_refuses_parameters_outside_its_domain(a, b, x):
    with pytest.raises(ValueError, match="incomplete beta"):
        regularized_incomplete_beta(a, b, x)


@given(t=st.floats(-1e6, 1e6) | st.floats(-1e-7, 1e-7))
def test_t_with_one_degree_of_freedom_is_the_cauchy_distribution(t):
    assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, rel=1e-9, abs=1e-12)


@given(t=st.floats(-1e4, 1e4) | st.floats(-1e-7, 1e-7))
def test_t_with_two_degrees_of_freedom_matches_its_closed_form(t):
    expected = 0.5 + t / (2 * math.sqrt(2 + t * t))
    assert t_cdf(t, 2) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("t", "df", "p"), [
    # Two-sided critical values from a printed t table.
    (12.706, 1, 0.05),
    (4.303, 2, 0.05),
    (2.228, 10, 0.05),
    (3.169, 10, 0.01),
    (2.042, 30, 0.05),
    (2.576, 1_000_000, 0.01),
    (1.96, 1_000_000, 0.05),
])
def test_two_sided_t_p_values_match_the_table(t, df, p):
    assert t_two_sided_p(t, df) == pytest.approx(p, abs=2e-4)


@pytest.mark.parametrize(("df", "critical"), [
    (1, 12.7062047), (2, 4.3026527), (5, 2.5705818), (10, 2.2281389), (29, 2.0452296),
    (100, 1.9839715),
])
def test_t_quantile_gives_the_975_percent_critical_values(df, critical):
    assert t_quantile(0.975, df) == pytest.approx(critical, abs=1e-6)


@given(p=st.floats(0.001, 0.999), df=st.floats(0.5, 1e5))
def test_t_quantile_inverts_the_t_cdf(p, df):
    assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-9)


def test_the_t_distribution_is_symmetric_and_centred():
    assert t_cdf(0.0, 7) == 0.5
    assert t_cdf(-1.3, 7) == pytest.approx(1 - t_cdf(1.3, 7), abs=1e-15)
    assert t_two_sided_p(0.0, 7) == pytest.approx(1.0)
    assert t_two_sided_p(math.inf, 7) == 0.0


def test_t_functions_refuse_meaningless_degrees_of_freedom():
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_cdf(1.0, 0)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_quantile(0.9, math.inf)


def test_normal_cdf_matches_known_values_and_keeps_the_far_tail():
    assert normal_cdf(0.0) == 0.5
    assert normal_cdf(1.96) == pytest.approx(0.9750021, abs=1e-7)
    assert normal_two_sided_p(1.96) == pytest.approx(0.0499958, abs=1e-7)
    # 1 + erf(−10/√2) would round to 0; the true value is 7.6e−24.
    assert normal_cdf(-10.0) == pytest.approx(7.6198530e-24, rel=1e-6)


def test_normal_quantile_inverts_the_normal_cdf():
    assert normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    with pytest.raises(ValueError, match="quantile"):
        normal_quantile(1.0)
