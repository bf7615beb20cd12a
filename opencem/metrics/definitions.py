"""The metrics a query can ask for: which counts each is computed from, how it becomes an
estimate, and which test compares two of them or one with a target.

Counts travel as plain tuples of ints (a histogram, or successes and n): that is what the
rollup queries return, and tuples of two groups add up element by element. The functions
here wrap them into the typed counts of ``scores`` and ``stats``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from opencem.metrics import batch, scores, stats
from opencem.metrics.batch import Estimates
from opencem.metrics.scores import Estimate, NpsCounts, ProportionCounts, ScaleCounts
from opencem.metrics.stats import Comparison

Counts = tuple[int, ...]


class Metric(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    NET_SATISFACTION = "net_satisfaction"
    CES = "ces"
    CES_AGREE = "ces_agree"
    RATING = "rating"
    VOLUME = "volume"
    COMPLETION_RATE = "completion_rate"
    RESPONSE_RATE = "response_rate"


class Source(StrEnum):
    """Where a metric's counts come from."""

    ROLLUP = "rollup"  # the daily/monthly rollup columns
    RATING = "rating"  # the rating rollup, one row per score
    INVITATIONS = "invitations"  # invitations sent and answered, read from their own table


Bins = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Measure:
    """One metric made computable: counts → n, estimate, comparisons.

    A metric read from a score (NPS, CSAT, CES, a rating) counts answers in ``bins``: each bin
    lists the scores it sums, e.g. NPS's promoters (9, 10), passives (7, 8) and detractors
    (0–6). Only what the metric needs travels from the database and through the cube, which
    matters when an answer holds thousands of groups. ``histogram`` names the score: the
    rollups' column prefix (``nps_0`` …) and the response column, or None for a rating
    question. Other metrics count ``columns`` of the rollups (or of their own source).
    ``target_range`` bounds a target a unit may set (None: the metric has no targets).
    """

    metric: Metric
    label: str
    unit_of_measure: str
    source: Source
    scale: tuple[int, int] | None
    bins: Bins
    histogram: str | None
    columns: tuple[str, ...]
    target_range: tuple[float, float] | None
    n: Callable[[Counts], int]
    estimate: Callable[[Counts, int], Estimate]
    compare: Callable[[Counts, Counts, int], Comparison | None] | None
    versus_target: Callable[[Counts, float, int], Comparison | None] | None
    # ``estimate`` of many groups at once (see ``batch``): the same figures, as columns.
    estimates: Callable[[Sequence[Counts], int], Estimates]

    @property
    def width(self) -> int:
        """How many ints the counts of one group hold."""
        return len(self.bins) if self.bins else len(self.columns)

    def bin_of(self) -> dict[int, int]:
        """Score → index of its bin."""
        return {score: i for i, scores_ in enumerate(self.bins) for score in scores_}


def _points(scale: tuple[int, int]) -> Bins:
    """One bin per point of a scale: the whole distribution (for means)."""
    return tuple((p,) for p in range(scale[0], scale[1] + 1))


def _three(c: Counts) -> NpsCounts:
    """(positive, neutral, negative) bins as the categories of a net score."""
    return NpsCounts(c[0], c[1], c[2])


def _two(c: Counts) -> ProportionCounts:
    """(yes, no) bins as a share."""
    return ProportionCounts(c[0], c[0] + c[1])


def _rate(counts: Counts) -> ProportionCounts:
    """(successes, n) as counted: completed of started, answered of sent."""
    return ProportionCounts(counts[0], counts[1])


def measure(metric: Metric, *, scale: tuple[int, int] | None = None) -> Measure:
    """The Measure of ``metric``; ``rating`` needs the question's scale."""
    if metric in (Metric.NPS, Metric.NET_SATISFACTION):
        nps = metric == Metric.NPS
        # Net satisfaction is, like NPS, the difference of two shares of one multinomial
        # (satisfied 4–5, dissatisfied 1–2), with the same interval and test.
        bins: Bins = (((9, 10), (7, 8), tuple(range(7))) if nps
                      else ((4, 5), (3,), (1, 2)))
        return Measure(
            metric, "NPS" if nps else "Net satisfaction", "points", Source.ROLLUP,
            scores.NPS_SCALE if nps else scores.CSAT_SCALE, bins, "nps" if nps else "csat", (),
            (-100.0, 100.0), n=sum,
            estimate=lambda c, k: scores.net_estimate(c[0], c[2], c[0] + c[1] + c[2], k=k),
            compare=lambda a, b, k: stats.compare_nps(_three(a), _three(b), k=k),
            versus_target=lambda c, t, k: stats.nps_vs_target(_three(c), t, k=k),
            estimates=lambda cs, k: batch.net_estimates(cs, k=k))
    if metric in (Metric.CSAT, Metric.CES_AGREE):
        csat = metric == Metric.CSAT
        # CSAT: satisfied 4–5 of 1–5 (top-two box); % agree: 5–7 of 1–7.
        shares: Bins = ((4, 5), (1, 2, 3)) if csat else ((5, 6, 7), (1, 2, 3, 4))
        return Measure(
            metric, "CSAT" if csat else "CES % agree", "percent", Source.ROLLUP,
            scores.CSAT_SCALE if csat else scores.CES_SCALE, shares, "csat" if csat else "ces",
            (), (0.0, 100.0), n=sum,
            estimate=lambda c, k: scores.proportion(_two(c), k=k),
            compare=lambda a, b, k: stats.compare_proportions(_two(a), _two(b), k=k),
            versus_target=lambda c, t, k: stats.proportion_vs_target(_two(c), t, k=k),
            estimates=lambda cs, k: batch.share_estimates(cs, k=k))
    if metric in (Metric.CES, Metric.RATING):
        if metric == Metric.CES:
            scale = scores.CES_SCALE
        elif scale is None:
            raise ValueError("a rating metric needs the question's scale")
        fixed = scale

        def histogram(c: Counts) -> ScaleCounts:
            return ScaleCounts(fixed[0], fixed[1], tuple(c))

        def mean(c: Counts, k: int) -> Estimate:
            return scores.mean_rating(histogram(c), k=k)

        return Measure(
            metric, "CES" if metric == Metric.CES else "Rating", "mean",
            Source.ROLLUP if metric == Metric.CES else Source.RATING, fixed, _points(fixed),
            "ces" if metric == Metric.CES else None, (), (float(fixed[0]), float(fixed[1])),
            n=sum,
            estimate=mean,
            compare=lambda a, b, k: stats.compare_means(histogram(a), histogram(b), k=k),
            versus_target=lambda c, t, k: stats.mean_vs_target(histogram(c), t, k=k),
            estimates=batch.one_by_one(mean))
    if metric == Metric.VOLUME:
        def volume(c: Counts, _k: int) -> Estimate:
            return Estimate(float(c[0]), c[0], None, None, False, False)

        return Measure(
            metric, "Responses", "count", Source.ROLLUP, None, (), None, ("completed",), None,
            n=lambda c: c[0],
            estimate=volume,
            # Counts of two periods are compared by their lengths too: see series.
            compare=None, versus_target=None, estimates=batch.one_by_one(volume))
    rate = metric == Metric.COMPLETION_RATE
    return Measure(
        metric, "Completion rate" if rate else "Response rate", "percent",
        Source.ROLLUP if rate else Source.INVITATIONS, None, (), None,
        ("completed", "responses") if rate else ("answered", "sent"), (0.0, 100.0),
        n=lambda c: c[1],
        estimate=lambda c, k: scores.proportion(_rate(c), k=k),
        compare=lambda a, b, k: stats.compare_proportions(_rate(a), _rate(b), k=k),
        versus_target=lambda c, t, k: stats.proportion_vs_target(_rate(c), t, k=k),
        estimates=lambda cs, k: batch.share_estimates(cs, k=k, rate=True))


def subtract(a: Sequence[int], b: Sequence[int]) -> Counts:
    return tuple(x - y for x, y in zip(a, b, strict=True))
