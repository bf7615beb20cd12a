"""The text explorer: analysed feedback in scope, searched and filtered by what the pipeline
found, with each comment cut into segments so its theme mentions can be highlighted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from opencem.core.errors import invalid
from opencem.core.pagination import Page, keyset_page
from opencem.feedback.selectors import FeedbackFilter, feedback_filtered
from opencem.textanalytics.choices import Sentiment
from opencem.textanalytics.models import ThemeMention
from opencem.textanalytics.nlp.signals import EMOTIONS, PILLARS

if TYPE_CHECKING:
    from opencem.accounts.models import Unit
    from opencem.accounts.selectors import Scope


@dataclass(frozen=True)
class ExploreFilter:
    """What to find: words (``q``), theme code, sentiment, emotion, pillar, unit (with its
    subtree), touchpoint, kind and period."""

    q: str = ""
    theme: str = ""
    sentiment: str = ""
    emotion: str = ""
    pillar: str = ""
    unit: Unit | None = None
    touchpoint: str = ""
    kind: str = ""
    since: datetime | None = None
    until: datetime | None = None


def explore(*, scope: Scope, filters: ExploreFilter) -> QuerySet[Any]:
    """Analysed feedback items in scope that match (unordered). Words are searched in the
    text the reader may see: the redacted text without PII rights, so nobody can find a
    comment by a phone number they are not allowed to read."""
    qs = feedback_filtered(scope=scope, filters=FeedbackFilter(
        kind=filters.kind or None, unit=filters.unit, since=filters.since,
        until=filters.until)).filter(analysis__isnull=False)
    qs = qs.select_related("analysis", "response").prefetch_related("analysis__mentions__theme")
    if filters.q:
        words = filters.q.strip()
        if scope.pii_unit_ids is None:
            qs = qs.filter(text__icontains=words)
        else:
            qs = qs.filter(Q(redacted_text__icontains=words)
                           | Q(text__icontains=words, unit_id__in=scope.pii_unit_ids))
    if filters.theme:
        qs = qs.filter(id__in=_with_theme(filters.theme))
    if filters.sentiment:
        if filters.sentiment not in Sentiment.values:
            raise invalid(["sentiment"], f"must be one of {', '.join(Sentiment.values)}")
        qs = qs.filter(analysis__sentiment=filters.sentiment)
    if filters.emotion:
        if filters.emotion not in EMOTIONS:
            raise invalid(["emotion"], f"must be one of {', '.join(EMOTIONS)}")
        # A JSON list read as text on every backend: the quotes keep "joy" from matching
        # inside another word.
        qs = qs.filter(analysis__emotions__icontains=f'"{filters.emotion}"')
    if filters.pillar:
        if filters.pillar not in PILLARS:
            raise invalid(["pillar"], f"must be one of {', '.join(PILLARS)}")
        qs = qs.filter(analysis__pillars__icontains=f'"{filters.pillar}"')
    if filters.touchpoint:
        qs = qs.filter(touchpoint=filters.touchpoint)
    return qs


def _with_theme(code: str) -> QuerySet[Any]:
    return ThemeMention.objects.filter(theme__code=code).values("feedback_id")


def explore_page(*, scope: Scope, filters: ExploreFilter, cursor: str | None = None,
                 limit: int = 25) -> Page[Any]:
    """One page of matches, newest first."""
    return keyset_page(explore(scope=scope, filters=filters), cursor=cursor, limit=limit,
                       time_field="occurred_at")


@dataclass(frozen=True)
class Segment:
    """A run of a comment's text; ``themes`` and ``sentiment`` are set on a mention."""

    text: str
    themes: tuple[str, ...] = ()
    sentiment: str = ""


def segments(text: str, mentions: list[tuple[int, int, str, str]]) -> list[Segment]:
    """``text`` cut at its mentions ``(start, end, theme label, sentiment)``; mentions of one
    sentence by several themes share one segment."""
    spans: dict[tuple[int, int], list[str]] = {}
    feeling: dict[tuple[int, int], str] = {}
    for start, end, label, sentiment in sorted(mentions):
        if 0 <= start < end <= len(text):
            spans.setdefault((start, end), []).append(label)
            feeling[(start, end)] = sentiment
    out: list[Segment] = []
    at = 0
    for (start, end), labels in sorted(spans.items()):
        if start < at:
            continue  # overlapping spans: the first one wins
        if start > at:
            out.append(Segment(text[at:start]))
        out.append(Segment(text[start:end], tuple(dict.fromkeys(labels)),
                           feeling[(start, end)]))
        at = end
    if at < len(text):
        out.append(Segment(text[at:]))
    return out
