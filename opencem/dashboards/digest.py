"""What one user's weekly digest says: for each top unit of their scope, last week's scores
against the week before, the units that moved significantly over the last four weeks, and
fresh comments from units that reach the anonymity threshold.

Everything is read through the user's own scope and the same selectors as the dashboards, so
a digest never holds a figure or a comment its reader could not see on a dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from opencem.accounts.selectors import Scope
from opencem.dashboards import selectors
from opencem.metrics.selectors import Comparison, Estimate, Metric

if TYPE_CHECKING:
    from opencem.feedback.models import FeedbackItem

DIGEST_METRICS = (Metric.NPS, Metric.CSAT, Metric.CES)
MOVER_WEEKS = 4
MAX_COMMENTS = 5
MAX_MOVERS = 5


@dataclass(frozen=True)
class DigestScore:
    """One score of last week, compared with the week before."""

    metric: str
    label: str
    unit_of_measure: str
    estimate: Estimate
    comparison: Comparison | None


@dataclass(frozen=True)
class DigestSection:
    """The digest of one unit (the top of the reader's scope)."""

    unit_code: str
    unit_name: str
    k: int
    scores: list[DigestScore] = field(default_factory=list)
    movers: list[selectors.LeagueRow] = field(default_factory=list)
    movers_metric: str = ""
    comments: list[FeedbackItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.comments and all(s.estimate.n == 0 for s in self.scores)


@dataclass(frozen=True)
class Digest:
    """A user's digest of the week starting ``week`` (a Monday)."""

    week: date
    sections: list[DigestSection]

    @property
    def week_end(self) -> date:
        return self.week + timedelta(days=6)

    @property
    def is_empty(self) -> bool:
        return all(section.is_empty for section in self.sections)


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def digest_build(*, scope: Scope, week: date) -> Digest:
    """The digest of the week starting ``week`` for a reader with ``scope``."""
    end = week + timedelta(days=6)
    sections = []
    for top in selectors.top_units(scope=scope):
        scores = []
        k = 0
        for metric in DIGEST_METRICS:
            series, group = selectors.headline(scope=scope, metric=metric, unit=top.code,
                                               start=week, end=end)
            k = series.k
            estimate = group.estimate if group is not None else Estimate(
                None, 0, None, None, True, False)
            scores.append(DigestScore(metric.value, selectors.METRIC_LABELS[metric],
                                      series.unit_of_measure, estimate,
                                      group.comparison if group is not None else None))
        league = selectors.league(scope=scope, metric=Metric.NPS, unit=top.code,
                                  start=end - timedelta(days=7 * MOVER_WEEKS - 1), end=end)
        comments = selectors.latest_comments(scope=scope, unit=top.code, start=week, end=end,
                                             limit=MAX_COMMENTS)
        sections.append(DigestSection(top.code, top.name, k, scores,
                                      league.movers[:MAX_MOVERS], "NPS", comments))
    return Digest(week, sections)
