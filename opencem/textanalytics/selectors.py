"""Reads of text analytics: what is pending, theme and sentiment statistics, the taxonomy.

``feedback_ids`` arguments take a list of ids or a ``values_list("id")`` queryset, which the
database then runs as a subquery.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

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
K = TypeVar("K", bound=Hashable)


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
    return voices(groups={0: feedback_ids}, limit=None)[0].themes


def themes_top(*, feedback_ids: FeedbackIds, limit: int = 5) -> list[ThemeStat]:
    """The ``limit`` most mentioned themes in these items."""
    return voices(groups={0: feedback_ids}, limit=limit)[0].themes


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
    return voices(groups={0: feedback_ids}, limit=0)[0].sentiment


@dataclass(frozen=True)
class Voice:
    """What a group of items says: its most mentioned themes and its overall sentiment."""

    themes: list[ThemeStat]
    sentiment: SentimentStat


def voices(*, groups: Mapping[K, FeedbackIds], limit: int | None = 5) -> dict[K, Voice]:
    """``themes_top`` and ``sentiment_summary`` of several groups of items (a journey's
    touchpoints …) in two queries however many groups: one conditional count per group.
    ``limit`` None keeps every theme; 0 skips the themes' query."""
    keys = list(groups)
    if not keys:
        return {}
    within = [Q(feedback_id__in=_ids(groups[key])) for key in keys]
    anywhere = Q()
    for q in within:
        anywhere |= q
    counts: dict[str, Any] = {}
    for i, q in enumerate(within):
        counts |= {f"n{i}": Count("id", filter=q),
                   f"p{i}": Count("id", filter=q & Q(sentiment="positive")),
                   f"o{i}": Count("id", filter=q & Q(sentiment="neutral")),
                   f"m{i}": Count("id", filter=q & Q(sentiment="negative")),
                   f"s{i}": Avg("score", filter=q)}
    agg = Analysis.objects.filter(anywhere).aggregate(**counts)
    themes: list[list[ThemeStat]] = [[] for _ in keys]
    if limit != 0:
        mentions: dict[str, Any] = {}
        for i, q in enumerate(within):
            mentions |= {f"n{i}": Count("id", filter=q),
                         f"p{i}": Count("id", filter=q & Q(sentiment="positive")),
                         f"m{i}": Count("id", filter=q & Q(sentiment="negative"))}
        rows = (ThemeMention.objects.filter(anywhere)
                .values("theme__code", "theme__label", "theme__category__label")
                .annotate(**mentions).order_by("theme__code"))
        for row in rows:
            for i in range(len(keys)):
                n = row[f"n{i}"]
                if n:
                    themes[i].append(ThemeStat(
                        row["theme__code"], row["theme__label"], row["theme__category__label"],
                        n, row[f"p{i}"], row[f"m{i}"],
                        round(100.0 * (row[f"p{i}"] - row[f"m{i}"]) / n, 1)))
    found = {}
    for i, key in enumerate(keys):
        ranked = sorted(themes[i], key=lambda t: (-t.mentions, t.code))
        n, positive, negative, mean = agg[f"n{i}"], agg[f"p{i}"], agg[f"m{i}"], agg[f"s{i}"]
        found[key] = Voice(ranked if limit is None else ranked[:limit], SentimentStat(
            n, positive, agg[f"o{i}"], negative,
            None if mean is None else round(float(mean), 3),
            round(100.0 * (positive - negative) / n, 1) if n else None))
    return found


def analysis_payloads(*, feedback_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored analysis of each analysed item, in the shape of the ``feedback.analyzed``
    event's payload (what alert rules judge): sentiment, score, emotions, themes, pillars and
    effort."""
    ids = list(feedback_ids)
    themes: dict[int, list[str]] = {}
    for feedback_id, code in (ThemeMention.objects.filter(feedback_id__in=ids)
                              .order_by("id").values_list("feedback_id", "theme__code")):
        codes = themes.setdefault(feedback_id, [])
        if code not in codes:
            codes.append(code)
    return {a.feedback_id: {"feedback_id": a.feedback_id, "sentiment": a.sentiment,
                            "sentiment_score": a.score, "emotions": list(a.emotions),
                            "themes": themes.get(a.feedback_id, []),
                            "pillars": list(a.pillars), "effort": list(a.effort)}
            for a in Analysis.objects.filter(feedback_id__in=ids)}


def theme_labels() -> dict[str, str]:
    """``code → "Category › Theme"`` of every theme, switched off or not (a case closed on a
    theme keeps its root cause after the theme is retired)."""
    return {t.code: f"{t.category.label} › {t.label}"
            for t in Theme.objects.select_related("category")}


def theme_choices() -> list[tuple[str, str]]:
    """``(code, "Category › Theme")`` of every active theme, for rule forms."""
    return [(t.code, f"{t.category.label} › {t.label}")
            for t in Theme.objects.filter(active=True).select_related("category")]


def taxonomy() -> list[Category]:
    """Every category with its themes prefetched, in display order."""
    return list(Category.objects.prefetch_related("themes"))


def theme_get(theme_id: int) -> Theme | None:
    return Theme.objects.select_related("category").filter(pk=theme_id).first()


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
