"""Estimates of many groups at once: the arithmetic of ``scores`` on numpy arrays.

An answer grouped by unit × month holds thousands of groups. One by one, each estimate costs
a few microseconds of Python (checks, arithmetic, an ``Estimate`` object), which at 6,000
groups is more than reading their counts from the rollups. Here the same formulas run on
columns, and the answer keeps them as columns (``Estimates``) until someone asks for one
group as an object.

The formulas are those of ``scores``, operation for operation and in the same order, on the
same IEEE doubles: every figure is the float the scalar function gives, not merely a close
one (``tests/test_batch`` compares them for equality). Metrics without a vectorised form
(means, volumes) go through the scalar function group by group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from opencem.metrics.scores import (
    DEFAULT_SMALL_N,
    Z_95,
    Estimate,
    ProportionCounts,
    check_thresholds,
)

Counts = tuple[int, ...]
Array = np.ndarray[Any, Any]


@dataclass(frozen=True, slots=True)
class Estimates:
    """The estimates of many groups as columns; ``at(i)`` is group i's ``Estimate``.

    The same rules hold as for one ``Estimate``: a suppressed group carries n and nothing
    else.
    """

    value: list[float | None] = field(default_factory=list)
    n: list[int] = field(default_factory=list)
    low: list[float | None] = field(default_factory=list)
    high: list[float | None] = field(default_factory=list)
    small_sample: list[bool] = field(default_factory=list)
    suppressed: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.n)

    def at(self, i: int) -> Estimate:
        return Estimate(self.value[i], self.n[i], self.low[i], self.high[i],
                        self.small_sample[i], self.suppressed[i])

    @classmethod
    def of(cls, estimates: Iterable[Estimate]) -> Estimates:
        """Columns of estimates computed one by one."""
        found = cls()
        for e in estimates:
            found.value.append(e.value)
            found.n.append(e.n)
            found.low.append(e.low)
            found.high.append(e.high)
            found.small_sample.append(e.small_sample)
            found.suppressed.append(e.suppressed)
        return found

    def hiding(self, positions: Iterable[int]) -> Estimates:
        """These estimates with the groups at ``positions`` suppressed (anonymity hides
        them although each has k respondents or more): their n stays, nothing else."""
        value, low, high = list(self.value), list(self.low), list(self.high)
        suppressed = list(self.suppressed)
        for i in positions:
            value[i] = low[i] = high[i] = None
            suppressed[i] = True
        return Estimates(value, self.n, low, high, self.small_sample, suppressed)


def one_by_one(estimate: Callable[[Counts, int], Estimate]
               ) -> Callable[[Sequence[Counts], int], Estimates]:
    """The batch form of a scalar estimate: group by group."""
    def many(counts: Sequence[Counts], k: int) -> Estimates:
        return Estimates.of(estimate(c, k) for c in counts)
    return many


def _columns(counts: Sequence[Counts], width: int) -> Array:
    """The counts as a table of int64, one row per group."""
    if any(len(c) != width for c in counts):
        raise ValueError(f"every group's counts must hold {width} numbers")
    # fromiter over the flattened counts builds the table in half the time np.array takes
    # from a list of tuples.
    flat = np.fromiter(chain.from_iterable(counts), dtype=np.int64, count=width * len(counts))
    return flat.reshape(len(counts), width)


def _finish(n: Array, shown: Array, *, value: Array, low: Array, high: Array, k: int,
            small_n: int) -> Estimates:
    """Columns as lists of Python numbers, with None wherever no value may be shown."""
    values, lows, highs = value.tolist(), low.tolist(), high.tolist()
    if not shown.all():
        for i in np.flatnonzero(~shown).tolist():
            values[i] = lows[i] = highs[i] = None
    return Estimates(values, n.tolist(), lows, highs, (n < small_n).tolist(),
                     (n < k).tolist())


def _clip(value: Array, low: float, high: float) -> Array:
    # As scores._clip: the bound where the value passes it, else the value itself.
    return np.where(value < low, low, np.where(value > high, high, value))


def net_estimates(counts: Sequence[Counts], *, k: int,
                  small_n: int = DEFAULT_SMALL_N) -> Estimates:
    """``scores.net_estimate`` of many (positive, neutral, negative) counts: NPS and net
    satisfaction with the design's interval."""
    check_thresholds(k, small_n)
    table = _columns(counts, 3)
    positive, negative = table[:, 0], table[:, 2]
    n = table.sum(axis=1)
    shown = (n >= k) & (n > 0)
    if ((table < 0) & shown[:, None]).any():
        raise ValueError("counts must not be negative")
    # Groups that show nothing still go through the arithmetic, as one passive respondent,
    # so that no division by zero happens; their results are dropped.
    m = np.where(shown, n, 1)
    positive, negative = np.where(shown, positive, 0), np.where(shown, negative, 0)
    value = 100.0 * (positive - negative) / m
    p, d = positive / m, negative / m
    spread = p - d
    variance = p + d - spread * spread
    variance = np.where(variance > 0.0, variance, 0.0)
    half = Z_95 * 100.0 * np.sqrt(variance / m)
    return _finish(n, shown, value=value, low=_clip(value - half, -100.0, 100.0),
                   high=_clip(value + half, -100.0, 100.0), k=k, small_n=small_n)


def share_estimates(counts: Sequence[Counts], *, k: int, small_n: int = DEFAULT_SMALL_N,
                    rate: bool = False) -> Estimates:
    """``scores.proportion`` (percent, Wilson interval) of many counts: (yes, no) bins, or
    (successes, n) when ``rate``."""
    check_thresholds(k, small_n)
    table = _columns(counts, 2)
    successes = table[:, 0]
    n = table[:, 1] if rate else table[:, 0] + table[:, 1]
    shown = (n >= k) & (n > 0)
    # Every group is checked, shown or not, as ProportionCounts checks it.
    bad = (successes < 0) | (successes > n) | (n < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        ProportionCounts(int(successes[i]), int(n[i]))  # raises, naming the numbers
    # As for net scores: a group that shows nothing is computed as 0 of 1, then dropped.
    m = np.where(shown, n, 1)
    successes = np.where(shown, successes, 0)
    share = successes / m
    z = Z_95
    z2 = z * z
    denominator = 1.0 + z2 / m
    centre = (share + z2 / (2 * m)) / denominator
    # 4n² as a float: the same double Python gets from the exact integer (both are the
    # product correctly rounded), and no int64 overflow for the largest groups.
    half = z / denominator * np.sqrt(share * (1.0 - share) / m + z2 / (4.0 * m * m))
    # As scores.wilson_interval: exactly 0 (1) at 0% (100%), else max(0, …) / min(1, …).
    low = np.where(successes == 0, 0.0, np.where(centre - half > 0.0, centre - half, 0.0))
    high = np.where(successes == m, 1.0, np.where(centre + half < 1.0, centre + half, 1.0))
    return _finish(n, shown, value=100.0 * successes / m, low=100.0 * low, high=100.0 * high,
                   k=k, small_n=small_n)
