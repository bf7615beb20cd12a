"""Why scores move: each theme's impact on NPS and CSAT, its net sentiment, volume and trend,
and the detection of emerging themes.

Impact is the score of every response in the period minus the score of the responses whose
comments do not mention the theme: a theme that drags NPS down has a negative impact (NPS
would be that much higher without it). Scores and tests are the metrics app's pure functions;
groups under the anonymity threshold show no score.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from opencem.accounts.selectors import Scope
from opencem.feedback.selectors import feedback_visible, responses_visible
from opencem.metrics.scores import DEFAULT_K, Estimate, ProportionCounts, csat, nps
from opencem.metrics.stats import compare_proportions
from opencem.textanalytics.models import ThemeMention
from opencem.textanalytics.selectors import ThemeStat, theme_stats


@dataclass(frozen=True)
class ThemeImpact:
    """One theme's part in the period's scores; impacts are in points (None: too few)."""

    theme: ThemeStat
    nps_overall: Estimate
    nps_without: Estimate
    nps_impact: float | None
    csat_overall: Estimate
    csat_without: Estimate
    csat_impact: float | None
    trend: list[tuple[date, int]]


def _moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _histogram(rows: Any, field: str) -> Counter[int]:
    return Counter({r[field]: r["n"] for r in rows if r[field] is not None})


def _impact(overall: Estimate, without: Estimate) -> float | None:
    if overall.value is None or without.value is None:
        return None
    return round(overall.value - without.value, 1)


def theme_impacts(*, scope: Scope, start: date, end: date, unit_path: str = "",
                  limit: int = 20, k: int = DEFAULT_K) -> list[ThemeImpact]:
    """The most mentioned themes of the period (``end`` inclusive) in scope, each with its
    impact on NPS and CSAT and its mentions per month over the six months to ``end``."""
    since, until = _moment(start), _moment(end + timedelta(days=1))
    responses = responses_visible(scope=scope).filter(
        completed=True, submitted_at__gte=since, submitted_at__lt=until)
    items = feedback_visible(scope=scope).filter(occurred_at__gte=since, occurred_at__lt=until)
    if unit_path:
        responses = responses.filter(unit__path__startswith=unit_path)
        items = items.filter(unit__path__startswith=unit_path)
    stats = theme_stats(feedback_ids=items.values_list("id"))[:limit]
    if not stats:
        return []
    nps_all = _histogram(responses.values("nps").annotate(n=Count("id")), "nps")
    csat_all = _histogram(responses.values("csat").annotate(n=Count("id")), "csat")
    codes = [s.code for s in stats]
    mentioned = (ThemeMention.objects
                 .filter(theme__code__in=codes,
                         feedback__response_id__in=responses.values("id"))
                 .values("theme__code", "feedback__response__nps", "feedback__response__csat")
                 .annotate(n=Count("feedback__response_id", distinct=True)))
    nps_with: dict[str, Counter[int]] = {c: Counter() for c in codes}
    csat_with: dict[str, Counter[int]] = {c: Counter() for c in codes}
    for row in mentioned:
        code = row["theme__code"]
        if row["feedback__response__nps"] is not None:
            nps_with[code][row["feedback__response__nps"]] += row["n"]
        if row["feedback__response__csat"] is not None:
            csat_with[code][row["feedback__response__csat"]] += row["n"]
    trend = _trend(items_scope=feedback_visible(scope=scope), unit_path=unit_path, codes=codes,
                   end=end)
    out = []
    for stat in stats:
        nps_overall = nps(dict(nps_all), k=k)
        nps_without = nps(dict(nps_all - nps_with[stat.code]), k=k)
        csat_overall = csat(dict(csat_all), k=k)
        csat_without = csat(dict(csat_all - csat_with[stat.code]), k=k)
        out.append(ThemeImpact(stat, nps_overall, nps_without, _impact(nps_overall, nps_without),
                               csat_overall, csat_without,
                               _impact(csat_overall, csat_without), trend[stat.code]))
    return out


def _trend(*, items_scope: Any, unit_path: str, codes: list[str], end: date
           ) -> dict[str, list[tuple[date, int]]]:
    first = end.replace(day=1)
    for _ in range(5):
        first = (first - timedelta(days=1)).replace(day=1)
    items = items_scope.filter(occurred_at__gte=_moment(first),
                               occurred_at__lt=_moment(end + timedelta(days=1)))
    if unit_path:
        items = items.filter(unit__path__startswith=unit_path)
    rows = (ThemeMention.objects.filter(theme__code__in=codes, feedback_id__in=items.values("id"))
            .annotate(month=TruncMonth("feedback__occurred_at"))
            .values("theme__code", "month").annotate(n=Count("feedback_id", distinct=True)))
    counts = {(r["theme__code"], _as_date(r["month"])): r["n"] for r in rows}
    months = [first]
    while months[-1] < end.replace(day=1):
        months.append((months[-1] + timedelta(days=32)).replace(day=1))
    return {c: [(m, counts.get((c, m), 0)) for m in months] for c in codes}


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Emerging:
    """A theme whose share of comments rose significantly in the last week."""

    code: str
    label: str
    mentions: int
    share: float
    baseline_share: float
    p_value: float


def emerging_themes(*, today: date, min_mentions: int = 5, alpha: float = 0.01
                    ) -> list[Emerging]:
    """Themes mentioned in a significantly larger share of the comments of the seven days to
    ``today`` than of the 28 days before (two-proportion z-test), organisation-wide."""
    week_start = today - timedelta(days=6)
    base_start = week_start - timedelta(days=28)
    items = feedback_visible(scope=_everything())
    recent = items.filter(occurred_at__gte=_moment(week_start),
                          occurred_at__lt=_moment(today + timedelta(days=1)))
    before = items.filter(occurred_at__gte=_moment(base_start),
                          occurred_at__lt=_moment(week_start))
    n_recent, n_before = recent.count(), before.count()
    if not n_recent or not n_before:
        return []
    rows = (ThemeMention.objects.filter(feedback_id__in=items.filter(
                occurred_at__gte=_moment(base_start),
                occurred_at__lt=_moment(today + timedelta(days=1))).values("id"))
            .values("theme__code", "theme__label")
            .annotate(recent=Count("feedback_id", distinct=True,
                                   filter=Q(feedback__occurred_at__gte=_moment(week_start))),
                      before=Count("feedback_id", distinct=True,
                                   filter=Q(feedback__occurred_at__lt=_moment(week_start)))))
    found = []
    for r in rows:
        if r["recent"] < min_mentions:
            continue
        test = compare_proportions(ProportionCounts(r["recent"], n_recent),
                                   ProportionCounts(r["before"], n_before), alpha=alpha, k=1)
        if test is not None and test.significant and test.difference > 0:
            found.append(Emerging(r["theme__code"], r["theme__label"], r["recent"],
                                  round(100.0 * r["recent"] / n_recent, 1),
                                  round(100.0 * r["before"] / n_before, 1),
                                  round(test.p_value, 5)))
    return sorted(found, key=lambda e: e.p_value)


def _everything() -> Scope:
    from opencem.accounts.selectors import WHOLE_ORGANISATION  # noqa: PLC0415

    return WHOLE_ORGANISATION
