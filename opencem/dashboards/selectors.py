"""Reads behind the dashboards, always through a Scope.

Every figure comes from ``metrics.selectors.metric_series`` (or its consistency chart), which
applies the viewer's scope and the anonymity rules; this module only asks it the questions a
dashboard needs and arranges the answers. Comments are shown only from units whose own
respondents in the period reach the anonymity threshold k.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from opencem.accounts.selectors import (
    WHOLE_ORGANISATION,
    Scope,
    memberships_of,
    unit_get_by_code,
    unit_list,
)
from opencem.core.errors import invalid
from opencem.core.pagination import Page, keyset_page
from opencem.dashboards.models import DigestPreference, PerceptionEstimate
from opencem.feedback.selectors import FeedbackFilter, feedback_filtered, responses_visible
from opencem.metrics.selectors import (
    Compare,
    Comparison,
    Estimate,
    Metric,
    MetricFilters,
    MetricGroup,
    MetricSeries,
    UnitInfo,
    anonymity_k,
    metric_series,
)
from opencem.textanalytics.selectors import ThemeStat, themes_top

if TYPE_CHECKING:
    from opencem.feedback.models import FeedbackItem, Response

# What the dashboards offer to pick: the experience scores. The explorer offers every metric.
SCORE_METRICS = (Metric.NPS, Metric.CSAT, Metric.NET_SATISFACTION, Metric.CES, Metric.CES_AGREE)
METRIC_LABELS: dict[str, str] = {
    Metric.NPS: "NPS", Metric.CSAT: "CSAT", Metric.NET_SATISFACTION: "Net satisfaction",
    Metric.CES: "CES (mean)", Metric.CES_AGREE: "CES % agree", Metric.RATING: "Rating (mean)",
    Metric.VOLUME: "Responses", Metric.COMPLETION_RATE: "Completion rate",
    Metric.RESPONSE_RATE: "Response rate",
}
# Metrics a unit can set a target on, in the order a manager reads them.
TARGET_METRICS = (Metric.NPS, Metric.CSAT, Metric.NET_SATISFACTION, Metric.CES,
                  Metric.CES_AGREE, Metric.RESPONSE_RATE, Metric.COMPLETION_RATE)
# Who may record the score they expect their unit to get.
PERCEPTION_ROLES = frozenset({"admin", "analyst", "executive", "manager"})
TREND_MONTHS = 12


@dataclass(frozen=True)
class UnitRow:
    """A unit as the dashboards' pickers show it."""

    id: int
    code: str
    name: str
    kind: str
    depth: int
    path: str


# --- periods and units ------------------------------------------------------------------------


def shift_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return shift_months(day, 1) - timedelta(days=1)


def today() -> date:
    return timezone.localdate()


def default_period(day: date | None = None) -> tuple[date, date]:
    """The three calendar months up to and including ``day`` (default today)."""
    end = day or today()
    return shift_months(end.replace(day=1), -2), end


def trend_start(end: date) -> date:
    """The first day of the twelve calendar months that end with ``end``'s month."""
    return shift_months(end.replace(day=1), -(TREND_MONTHS - 1))


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in the organisation's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def units_visible(*, scope: Scope) -> list[UnitRow]:
    """The units the scope sees, in tree order."""
    return [UnitRow(u["id"], u["code"], u["name"], u["kind"], u["depth"], u["path"])
            for u in unit_list(scope=scope).values("id", "code", "name", "kind", "depth",
                                                    "path")]


def top_units(*, scope: Scope) -> list[UnitRow]:
    """The highest units of the scope: those whose parent it does not see."""
    units = units_visible(scope=scope)
    paths = {u.path for u in units}
    return [u for u in units
            if not any(u.path != p and u.path.startswith(p) for p in paths)]


def organisation_id(unit: UnitInfo) -> int:
    return int(unit.path.strip("/").split("/")[0])


# --- figures ------------------------------------------------------------------------------------


def headline(*, scope: Scope, metric: str, unit: str, start: date, end: date
             ) -> tuple[MetricSeries, MetricGroup | None]:
    """The metric for the whole unit over the period, compared with the period before."""
    series = metric_series(scope=scope, metric=metric,
                           filters=MetricFilters(unit=unit, start=start, end=end),
                           compare=Compare.PREVIOUS)
    return series, series.groups[0] if series.groups else None


def trend(*, scope: Scope, metric: str, unit: str, end: date) -> MetricSeries:
    """The metric month by month over the twelve months up to ``end``, each month compared
    with the month before."""
    return metric_series(scope=scope, metric=metric, group_by=["month"],
                         filters=MetricFilters(unit=unit, start=trend_start(end), end=end),
                         compare=Compare.PREVIOUS)


@dataclass(frozen=True)
class LeagueRow:
    """One unit of a league table: its figure and how it moved since the period before."""

    unit: UnitInfo
    kind: str
    estimate: Estimate
    comparison: Comparison | None
    baseline: Estimate | None

    @property
    def significant(self) -> bool:
        return self.comparison is not None and self.comparison.significant


@dataclass(frozen=True)
class League:
    """Units of one kind below a unit, best first; suppressed units last."""

    series: MetricSeries
    kind: str
    kinds: tuple[str, ...]
    rows: list[LeagueRow]

    @property
    def shown(self) -> list[LeagueRow]:
        """The rows with a figure (neither empty nor suppressed)."""
        return [r for r in self.rows if r.estimate.value is not None]

    @property
    def movers(self) -> list[LeagueRow]:
        """Only the units whose change since the period before is significant, the biggest
        change first."""
        moved = [(abs(r.comparison.difference), r) for r in self.rows
                 if r.comparison is not None and r.comparison.significant]
        return [r for _, r in sorted(moved, key=lambda pair: -pair[0])]


def _unit_kinds(ids: list[int]) -> dict[int, str]:
    return dict(unit_list(scope=WHOLE_ORGANISATION).filter(id__in=ids)
                .values_list("id", "kind"))


def default_level(kinds_below: dict[int, str], children: list[int]) -> str:
    """The kind most of the root's children are (regions under a company, stores under a
    region)."""
    counts: dict[str, int] = {}
    for child in children:
        counts[kinds_below[child]] = counts.get(kinds_below[child], 0) + 1
    return max(sorted(counts), key=lambda kind: counts[kind]) if counts else ""


def league(*, scope: Scope, metric: str, unit: str, start: date, end: date,
           kind: str | None = None) -> League:
    """The units of ``kind`` below ``unit`` (default: the kind of most of its children), each
    with its figure over the period and its change from the period before."""
    series = metric_series(scope=scope, metric=metric, group_by=["unit"],
                           filters=MetricFilters(unit=unit, start=start, end=end),
                           compare=Compare.PREVIOUS)
    root = series.root
    below = [g.unit for g in series.groups if g.unit is not None and g.unit.id != root.id]
    kinds_of = _unit_kinds([u.id for u in below])
    kinds = tuple(sorted(set(kinds_of.values())))
    if not kind:
        kind = default_level(kinds_of, [u.id for u in below if u.parent_id == root.id])
    rows = [LeagueRow(g.unit, kinds_of[g.unit.id], g.estimate, g.comparison, g.baseline)
            for g in series.groups
            if g.unit is not None and g.unit.id != root.id and kinds_of[g.unit.id] == kind]
    rows.sort(key=lambda r: (r.estimate.value is None,
                             -(r.estimate.value or 0.0), r.unit.path))
    return League(series, kind, kinds, rows)


# --- comments -----------------------------------------------------------------------------------


def comment_unit_ids(*, scope: Scope, unit: str, start: date, end: date) -> set[int]:
    """Units below ``unit`` (and itself) whose own completed responses in the period reach the
    anonymity threshold: only their comments may be shown."""
    series = metric_series(scope=scope, metric=Metric.VOLUME, group_by=["unit"],
                           filters=MetricFilters(unit=unit, start=start, end=end))
    k = anonymity_k(organisation_id(series.root))
    subtree = {g.unit.id: g.estimate.n for g in series.groups if g.unit is not None}
    own = dict(subtree)
    for group in series.groups:
        if group.unit is not None and group.unit.parent_id in own:
            own[group.unit.parent_id] -= subtree[group.unit.id]
    return {unit_id for unit_id, n in own.items() if n >= k}


def latest_comments(*, scope: Scope, unit: str, start: date, end: date,
                    limit: int = 20) -> list[FeedbackItem]:
    """The newest feedback with text in the period from units that reach the anonymity
    threshold, newest first."""
    allowed = comment_unit_ids(scope=scope, unit=unit, start=start, end=end)
    if not allowed:
        return []
    found = unit_get_by_code(unit)
    qs = feedback_filtered(scope=scope, filters=FeedbackFilter(
        unit=found, since=start_of_day(start), until=start_of_day(end + timedelta(days=1))))
    return list(qs.filter(unit_id__in=allowed).exclude(text="")
                .order_by("-occurred_at", "-id")[:limit])


def top_themes(*, scope: Scope, unit: str, start: date, end: date,
               limit: int = 5) -> list[ThemeStat]:
    """The most mentioned themes in the period's comments from units that reach the
    anonymity threshold, with their net sentiment."""
    allowed = comment_unit_ids(scope=scope, unit=unit, start=start, end=end)
    if not allowed:
        return []
    qs = feedback_filtered(scope=scope, filters=FeedbackFilter(
        unit=unit_get_by_code(unit), since=start_of_day(start),
        until=start_of_day(end + timedelta(days=1))))
    return themes_top(feedback_ids=qs.filter(unit_id__in=allowed).values_list("id"),
                      limit=limit)


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetCheck:
    """A unit's figure against the target it inherits or set."""

    metric: str
    label: str
    unit_of_measure: str
    estimate: Estimate
    target: float
    comparison: Comparison | None


def targets_vs_actual(*, scope: Scope, unit: str, start: date, end: date) -> list[TargetCheck]:
    """Each metric that has a target for ``unit`` (its own or one set above it), with the
    unit's figure over the period and the test against the target."""
    checks = []
    for metric in TARGET_METRICS:
        series = metric_series(scope=scope, metric=metric,
                               filters=MetricFilters(unit=unit, start=start, end=end),
                               compare=Compare.TARGET)
        for group in series.groups:
            if group.target is not None:
                checks.append(TargetCheck(metric.value, METRIC_LABELS[metric],
                                          series.unit_of_measure, group.estimate, group.target,
                                          group.comparison))
    return checks


# --- perception gap -----------------------------------------------------------------------------


def perception_unit_ids(*, scope: Scope) -> set[int]:
    """Units the viewer may record an expected score for: those below a unit where they hold a
    role that answers for results (admin, analyst, executive, manager)."""
    if scope.user_id is None:
        return set()
    paths = [m.unit.path for m in memberships_of(scope.user_id) if m.role in PERCEPTION_ROLES]
    return {u.id for u in units_visible(scope=scope)
            if any(u.path.startswith(p) for p in paths)}


@dataclass(frozen=True)
class PerceptionRow:
    """An expected score set against what customers said in the same month."""

    id: int
    unit_code: str
    unit_name: str
    metric: str
    label: str
    unit_of_measure: str
    month: date
    expected: float
    recorded_by: str
    actual: Estimate | None

    @property
    def gap(self) -> float | None:
        """What customers said minus what was expected (negative: customers think less of the
        unit than it thinks of itself)."""
        if self.actual is None or self.actual.value is None:
            return None
        return self.actual.value - self.expected

    @property
    def significant(self) -> bool | None:
        """Whether the expectation lies outside the 95% interval of what customers said, i.e.
        the test of "customers' true score is the expected one" rejects it at 5%."""
        a = self.actual
        if a is None or a.value is None or a.low is None or a.high is None:
            return None
        return not a.low <= self.expected <= a.high


def perception_estimates(*, scope: Scope, unit: str | None = None) -> QuerySet[
        PerceptionEstimate]:
    """Recorded expectations for units in scope (``unit``: its subtree), newest month first."""
    qs = PerceptionEstimate.objects.select_related("unit", "recorded_by")
    if scope.unit_ids is not None:
        qs = qs.filter(unit_id__in=scope.unit_ids)
    if unit:
        found = unit_get_by_code(unit)
        if found is None:
            raise invalid(["unit"], f"no unit has the code {unit!r}")
        qs = qs.filter(unit__path__startswith=found.path)
    return qs.order_by("-month", "unit__path", "metric", "-updated_at")


def perception_row(*, scope: Scope, estimate: PerceptionEstimate) -> PerceptionRow:
    """An expectation with what customers said in its month."""
    series = metric_series(scope=scope, metric=estimate.metric, filters=MetricFilters(
        unit=estimate.unit.code, start=estimate.month, end=month_end(estimate.month)))
    actual = series.groups[0].estimate if series.groups else None
    return PerceptionRow(
        estimate.pk, estimate.unit.code, estimate.unit.name, estimate.metric,
        METRIC_LABELS.get(estimate.metric, estimate.metric), series.unit_of_measure,
        estimate.month, estimate.expected, estimate.recorded_by.get_username(), actual)


def perception_rows(*, scope: Scope, unit: str | None = None, limit: int = 12
                    ) -> list[PerceptionRow]:
    """The newest expectations with what customers said in their month."""
    return [perception_row(scope=scope, estimate=estimate)
            for estimate in perception_estimates(scope=scope, unit=unit)[:limit]]


# --- agents -------------------------------------------------------------------------------------


def agent_feed(*, scope: Scope, cursor: str | None = None, limit: int = 25) -> Page[Response]:
    """Responses about interactions at the viewer's units, newest first, with the interaction,
    the customer and the respondent's comments."""
    qs = (responses_visible(scope=scope).filter(interaction__isnull=False)
          .select_related("unit", "survey", "interaction", "interaction__customer", "customer")
          .prefetch_related("feedback_items"))
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="started_at")


# --- digest -------------------------------------------------------------------------------------


def digest_wanted(user_id: int) -> bool:
    """Whether the user gets the weekly digest (yes, until they opt out)."""
    found = (DigestPreference.objects.filter(user_id=user_id)
             .values_list("weekly", flat=True).first())
    return True if found is None else bool(found)
