"""A small framework of benchmark sections: each measures something and returns figures,
each figure ideally set against a baseline measured in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """One measured number, its baseline and, where there is one, the ratio we aim for.

    ``higher_is_better`` says which way the ratio should go (throughput up, latency down).
    ``limit`` is a goal for the value itself, in its own unit (a latency of at most 50 ms),
    for figures whose target is absolute rather than relative to the baseline.
    """

    section: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    goal: float | None = None
    higher_is_better: bool = True
    limit: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def meets_goal(self) -> bool | None:
        if self.limit is not None:
            return self.value >= self.limit if self.higher_is_better else self.value <= self.limit
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio >= self.goal if self.higher_is_better else self.ratio <= self.goal


@dataclass
class Context:
    """What every section may use: the size asked for and a scratch directory."""

    rows: int
    workdir: Path
    notes: list[str] = field(default_factory=list)


Section = Callable[[Context], list[Figure]]
SECTIONS: dict[str, Section] = {}


def section(name: str) -> Callable[[Section], Section]:
    """Register a section; they run in the order they were registered."""
    def register(func: Section) -> Section:
        SECTIONS[name] = func
        return func
    return register


@contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(p) - 1]


def table(figures: list[Figure]) -> str:
    """The figures as a plain-text table."""
    head = ("section", "metric", "value", "baseline", "ratio", "goal", "")
    lines = [head]
    for f in figures:
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        goal = "" if f.goal is None else ("≥ " if f.higher_is_better else "≤ ") + f"{f.goal:.2f}"
        if f.limit is not None:
            goal = ("≥ " if f.higher_is_better else "≤ ") + f"{f.limit:,.0f} {f.unit}"
        verdict = {None: "", True: "ok", False: "BELOW GOAL" if f.higher_is_better
                   else "ABOVE GOAL"}[f.meets_goal]
        baseline = "" if f.baseline is None else f"{f.baseline:,.2f} {f.unit}"
        lines.append((f.section, f.metric, f"{f.value:,.2f} {f.unit}", baseline, ratio, goal,
                      verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    rule = "  ".join("-" * w for w in widths)
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
           for line in lines]
    return "\n".join([out[0], rule, *out[1:]])
