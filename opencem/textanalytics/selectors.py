"""Reads of text analytics: what is pending, theme and sentiment statistics, the taxonomy.

``feedback_ids`` arguments take a list of ids or a ``values_list("id")`` queryset, which the
database then runs as a subquery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Avg, Count, Q, QuerySet

from opencem.accounts.selectors import WHOLE_ORGANISATION, Scope
from opencem.feedback.selectors import feedback_visible
from opencem.textanalytics.models import (
    Analysis,
    Category,
    EmergingTheme,
    Theme,
    ThemeMention,
    ThemeProposal,
)

FeedbackIds = QuerySet | Iterable[int]  # type: ignore[type-arg]


@dataclass(frozen=True)
class PendingItem:
    """What the pipeline reads of a feedback item."""

    feedback_id: int
    text: str
    language: str
    unit_id: int
    customer_id: int | None
    response_id: int | None


def pending_feedback_ids(*, limit: int) -> list[int]:
    """Feedback items never analysed (oldest first), then stale analyses, up to ``limit``."""
    fresh = list(feedback_visible(scope=WHOLE_ORGANISATION)
                 .filter(analysis__isnull=True).order_by("id")
                 .values_list("id", flat=True)[:limit])
    if len(fresh) < limit:
        fresh += list(Analysis.objects.filter(stale=True).order_by("feedback_id")
                      .values_list("feedback_id", flat=True)[:limit - len(fresh)])
    return fresh


def pending_count() -> int:
    """How many items wait for (re-)analysis."""
    missing = feedback_visible(scope=WHOLE_ORGANISATION).filter(analysis__isnull=True).count()
    return missing + Analysis.objects.filter(stale=True).count()


def feedback_for_analysis(*, feedback_ids: Iterable[int]) -> list[PendingItem]:
    """The items to analyse, in id order."""
    rows = (feedback_visible(scope=WHOLE_ORGANISATION).filter(id__in=list(feedback_ids))
            .order_by("id")
            .values_list("id", "text", "language", "unit_id", "customer_id", "response_id"))
    return [PendingItem(*row) for row in rows]


def _ids(feedback_ids: FeedbackIds) -> FeedbackIds:
    return feedback_ids if isinstance(feedback_ids, QuerySet) else list(feedback_ids)


@dataclass(frozen=True)
class ThemeStat:
    """Mentions of one theme; ``net_sentiment`` is % positive − % negative mentions."""

    code: str
    label: str
    category: str
    mentions: int
    positive: int
    negative: int
    net_sentiment: float


def theme_stats(*, feedback_ids: FeedbackIds) -> list[ThemeStat]:
    """Every theme mentioned in these items, most mentioned first (a theme mentioned twice
    in one item counts twice)."""
    rows = (ThemeMention.objects.filter(feedback_id__in=_ids(feedback_ids))
            .values("theme__code", "theme__label", "theme__category__label")
            .annotate(mentions=Count("id"),
                      positive=Count("id", filter=Q(sentiment="positive")),
                      negative=Count("id", filter=Q(sentiment="negative")))
            .order_by("-mentions", "theme__code"))
    return [ThemeStat(r["theme__code"], r["theme__label"], r["theme__category__label"],
                      r["mentions"], r["positive"], r["negative"],
                      round(100.0 * (r["positive"] - r["negative"]) / r["mentions"], 1))
            for r in rows]


def themes_top(*, feedback_ids: FeedbackIds, limit: int = 5) -> list[ThemeStat]:
    """The ``limit`` most mentioned themes in these items."""
    return theme_stats(feedback_ids=feedback_ids)[:limit]


@dataclass(frozen=True)
class SentimentStat:
    """Overall sentiment of analysed items; ``net`` is % positive − % negative."""

    analysed: int
    positive: int
    neutral: int
    negative: int
    mean_score: float | None
    net: float | None


def sentiment_summary(*, feedback_ids: FeedbackIds) -> SentimentStat:
    """How the analysed ones among these items feel."""
    agg = Analysis.objects.filter(feedback_id__in=_ids(feedback_ids)).aggregate(
        analysed=Count("id"), positive=Count("id", filter=Q(sentiment="positive")),
        neutral=Count("id", filter=Q(sentiment="neutral")),
        negative=Count("id", filter=Q(sentiment="negative")), mean=Avg("score"))
    n = agg["analysed"]
    return SentimentStat(
        n, agg["positive"], agg["neutral"], agg["negative"],
        None if agg["mean"] is None else round(float(agg["mean"]), 3),
        round(100.0 * (agg["positive"] - agg["negative"]) / n, 1) if n else None)


def theme_choices() -> list[tuple[str, str]]:
    """``(code, "Category › Theme")`` of every active theme, for rule forms."""
    return [(t.code, f"{t.category.label} › {t.label}")
            for t in Theme.objects.filter(active=True).select_related("category")]


def taxonomy() -> list[Category]:
    """Every category with its themes prefetched, in display order."""
    return list(Category.objects.prefetch_related("themes"))


def theme_get(theme_id: int) -> Theme | None:
    return Theme.objects.select_related("category").filter(pk=theme_id).first()


def analysis_of(feedback_id: int) -> Analysis | None:
    """The analysis of one item, with its mentions and their themes."""
    return (Analysis.objects.prefetch_related("mentions__theme")
            .filter(feedback_id=feedback_id).first())


def proposals_open() -> QuerySet[ThemeProposal]:
    return ThemeProposal.objects.filter(status="proposed")


def emerging_recent(*, limit: int = 10) -> list[EmergingTheme]:
    """The themes found emerging lately, newest week first."""
    return list(EmergingTheme.objects.select_related("theme__category")[:limit])


def uncovered_texts(*, limit: int) -> list[tuple[int, str]]:
    """``(feedback id, redacted text)`` of the most recent analysed items with no theme."""
    rows = (Analysis.objects.filter(mentions__isnull=True)
            .order_by("-feedback__occurred_at", "-feedback_id")
            .values_list("feedback_id", "feedback__redacted_text")[:limit])
    return [(fid, text) for fid, text in rows if text.strip()]


def proposal_examples(*, proposals: Iterable[ThemeProposal], scope: Scope) -> dict[int, str]:
    """The redacted text of the examples of these proposals that ``scope`` sees, by id."""
    ids = {i for p in proposals for i in p.examples}
    return dict(feedback_visible(scope=scope).filter(id__in=ids)
                .values_list("id", "redacted_text"))
