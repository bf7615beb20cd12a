"""Comparisons, anonymity by differencing and control-chart flags, from counts.

A dashboard says "up 6 points" and colours it only when the change is more than noise; the
functions here decide that with a proper test and give the interval of the difference.
Conventions:

- Differences are a − b (or value − target) in the metric's own units: NPS and net
  satisfaction in points, shares in percentage points, means in scale units.
- Intervals of differences are at the level 1 − alpha, so that for the z and t tests here
  "the interval excludes 0" and "p < alpha" agree (the Newcombe interval for proportions,
  a different construction from the pooled test, can disagree at the very edge).
- A comparison returns None when either side has fewer than k respondents: a test result
  about a group below the anonymity threshold would reveal that group. For the same reason a
  unit is compared with the *rest* of its parent, and if that rest is below k there is no
  comparison.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from opencem.metrics.distributions import (
    normal_quantile,
    normal_two_sided_p,
    t_quantile,
    t_two_sided_p,
)
from opencem.metrics.scores import (
    DEFAULT_K,
    NpsCounts,
    ProportionCounts,
    ScaleCounts,
    net_share_variance,
    nps_variance,
    wilson_interval,
)

DEFAULT_ALPHA = 0.05
# Shewhart's convention: three standard errors keep false alarms near 0.3% per unit, which
# matters when a chart compares hundreds of stores at once.
DEFAULT_SIGMAS = 3.0

Counts = TypeVar("Counts", NpsCounts, ScaleCounts, ProportionCounts)
Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A difference (a − b, or value − target) with its interval and test.

    `statistic` is z, or t when `df` is set; `significant` is p_value < alpha.
    """

    difference: float
    low: float
    high: float
    statistic: float
    p_value: float
    significant: bool
    df: float | None = None


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")


def _too_small(k: int, minimum: int, *sizes: int) -> bool:
    """True when a group is below the anonymity threshold or too small for the test."""
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")
    return any(n < max(k, minimum) for n in sizes)


def _degenerate(difference: float, df: float | None = None) -> Comparison:
    """Both groups without spread (e.g. all promoters): the difference is known exactly.

    The estimated standard error is 0, so any non-zero difference is as significant as it
    gets and a zero difference not at all; the interval is the point itself.
    """
    if difference == 0:
        return Comparison(0.0, 0.0, 0.0, 0.0, 1.0, False, df)
    return Comparison(
        difference, difference, difference, math.copysign(math.inf, difference), 0.0, True, df
    )


def _z_comparison(
    difference: float, standard_error: float, *, alpha: float, bound: float | None = None
) -> Comparison:
    """Wald z-test and interval; `bound` clips the interval to ±bound (a metric's range)."""
    if standard_error == 0:
        return _degenerate(difference)
    z = difference / standard_error
    p_value = normal_two_sided_p(z)
    half = normal_quantile(1.0 - alpha / 2.0) * standard_error
    low, high = difference - half, difference + half
    if bound is not None:
        low, high = max(-bound, low), min(bound, high)
    return Comparison(difference, low, high, z, p_value, p_value < alpha)


def rest_of_parent(parent: Counts, unit: Counts) -> Counts:
    """The parent's counts without the unit's: what a unit should be compared with.

    Testing a unit against a parent that contains it compares the unit partly with itself,
    which shrinks the difference and breaks the independence the tests assume.
    """
    return parent - unit


# --- NPS ------------------------------------------------------------------------------------


def compare_nps(
    a: NpsCounts, b: NpsCounts, *, alpha: float = DEFAULT_ALPHA, k: int = DEFAULT_K
) -> Comparison | None:
    """NPS of two independent groups (this period vs the last, one unit vs another).

    z-test on the difference with variance Var_a/n_a + Var_b/n_b, each Var = p + d − (p − d)²
    (the design's NPS variance). Points, −200..200.
    """
    _check_alpha(alpha)
    if _too_small(k, 1, a.n, b.n):
        return None
    difference = 100.0 * (
        (a.promoters - a.detractors) / a.n - (b.promoters - b.detractors) / b.n
    )
    standard_error = 100.0 * math.sqrt(nps_variance(a) / a.n + nps_variance(b) / b.n)
    return _z_comparison(difference, standard_error, alpha=alpha, bound=200.0)


def compare_nps_with_parent(
    unit: NpsCounts, parent: NpsCounts, *, alpha: float = DEFAULT_ALPHA, k: int = DEFAULT_K
) -> Comparison | None:
    """A unit's NPS against the rest of the parent it belongs to (see `rest_of_parent`)."""
    return compare_nps(unit, rest_of_parent(parent, unit), alpha=alpha, k=k)


def nps_vs_target(
    counts: NpsCounts, target: float, *, alpha: float = DEFAULT_ALPHA, k: int = DEFAULT_K
) -> Comparison | None:
    """NPS against a fixed target: z = (NPS − target) / SE with the design's variance."""
    _check_alpha(alpha)
    if not -100.0 <= target <= 100.0:
        raise ValueError(f"an NPS target lies in −100..100, got {target}")
    if _too_small(k, 1, counts.n):
        return None
    value = 100.0 * (counts.promoters - counts.detractors) / counts.n
    standard_error = 100.0 * math.sqrt(nps_variance(counts) / counts.n)
    result = _z_comparison(value - target, standard_error, alpha=alpha)
    # NPS itself cannot leave −100..100, so neither can its distance from the target.
    return _clip_comparison(result, -100.0 - target, 100.0 - target)


def _clip_comparison(result: Comparison, low: float, high: float) -> Comparison:
    return Comparison(
        result.difference,
        max(low, result.low),
        min(high, result.high),
        result.statistic,
        result.p_value,
        result.significant,
        result.df,
    )


# --- proportions (CSAT, % agree, response rate) ---------------------------------------------


def compare_proportions(
    a: ProportionCounts,
    b: ProportionCounts,
    *,
    alpha: float = DEFAULT_ALPHA,
    k: int = DEFAULT_K,
) -> Comparison | None:
    """Two independent shares: pooled two-proportion z-test, Newcombe interval.

    The pooled test is the standard test of "same share in both groups"; its interval
    counterpart (Wald, unpooled) behaves badly near 0% and 100%, so the interval is Newcombe's
    hybrid score interval (method 10), built from the two Wilson intervals the dashboard
    already shows. Percentage points.
    """
    _check_alpha(alpha)
    if _too_small(k, 1, a.n, b.n):
        return None
    share_a, share_b = a.successes / a.n, b.successes / b.n
    difference = share_a - share_b
    pooled = (a.successes + b.successes) / (a.n + b.n)
    standard_error = math.sqrt(pooled * (1.0 - pooled) * (1.0 / a.n + 1.0 / b.n))
    if standard_error == 0:
        return _degenerate(100.0 * difference)
    z = difference / standard_error
    p_value = normal_two_sided_p(z)
    critical = normal_quantile(1.0 - alpha / 2.0)
    low_a, high_a = wilson_interval(a.successes, a.n, z=critical)
    low_b, high_b = wilson_interval(b.successes, b.n, z=critical)
    low = difference - math.sqrt((share_a - low_a) ** 2 + (high_b - share_b) ** 2)
    high = difference + math.sqrt((high_a - share_a) ** 2 + (share_b - low_b) ** 2)
    return Comparison(100.0 * difference, 100.0 * low, 100.0 * high, z, p_value, p_value < alpha)


def compare_proportions_with_parent(
    unit: ProportionCounts,
    parent: ProportionCounts,
    *,
    alpha: float = DEFAULT_ALPHA,
    k: int = DEFAULT_K,
) -> Comparison | None:
    """A unit's share against the rest of the parent it belongs to."""
    return compare_proportions(unit, rest_of_parent(parent, unit), alpha=alpha, k=k)


def proportion_vs_target(
    counts: ProportionCounts,
    target: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    k: int = DEFAULT_K,
) -> Comparison | None:
    """A share (percent) against a fixed target percentage: one-sample score z-test.

    The standard error is taken under the target, sqrt(p0(1 − p0)/n), which is the test that
    the Wilson interval inverts: significant exactly when the target lies outside the Wilson
    interval at the same level. The interval given is that Wilson interval minus the target.
    """
    _check_alpha(alpha)
    if not 0.0 <= target <= 100.0:
        raise ValueError(f"a target share lies in 0..100 percent, got {target}")
    if _too_small(k, 1, counts.n):
        return None
    share, goal = counts.successes / counts.n, target / 100.0
    difference = share - goal
    standard_error = math.sqrt(goal * (1.0 - goal) / counts.n)
    if standard_error == 0:
        # A target of 0% or 100%: any respondent on the wrong side disproves it outright.
        return _degenerate(100.0 * difference)
    z = difference / standard_error
    p_value = normal_two_sided_p(z)
    low, high = wilson_interval(
        counts.successes, counts.n, z=normal_quantile(1.0 - alpha / 2.0)
    )
    return Comparison(
        100.0 * difference, 100.0 * (low - goal), 100.0 * (high - goal), z, p_value,
        p_value < alpha,
    )


# --- means (CES, ratings) -------------------------------------------------------------------


def compare_means(
    a: ScaleCounts, b: ScaleCounts, *, alpha: float = DEFAULT_ALPHA, k: int = DEFAULT_K
) -> Comparison | None:
    """Two independent means (CES, any rating) by Welch's t-test from counts per point.

    Welch rather than Student because units differ in both size and spread, and Welch does
    not assume equal variances. Needs at least 2 respondents per group (a variance).
    """
    _check_alpha(alpha)
    if a.scale != b.scale:
        raise ValueError(f"cannot compare means on scales {a.scale} and {b.scale}")
    if _too_small(k, 2, a.n, b.n):
        return None
    mean_a, variance_a = a.mean_and_variance()
    mean_b, variance_b = b.mean_and_variance()
    difference = mean_a - mean_b
    share_a, share_b = variance_a / a.n, variance_b / b.n
    standard_error = math.sqrt(share_a + share_b)
    if standard_error == 0:
        return _degenerate(difference)
    # Welch–Satterthwaite; a group with zero spread contributes nothing to either sum.
    df = (share_a + share_b) ** 2 / (share_a**2 / (a.n - 1) + share_b**2 / (b.n - 1))
    return _t_comparison(difference, standard_error, df, alpha=alpha)


def _t_comparison(
    difference: float, standard_error: float, df: float, *, alpha: float
) -> Comparison:
    t = difference / standard_error
    p_value = t_two_sided_p(t, df)
    half = t_quantile(1.0 - alpha / 2.0, df) * standard_error
    return Comparison(
        difference, difference - half, difference + half, t, p_value, p_value < alpha, df
    )


def compare_means_with_parent(
    unit: ScaleCounts, parent: ScaleCounts, *, alpha: float = DEFAULT_ALPHA, k: int = DEFAULT_K
) -> Comparison | None:
    """A unit's mean against the rest of the parent it belongs to."""
    return compare_means(unit, rest_of_parent(parent, unit), alpha=alpha, k=k)


def mean_vs_target(
    counts: ScaleCounts, target: float, *, alpha: float = DEFAULT_ALPHA, k: int = DEFAULT_K
) -> Comparison | None:
    """A mean against a fixed target: one-sample t-test with n − 1 degrees of freedom."""
    _check_alpha(alpha)
    if _too_small(k, 2, counts.n):
        return None
    mean, variance = counts.mean_and_variance()
    standard_error = math.sqrt(variance / counts.n)
    if standard_error == 0:
        return _degenerate(mean - target, df=counts.n - 1)
    return _t_comparison(mean - target, standard_error, counts.n - 1, alpha=alpha)


# --- anonymity by differencing --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visibility(Generic[Key]):
    """Which of a parent and its children may be shown."""

    parent_visible: bool
    visible: frozenset[Key]
    suppressed: frozenset[Key]


def visible_groups(
    parent_n: int, children: Mapping[Key, int], *, k: int = DEFAULT_K
) -> Visibility[Key]:
    """Decide which children of a parent to show so that no group under k can be recovered.

    The rule, for one parent and its direct children (apply it level by level):

    1. A parent with fewer than k respondents is hidden, and so are all its children.
    2. Every child with fewer than k respondents is hidden (primary suppression).
    3. Anyone can subtract the visible children from the visible parent, which reveals the
       hidden children *taken together*, plus any respondents of the parent that belong to no
       child (answers recorded at the parent itself). That remainder must therefore be empty
       or hold at least k respondents. While it holds 1..k−1, the smallest visible child is
       hidden as well (secondary suppression; ties go to the child listed first).

    Hiding another child rather than the parent keeps the parent's own figure, which is what
    the readers of that level came for, and a hidden parent would only move the problem one
    level up. Children with 0 respondents have nothing to show or to protect.
    """
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")
    if parent_n < 0 or any(n < 0 for n in children.values()):
        raise ValueError("respondent counts must not be negative")
    unassigned = parent_n - sum(children.values())
    if unassigned < 0:
        raise ValueError(
            f"children hold {sum(children.values())} respondents, more than their parent's "
            f"{parent_n}: are they really its children?"
        )
    if parent_n < k:
        return Visibility(False, frozenset(), frozenset(children))
    hidden = {key for key, n in children.items() if n < k}
    hidden_total = unassigned + sum(children[key] for key in hidden)
    # Stable sort: equal sizes keep the caller's order, so the choice is reproducible.
    candidates = sorted((key for key in children if key not in hidden), key=children.__getitem__)
    for key in candidates:
        if not 0 < hidden_total < k:
            break
        hidden.add(key)
        hidden_total += children[key]
    return Visibility(
        True, frozenset(key for key in children if key not in hidden), frozenset(hidden)
    )


# --- control charts -------------------------------------------------------------------------


class ControlFlag(StrEnum):
    """Where a unit falls against the control limits of comparable units."""

    ABOVE = "above"
    BELOW = "below"
    WITHIN = "within"
    SUPPRESSED = "suppressed"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class ControlPoint:
    """One unit on a control (funnel) chart: its value, the centre line and its own limits.

    Limits depend on the unit's n, which is why a small store's 40 and a large one's 40 can
    be flagged differently. value/lower/upper are None when the unit is suppressed or empty.
    """

    n: int
    value: float | None
    centre: float | None
    lower: float | None
    upper: float | None
    flag: ControlFlag


def _flag(value: float, lower: float, upper: float) -> ControlFlag:
    if value > upper:
        return ControlFlag.ABOVE
    if value < lower:
        return ControlFlag.BELOW
    return ControlFlag.WITHIN


def _hidden_point(n: int, centre: float | None, k: int) -> ControlPoint | None:
    if n == 0:
        return ControlPoint(0, None, centre, None, None, ControlFlag.NO_DATA)
    if n < k:
        return ControlPoint(n, None, centre, None, None, ControlFlag.SUPPRESSED)
    return None


def _check_chart_args(sigmas: float, k: int) -> None:
    if not sigmas > 0:
        raise ValueError(f"sigmas must be positive, got {sigmas}")
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")


def proportion_control_chart(
    units: Mapping[Key, ProportionCounts],
    *,
    sigmas: float = DEFAULT_SIGMAS,
    k: int = DEFAULT_K,
) -> dict[Key, ControlPoint]:
    """p-chart of comparable units: each share against the overall share ± 3·sqrt(p(1−p)/nᵢ).

    The overall share pools every unit (suppressed ones too: they are part of the whole).
    Percent; limits are clipped to 0..100.
    """
    _check_chart_args(sigmas, k)
    total = sum(units.values(), ProportionCounts(0, 0))
    centre = total.successes / total.n if total.n else None
    points: dict[Key, ControlPoint] = {}
    for key, counts in units.items():
        hidden = _hidden_point(counts.n, None if centre is None else 100.0 * centre, k)
        if hidden is not None:
            points[key] = hidden
            continue
        # This unit has respondents, so the pooled total has some and the centre exists.
        assert centre is not None
        half = sigmas * math.sqrt(centre * (1.0 - centre) / counts.n)
        value = counts.successes / counts.n
        lower, upper = max(0.0, centre - half), min(1.0, centre + half)
        points[key] = ControlPoint(
            counts.n, 100.0 * value, 100.0 * centre, 100.0 * lower, 100.0 * upper,
            _flag(value, lower, upper),
        )
    return points


def nps_control_chart(
    units: Mapping[Key, NpsCounts],
    *,
    sigmas: float = DEFAULT_SIGMAS,
    k: int = DEFAULT_K,
) -> dict[Key, ControlPoint]:
    """NPS chart of comparable units: overall NPS ± 3·100·sqrt((p + d − (p − d)²)/nᵢ).

    As in a p-chart the spread is the overall one (p, d pooled over all units), i.e. what a
    unit's NPS would scatter by if it were no different from the rest. Points, −100..100.
    """
    _check_chart_args(sigmas, k)
    total = sum(units.values(), NpsCounts())
    centre = 100.0 * (total.promoters - total.detractors) / total.n if total.n else None
    variance = (
        net_share_variance(total.promoters, total.detractors, total.n) if total.n else 0.0
    )
    points: dict[Key, ControlPoint] = {}
    for key, counts in units.items():
        hidden = _hidden_point(counts.n, centre, k)
        if hidden is not None:
            points[key] = hidden
            continue
        # This unit has respondents, so the pooled total has some and the centre exists.
        assert centre is not None
        half = sigmas * 100.0 * math.sqrt(variance / counts.n)
        value = 100.0 * (counts.promoters - counts.detractors) / counts.n
        lower, upper = max(-100.0, centre - half), min(100.0, centre + half)
        points[key] = ControlPoint(
            counts.n, value, centre, lower, upper, _flag(value, lower, upper)
        )
    return points
