"""The few probability distributions the metrics need, with the standard library only.

The project deliberately has no numpy/scipy dependency, so the normal and Student t
distributions are written out here. The t CDF goes through the regularized incomplete beta
function, evaluated with the continued fraction of Numerical Recipes (§6.4) by the modified
Lentz method; `tests/test_distributions.py` checks it against closed forms and table values.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

# Lentz's method replaces an exact zero by a tiny number so the next division stays finite.
_TINY = 1e-300
# Relative accuracy asked of the continued fraction; near double precision on purpose, since
# p-values are compared with alpha and a sloppy tail would flip borderline flags.
_EPSILON = 1e-15
# The fraction needs about O(sqrt(max(a, b))) terms; this covers a, b up to ~1e8, far beyond
# any degrees of freedom where the t distribution is not already handed to the normal.
_MAX_ITERATIONS = 20_000
# Past this many degrees of freedom the t and normal distributions agree to better than 1e-9
# in the region that matters, and the normal is cheaper and exact to compute.
_T_AS_NORMAL_DF = 1e9

_STANDARD_NORMAL = NormalDist()


def normal_cdf(x: float) -> float:
    """P(Z ≤ x) for a standard normal Z, via the complementary error function.

    erfc rather than 1 + erf keeps precision in the far lower tail, where 1 + erf(x) would
    cancel to zero long before the true probability does.
    """
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|): the two-sided p-value of a z statistic."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def normal_quantile(p: float) -> float:
    """The x with P(Z ≤ x) = p, for 0 < p < 1."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a quantile needs 0 < p < 1, got {p}")
    return _STANDARD_NORMAL.inv_cdf(p)


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) = B(x; a, b) / B(a, b), the CDF of a Beta(a, b) variable at x.

    Follows Numerical Recipes' `betai`: the continued fraction converges fast only for
    x < (a + 1) / (a + b + 2), so beyond that point the symmetry I_x(a, b) = 1 − I_{1−x}(b, a)
    is used instead.
    """
    if not (a > 0.0 and b > 0.0):
        raise ValueError(f"the incomplete beta needs a > 0 and b > 0, got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"the incomplete beta needs 0 ≤ x ≤ 1, got x={x}")
    if x == 0.0:
        return 0.0
    if x == 1.0:
        return 1.0
    # The prefactor x^a (1−x)^b / (a B(a, b)) is built in logs: for large a or b the powers
    # and the beta function underflow or overflow on their own, their ratio does not.
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction for I_x(a, b) (Numerical Recipes `betacf`, modified Lentz)."""
    a_plus_b = a + b
    a_plus_one = a + 1.0
    a_minus_one = a - 1.0
    c = 1.0
    d = 1.0 - a_plus_b * x / a_plus_one
    d = 1.0 / (d if abs(d) >= _TINY else _TINY)
    result = d
    for m in range(1, _MAX_ITERATIONS + 1):
        two_m = 2 * m
        # Even step of the fraction.
        numerator = m * (b - m) * x / ((a_minus_one + two_m) * (a + two_m))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) >= _TINY else _TINY)
        c = 1.0 + numerator / c
        c = c if abs(c) >= _TINY else _TINY
        result *= d * c
        # Odd step of the fraction.
        numerator = -(a + m) * (a_plus_b + m) * x / ((a + two_m) * (a_plus_one + two_m))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) >= _TINY else _TINY)
        c = 1.0 + numerator / c
        c = c if abs(c) >= _TINY else _TINY
        delta = d * c
        result *= delta
        if abs(delta - 1.0) < _EPSILON:
            return result
    # Not reachable for the parameters this module passes; loud rather than a silent guess.
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def _check_df(df: float) -> None:
    if not (df > 0.0 and math.isfinite(df)):
        raise ValueError(f"degrees of freedom must be a positive finite number, got {df}")


def _t_split(t: float, df: float) -> tuple[float, bool]:
    """P(|T| ≥ |t|) when `False` comes back, P(|T| < |t|) when `True` does.

    Both come from the standard identity behind every t table, P(|T| ≥ t) = I_{df/(df+t²)}
    (df/2, 1/2). Near t = 0 that argument rounds to 1 and the tail loses its last digits, so
    there the central probability I_{t²/(df+t²)}(1/2, df/2) is computed instead, whose
    argument keeps full precision; callers pick whichever they need without cancellation.
    """
    _check_df(df)
    if math.isnan(t):
        raise ValueError("t must be a number, got NaN")
    if math.isinf(t):
        return 0.0, False
    if df > _T_AS_NORMAL_DF:
        return normal_two_sided_p(t), False
    t2 = t * t
    if t2 < df:
        return regularized_incomplete_beta(0.5, df / 2.0, t2 / (df + t2)), True
    return regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t2)), False


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (df may be fractional, as
    Welch's test needs)."""
    probability, central = _t_split(t, df)
    return 1.0 - probability if central else probability


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with `df` degrees of freedom."""
    probability, central = _t_split(t, df)
    if central:
        return 0.5 + 0.5 * probability if t > 0 else 0.5 - 0.5 * probability
    return 1.0 - 0.5 * probability if t > 0 else 0.5 * probability


@lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """The t with P(T ≤ t) = p, for 0 < p < 1.

    Found by bisection on `t_cdf`: robust for every df (Newton steps misbehave in the heavy
    tails of df = 1), and cached because the same few (p, df) pairs recur across a dashboard.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"a quantile needs 0 < p < 1, got {p}")
    _check_df(df)
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    # 200 halvings take any bracket below one ulp; the loop stops as soon as it gets there.
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0
