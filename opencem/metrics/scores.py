"""NPS, CSAT, net satisfaction, CES, ratings and response rate, computed from counts.

Every metric here is a function of how many respondents gave each answer, never of the raw
answers themselves: daily rollups store counts per group, and counts of two groups add up to
the counts of their union, so the same functions serve one store on one day and a whole
region over a year. The definitions follow "Definitions that must be exact" in the design.

Each metric comes back as an `Estimate`: the value, its 95% interval, how many respondents it
rests on, whether that is a small sample (shown, but marked) and whether it falls under the
anonymity threshold k (then nothing but n is given).

Scales: shares are percentages (0–100), NPS and net satisfaction are points (−100..100), means
are in the units of their scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields

from opencem.metrics.distributions import t_quantile

# The design fixes the NPS interval at ±1.96 standard errors; the other intervals use the
# same constant so that all intervals on a page are at one and the same level.
Z_95 = 1.96
# Anonymity: no metric is shown for fewer than k respondents (design default).
DEFAULT_K = 5
# Below this many respondents an estimate is shown but marked as a small sample.
DEFAULT_SMALL_N = 30

NPS_SCALE = (0, 10)
CSAT_SCALE = (1, 5)
CES_SCALE = (1, 7)

def _check_count(name: str, value: object) -> int:
    """A count is a non-negative int; bools are ints to Python but never a count."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _check_score(score: object, minimum: int, maximum: int) -> int:
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(f"score {score!r} is not a whole number on the {minimum}–{maximum} scale")
    if not minimum <= score <= maximum:
        raise ValueError(f"score {score} is outside the {minimum}–{maximum} scale")
    return score


def check_thresholds(k: int, small_n: int) -> None:
    _check_count("k", k)
    _check_count("small_n", small_n)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A metric value with its 95% interval and the sample it rests on.

    `value` is None when there are no respondents; when `suppressed` (n < k) value, low and
    high are all None so that no caller can show a group below the anonymity threshold by
    mistake. `low`/`high` are also None when one respondent gives no spread to estimate
    (a mean from n = 1).
    """

    value: float | None
    n: int
    low: float | None
    high: float | None
    small_sample: bool
    suppressed: bool

    def __post_init__(self) -> None:
        if self.suppressed and (self.value, self.low, self.high) != (None, None, None):
            raise ValueError("a suppressed estimate must not carry a value or an interval")


def _estimate(
    n: int,
    compute: Callable[[], tuple[float, float | None, float | None]],
    *,
    k: int,
    small_n: int,
) -> Estimate:
    """Build an Estimate, calling `compute` only when the value may be shown.

    Computing lazily means suppressed groups never have their value calculated at all, and
    n = 0 never reaches a division.
    """
    check_thresholds(k, small_n)
    suppressed = n < k
    if suppressed or n == 0:
        value, low, high = None, None, None
    else:
        value, low, high = compute()
    return Estimate(
        value=value, n=n, low=low, high=high, small_sample=n < small_n, suppressed=suppressed
    )


def _clip(value: float, low: float, high: float) -> float:
    # Comparisons rather than min(max()): this runs for every group of large answers.
    return low if value < low else high if value > high else value


# --- counts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NpsCounts:
    """Respondents per NPS category; add two to get the counts of the union of two groups."""

    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def __post_init__(self) -> None:
        # Named rather than looked up with dataclasses.fields(): rollup queries build
        # thousands of these per answer.
        _check_count("promoters", self.promoters)
        _check_count("passives", self.passives)
        _check_count("detractors", self.detractors)

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    @classmethod
    def from_scores(cls, scores: Iterable[int]) -> NpsCounts:
        """Count raw 0–10 answers: 9–10 promoters, 7–8 passives, 0–6 detractors."""
        promoters = passives = detractors = 0
        for raw in scores:
            score = _check_score(raw, *NPS_SCALE)
            if score >= 9:
                promoters += 1
            elif score >= 7:
                passives += 1
            else:
                detractors += 1
        return cls(promoters, passives, detractors)

    @classmethod
    def from_scale_counts(cls, counts: ScaleCounts | Mapping[int, int]) -> NpsCounts:
        """Collapse counts per 0–10 answer (as a rollup may store them) into categories."""
        scale = _as_scale_counts(counts, NPS_SCALE, metric="NPS")
        return cls(
            promoters=scale.count_between(9, 10),
            passives=scale.count_between(7, 8),
            detractors=scale.count_between(0, 6),
        )

    def __add__(self, other: NpsCounts) -> NpsCounts:
        return NpsCounts(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )

    def __sub__(self, other: NpsCounts) -> NpsCounts:
        """Remove a subgroup (a unit from its parent); it must fit inside this group."""
        for field in fields(self):
            if getattr(other, field.name) > getattr(self, field.name):
                raise ValueError(
                    f"cannot remove {getattr(other, field.name)} {field.name} from a group "
                    f"that has only {getattr(self, field.name)}: is it really a subgroup?"
                )
        return NpsCounts(
            self.promoters - other.promoters,
            self.passives - other.passives,
            self.detractors - other.detractors,
        )


@dataclass(frozen=True, slots=True)
class ScaleCounts:
    """Respondents per point of an integer scale: `counts[i]` answered `minimum + i`."""

    minimum: int
    maximum: int
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("minimum", "maximum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"scale {name} must be a whole number, got {value!r}")
        if self.minimum >= self.maximum:
            raise ValueError(f"a scale needs minimum < maximum, got {self.minimum}–{self.maximum}")
        if len(self.counts) != self.maximum - self.minimum + 1:
            raise ValueError(
                f"the {self.minimum}–{self.maximum} scale needs "
                f"{self.maximum - self.minimum + 1} counts, got {len(self.counts)}"
            )
        for point, count in zip(self.points, self.counts, strict=True):
            _check_count(f"count for {point}", count)

    @property
    def points(self) -> range:
        return range(self.minimum, self.maximum + 1)

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def scale(self) -> tuple[int, int]:
        return (self.minimum, self.maximum)

    @classmethod
    def from_scores(cls, scores: Iterable[int], *, minimum: int, maximum: int) -> ScaleCounts:
        """Count raw answers on the minimum–maximum scale."""
        tally = [0] * (maximum - minimum + 1)
        for raw in scores:
            tally[_check_score(raw, minimum, maximum) - minimum] += 1
        return cls(minimum, maximum, tuple(tally))

    @classmethod
    def from_mapping(
        cls, counts: Mapping[int, int], *, minimum: int, maximum: int
    ) -> ScaleCounts:
        """Counts keyed by answer; answers nobody gave may be left out."""
        for point in counts:
            _check_score(point, minimum, maximum)
        return cls(minimum, maximum, tuple(counts.get(p, 0) for p in range(minimum, maximum + 1)))

    def count(self, point: int) -> int:
        return self.counts[_check_score(point, self.minimum, self.maximum) - self.minimum]

    def count_between(self, low: int, high: int) -> int:
        """Respondents who answered low..high inclusive."""
        return sum(self.count(point) for point in range(low, high + 1))

    def mean_and_variance(self) -> tuple[float, float]:
        """Sample mean and unbiased (n − 1) variance; needs n ≥ 2."""
        n = self.n
        if n < 2:
            raise ValueError(f"a variance needs at least 2 respondents, got {n}")
        mean = sum(p * c for p, c in zip(self.points, self.counts, strict=True)) / n
        # Deviations from the mean rather than Σx² − n·mean²: the latter cancels badly when
        # nearly everyone gives the same answer, which is common on satisfaction scales.
        squares = sum(c * (p - mean) ** 2 for p, c in zip(self.points, self.counts, strict=True))
        return mean, squares / (n - 1)

    def _check_same_scale(self, other: ScaleCounts) -> None:
        if self.scale != other.scale:
            raise ValueError(
                f"cannot combine counts on the {self.minimum}–{self.maximum} scale with "
                f"counts on the {other.minimum}–{other.maximum} scale"
            )

    def __add__(self, other: ScaleCounts) -> ScaleCounts:
        self._check_same_scale(other)
        return ScaleCounts(
            self.minimum,
            self.maximum,
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
        )

    def __sub__(self, other: ScaleCounts) -> ScaleCounts:
        """Remove a subgroup (a unit from its parent); it must fit inside this group."""
        self._check_same_scale(other)
        for point, mine, theirs in zip(self.points, self.counts, other.counts, strict=True):
            if theirs > mine:
                raise ValueError(
                    f"cannot remove {theirs} answers of {point} from a group that has only "
                    f"{mine}: is it really a subgroup?"
                )
        return ScaleCounts(
            self.minimum,
            self.maximum,
            tuple(a - b for a, b in zip(self.counts, other.counts, strict=True)),
        )


@dataclass(frozen=True, slots=True)
class ProportionCounts:
    """`successes` out of `n` (satisfied, agreeing, responded …)."""

    successes: int
    n: int

    def __post_init__(self) -> None:
        _check_count("successes", self.successes)
        _check_count("n", self.n)
        if self.successes > self.n:
            raise ValueError(f"successes ({self.successes}) cannot exceed n ({self.n})")

    def __add__(self, other: ProportionCounts) -> ProportionCounts:
        return ProportionCounts(self.successes + other.successes, self.n + other.n)

    def __sub__(self, other: ProportionCounts) -> ProportionCounts:
        """Remove a subgroup (a unit from its parent); it must fit inside this group."""
        if other.n > self.n or other.successes > self.successes:
            raise ValueError(
                f"cannot remove {other.successes}/{other.n} from {self.successes}/{self.n}: "
                "is it really a subgroup?"
            )
        return ProportionCounts(self.successes - other.successes, self.n - other.n)


def _as_scale_counts(
    counts: ScaleCounts | Mapping[int, int], scale: tuple[int, int], *, metric: str
) -> ScaleCounts:
    """Accept either form of counts, insisting on the scale the metric is defined on."""
    if isinstance(counts, ScaleCounts):
        if counts.scale != scale:
            raise ValueError(
                f"{metric} is defined on the {scale[0]}–{scale[1]} scale, "
                f"got counts on {counts.minimum}–{counts.maximum}"
            )
        return counts
    return ScaleCounts.from_mapping(counts, minimum=scale[0], maximum=scale[1])


def _as_nps_counts(counts: NpsCounts | ScaleCounts | Mapping[int, int]) -> NpsCounts:
    if isinstance(counts, NpsCounts):
        return counts
    return NpsCounts.from_scale_counts(counts)


# --- interval building blocks ---------------------------------------------------------------


def wilson_interval(successes: int, n: int, *, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion, on the 0–1 scale.

    Chosen over the textbook p ± z·sqrt(p(1−p)/n) because that one collapses to a zero-width
    interval at 0% and 100% and undercovers for small n — exactly the groups a frontline
    manager looks at.
    """
    ProportionCounts(successes, n)  # validates
    if n == 0:
        raise ValueError("a proportion needs at least one respondent")
    share = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (share + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(share * (1.0 - share) / n + z2 / (4 * n * n))
    # At 0% (100%) the lower (upper) endpoint is exactly 0 (1); set it rather than let
    # rounding print "99.99999999999999" under a value of 100 and misorder them.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def net_share_variance(positive: int, negative: int, n: int) -> float:
    """Variance of one respondent's +1/0/−1 score when `positive` and `negative` of `n`
    score ±1: p + d − (p − d)², the design's NPS variance (on the 0–1 scale)."""
    p, d = positive / n, negative / n
    # Squared by multiplying, which is exact to the last bit on every platform (pow need
    # not be), so that ``batch`` gives the very same figure. Clamped at 0: for
    # all-positive groups p + d − (p − d)² is 0 up to rounding.
    spread = p - d
    variance = p + d - spread * spread
    return variance if variance > 0.0 else 0.0


def nps_variance(counts: NpsCounts) -> float:
    """Per-respondent variance of the NPS score (+1 promoter, 0 passive, −1 detractor)."""
    if counts.n == 0:
        raise ValueError("NPS variance needs at least one respondent")
    return net_share_variance(counts.promoters, counts.detractors, counts.n)


def net_estimate(positive: int, negative: int, n: int, *, k: int = DEFAULT_K,
                 small_n: int = DEFAULT_SMALL_N) -> Estimate:
    """A difference of two shares of one multinomial (`positive` and `negative` of `n`), in
    points, with the design's interval: the NPS and net satisfaction of counted bins.

    Written out rather than through `_estimate`: dashboards compute thousands per answer.
    """
    check_thresholds(k, small_n)
    if n < k or n == 0:
        return Estimate(None, n, None, None, n < small_n, n < k)
    if not 0 <= positive <= n or not 0 <= negative <= n - positive:
        raise ValueError(f"{positive} positive and {negative} negative do not fit in n = {n}")
    value = 100.0 * (positive - negative) / n
    half = Z_95 * 100.0 * math.sqrt(net_share_variance(positive, negative, n) / n)
    return Estimate(value, n, _clip(value - half, -100.0, 100.0),
                    _clip(value + half, -100.0, 100.0), n < small_n, False)


# --- metrics --------------------------------------------------------------------------------


def proportion(
    counts: ProportionCounts, *, k: int = DEFAULT_K, small_n: int = DEFAULT_SMALL_N
) -> Estimate:
    """A share in percent with its Wilson 95% interval."""

    def compute() -> tuple[float, float, float]:
        low, high = wilson_interval(counts.successes, counts.n)
        return 100.0 * counts.successes / counts.n, 100.0 * low, 100.0 * high

    return _estimate(counts.n, compute, k=k, small_n=small_n)


def nps(
    counts: NpsCounts | ScaleCounts | Mapping[int, int],
    *,
    k: int = DEFAULT_K,
    small_n: int = DEFAULT_SMALL_N,
) -> Estimate:
    """Net Promoter Score: % promoters (9–10) − % detractors (0–6), −100..100.

    Interval: ±1.96·100·sqrt((p + d − (p − d)²)/n), clipped to [−100, 100]. It is a Wald
    interval, so it has zero width when everyone gives the same category (including n = 1);
    `small_sample` is what warns the reader there.
    """
    c = _as_nps_counts(counts)
    return net_estimate(c.promoters, c.detractors, c.n, k=k, small_n=small_n)


def csat_counts(counts: ScaleCounts | Mapping[int, int]) -> ProportionCounts:
    """Satisfied (4–5) out of all answers on the 1–5 scale, ready for `stats`."""
    scale = _as_scale_counts(counts, CSAT_SCALE, metric="CSAT")
    return ProportionCounts(scale.count_between(4, 5), scale.n)


def csat(
    counts: ScaleCounts | Mapping[int, int],
    *,
    k: int = DEFAULT_K,
    small_n: int = DEFAULT_SMALL_N,
) -> Estimate:
    """CSAT: % answering 4–5 on a 1–5 scale (top-two box), with a Wilson 95% interval."""
    return proportion(csat_counts(counts), k=k, small_n=small_n)


def net_satisfaction(
    counts: ScaleCounts | Mapping[int, int],
    *,
    k: int = DEFAULT_K,
    small_n: int = DEFAULT_SMALL_N,
) -> Estimate:
    """Net satisfaction: % satisfied (4–5) − % dissatisfied (1–2) on a 1–5 scale.

    Like NPS it is the difference of two shares of one multinomial, so it takes the same
    interval: ±1.96·100·sqrt((s + d − (s − d)²)/n), clipped to [−100, 100].
    """
    scale = _as_scale_counts(counts, CSAT_SCALE, metric="net satisfaction")
    return net_estimate(
        scale.count_between(4, 5), scale.count_between(1, 2), scale.n, k=k, small_n=small_n
    )


def mean_rating(
    counts: ScaleCounts, *, k: int = DEFAULT_K, small_n: int = DEFAULT_SMALL_N
) -> Estimate:
    """Mean answer on any integer scale with a t-based 95% interval (df = n − 1).

    The t quantile is used at every n, not swapped for 1.96 past some n: it costs nothing
    here, is right for small groups, and avoids the interval jumping narrower at the switch.
    The interval is clipped to the scale; with n = 1 there is no spread to estimate and the
    interval is None.
    """

    def compute() -> tuple[float, float | None, float | None]:
        n = counts.n
        if n == 1:
            (point,) = (p for p, c in zip(counts.points, counts.counts, strict=True) if c)
            return float(point), None, None
        mean, variance = counts.mean_and_variance()
        half = t_quantile(0.975, n - 1) * math.sqrt(variance / n)
        return (
            mean,
            _clip(mean - half, counts.minimum, counts.maximum),
            _clip(mean + half, counts.minimum, counts.maximum),
        )

    return _estimate(counts.n, compute, k=k, small_n=small_n)


@dataclass(frozen=True, slots=True)
class RatingSummary:
    """Mean of a rating question and the share (in percent) of each answer."""

    mean: Estimate
    distribution: Mapping[int, Estimate]


def rating(
    counts: ScaleCounts, *, k: int = DEFAULT_K, small_n: int = DEFAULT_SMALL_N
) -> RatingSummary:
    """Mean and distribution of any integer rating scale, each with a 95% interval."""
    return RatingSummary(
        mean=mean_rating(counts, k=k, small_n=small_n),
        distribution={
            point: proportion(ProportionCounts(count, counts.n), k=k, small_n=small_n)
            for point, count in zip(counts.points, counts.counts, strict=True)
        },
    )


def ces(
    counts: ScaleCounts | Mapping[int, int],
    *,
    k: int = DEFAULT_K,
    small_n: int = DEFAULT_SMALL_N,
) -> Estimate:
    """Customer Effort Score: mean agreement on the 1–7 "made it easy" scale."""
    return mean_rating(_as_scale_counts(counts, CES_SCALE, metric="CES"), k=k, small_n=small_n)


def ces_agree_counts(counts: ScaleCounts | Mapping[int, int]) -> ProportionCounts:
    """Agreeing (5–7) out of all answers on the 1–7 CES scale, ready for `stats`."""
    scale = _as_scale_counts(counts, CES_SCALE, metric="CES")
    return ProportionCounts(scale.count_between(5, 7), scale.n)


def ces_agree(
    counts: ScaleCounts | Mapping[int, int],
    *,
    k: int = DEFAULT_K,
    small_n: int = DEFAULT_SMALL_N,
) -> Estimate:
    """% agreeing (5–7) on the 1–7 CES scale, with a Wilson 95% interval."""
    return proportion(ces_agree_counts(counts), k=k, small_n=small_n)


def response_rate(
    responses: int,
    invitations: int,
    *,
    k: int = DEFAULT_K,
    small_n: int = DEFAULT_SMALL_N,
) -> Estimate:
    """Responses / invitations in percent with a Wilson 95% interval.

    n is the number of invitations, and it is what k and small_n are checked against: the
    rate of a handful of invitations would tell who in that handful answered.
    """
    _check_count("responses", responses)
    _check_count("invitations", invitations)
    if responses > invitations:
        raise ValueError(f"responses ({responses}) cannot exceed invitations ({invitations})")
    return proportion(ProportionCounts(responses, invitations), k=k, small_n=small_n)
