"""Writes of text analytics: analysing feedback items in batches, and editing the taxonomy."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from opencem.accounts.selectors import Scope
from opencem.core.errors import Conflict, NotFound, PermissionDenied, invalid
from opencem.core.services import outbox_emit_many
from opencem.feedback.services import FeedbackAnnotation, feedback_annotate
from opencem.textanalytics import selectors
from opencem.textanalytics.choices import ProposalStatus
from opencem.textanalytics.models import (
    Analysis,
    Category,
    EmergingTheme,
    Theme,
    ThemeMention,
    ThemeProposal,
)
from opencem.textanalytics.nlp.pipeline import Analyzer, TextResult
from opencem.textanalytics.nlp.themes import ThemeSpec, phrase_pattern

log = logging.getLogger(__name__)

TOPIC_ANALYZED = "feedback.analyzed"
BATCH_SIZE = 64
MAX_PHRASES = 200


# -- the pipeline over stored feedback -------------------------------------------------------

@dataclass
class _AnalyzerCache:
    """One analyzer per process, rebuilt when the taxonomy changes (its embeddings of theme
    labels and phrases are computed once per taxonomy)."""

    key: tuple[object, ...] | None = None
    analyzer: Analyzer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHE = _AnalyzerCache()


def _taxonomy_key() -> tuple[object, ...]:
    stats = Theme.objects.aggregate(changed=Max("updated_at"), last=Max("id"))
    return stats["changed"], stats["last"], Theme.objects.count()


def _theme_specs() -> list[ThemeSpec]:
    return [ThemeSpec(t.code, t.label, t.category.label, tuple(t.phrases),
                      tuple(t.exclusions), semantic=t.semantic)
            for t in Theme.objects.filter(active=True).select_related("category")]


def analyzer_current() -> Analyzer:
    """The analyzer for the taxonomy as it is now."""
    key = _taxonomy_key()
    with _CACHE.lock:
        if _CACHE.analyzer is None or _CACHE.key != key:
            _CACHE.analyzer = Analyzer(themes=_theme_specs())
            _CACHE.key = key
        return _CACHE.analyzer


def analysis_run_batch(*, feedback_ids: Sequence[int], analyzer: Analyzer | None = None) -> int:
    """Analyse these feedback items and store the results in one transaction: the analysis
    rows and theme mentions (replacing earlier ones), the redacted text and language on the
    items, and one ``feedback.analyzed`` event per item analysed for the first time (a
    re-analysis after a taxonomy change announces nothing again). Returns how many items were
    analysed."""
    rows = selectors.feedback_for_analysis(feedback_ids=feedback_ids)
    if not rows:
        return 0
    analyzer = analyzer or analyzer_current()
    results = analyzer.analyze([r.text for r in rows], languages=[r.language for r in rows])
    with transaction.atomic():
        _store(rows, results, model_version=analyzer.model_version)
    return len(rows)


def _store(rows: Sequence[selectors.PendingItem], results: Sequence[TextResult], *,
           model_version: str) -> None:
    now = timezone.now()
    existing = {a.feedback_id: a for a in Analysis.objects.filter(
        feedback_id__in=[r.feedback_id for r in rows])}
    themes = dict(Theme.objects.values_list("code", "id"))
    fresh: list[Analysis] = []
    changed: list[Analysis] = []
    for row, result in zip(rows, results, strict=True):
        analysis = existing.get(row.feedback_id) or Analysis(feedback_id=row.feedback_id)
        analysis.language = result.language
        analysis.sentiment = result.sentiment
        analysis.score = result.score
        analysis.emotions = list(result.emotions)
        analysis.effort = list(result.effort)
        analysis.pillars = list(result.pillars)
        analysis.pii = sorted(set(result.pii))
        analysis.sentences = [[s.start, s.end, s.sentiment, s.score] for s in result.sentences]
        analysis.model_version = model_version
        analysis.stale = False
        analysis.analysed_at = now
        (changed if analysis.pk else fresh).append(analysis)
    Analysis.objects.bulk_create(fresh)
    Analysis.objects.bulk_update(changed, ["language", "sentiment", "score", "emotions", "effort",
                                           "pillars", "pii", "sentences", "model_version",
                                           "stale", "analysed_at"])
    by_feedback = {a.feedback_id: a for a in (*fresh, *changed)}
    if not all(a.pk for a in fresh):  # backends that return no ids from a bulk insert
        by_feedback = {a.feedback_id: a for a in Analysis.objects.filter(
            feedback_id__in=list(by_feedback))}
    ThemeMention.objects.filter(analysis__in=[a.pk for a in changed]).delete()
    ThemeMention.objects.bulk_create([
        ThemeMention(analysis=by_feedback[row.feedback_id], feedback_id=row.feedback_id,
                     theme_id=themes[m.theme], start=m.start, end=m.end, sentiment=m.sentiment,
                     score=m.score, method=m.method)
        for row, result in zip(rows, results, strict=True)
        for m in result.mentions if m.theme in themes])
    feedback_annotate(annotations=[
        FeedbackAnnotation(row.feedback_id, result.redacted_text, result.language)
        for row, result in zip(rows, results, strict=True)])
    new_ids = {a.feedback_id for a in fresh}
    outbox_emit_many(events=[
        (TOPIC_ANALYZED, analyzed_payload(row, result))
        for row, result in zip(rows, results, strict=True) if row.feedback_id in new_ids])


def analyzed_payload(row: selectors.PendingItem, result: TextResult) -> dict[str, object]:
    """The ``feedback.analyzed`` event (alert rules are built on exactly this shape)."""
    return {"feedback_id": row.feedback_id, "response_id": row.response_id,
            "unit_id": row.unit_id, "customer_id": row.customer_id,
            "sentiment": result.sentiment, "sentiment_score": result.score,
            "emotions": list(result.emotions), "themes": result.themes,
            "pillars": list(result.pillars), "effort": list(result.effort)}


def analysis_run_pending(*, batch_size: int = BATCH_SIZE, max_items: int | None = None) -> int:
    """Analyse feedback with no analysis yet, then stale analyses, batch by batch, until none
    is left (or ``max_items`` were done). Returns how many items were analysed."""
    done = 0
    analyzer: Analyzer | None = None
    while max_items is None or done < max_items:
        size = batch_size if max_items is None else min(batch_size, max_items - done)
        ids = selectors.pending_feedback_ids(limit=size)
        if not ids:
            break
        analyzer = analyzer or analyzer_current()
        done += analysis_run_batch(feedback_ids=ids, analyzer=analyzer)
    return done


def analysis_mark_stale(*, scope: Scope) -> int:
    """Mark every analysis for re-analysis (after the taxonomy or the models changed); the
    batch task then redoes them, oldest first. Analysts and admins only."""
    if not scope.can_design:
        raise PermissionDenied("only analysts and admins may re-analyse feedback")
    return Analysis.objects.filter(stale=False).update(stale=True)


# -- the taxonomy ----------------------------------------------------------------------------

def _require_designer(scope: Scope) -> None:
    if not scope.can_design:
        raise PermissionDenied("only analysts and admins may edit the taxonomy")


def _clean_phrases(values: Sequence[str], loc: str) -> list[str]:
    cleaned = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(cleaned) > MAX_PHRASES:
        raise invalid([loc], f"at most {MAX_PHRASES} phrases")
    for i, value in enumerate(cleaned):
        if len(value) > 100:
            raise invalid([loc, i], "must be at most 100 characters")
        if value.strip("*").strip() == "":
            raise invalid([loc, i], "must contain a word")
    phrase_pattern(cleaned)
    return cleaned


def category_create(*, scope: Scope, label: str, code: str = "") -> Category:
    """Add a taxonomy category; ``code`` defaults to the label as a slug."""
    _require_designer(scope)
    label = label.strip()
    if not label:
        raise invalid(["label"], "must not be empty")
    code = slugify(code or label)[:64]
    if not code:
        raise invalid(["code"], "must contain letters or digits")
    if Category.objects.filter(code=code).exists():
        raise Conflict(f"a category with the code {code!r} exists")
    position = (Category.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    return Category.objects.create(code=code, label=label[:120], position=position)


@dataclass(frozen=True)
class ThemeInput:
    """A theme as an analyst writes it; ``category`` is a category code."""

    category: str
    label: str
    phrases: Sequence[str] = ()
    exclusions: Sequence[str] = ()
    semantic: bool = True
    active: bool = True
    code: str = ""


def _category(code: str) -> Category:
    category = Category.objects.filter(code=code).first()
    if category is None:
        raise invalid(["category"], f"no category with the code {code!r}")
    return category


def theme_create(*, scope: Scope, data: ThemeInput) -> Theme:
    """Add a theme under a category. Existing analyses keep their themes until re-analysed."""
    _require_designer(scope)
    category = _category(data.category)
    label = data.label.strip()
    if not label:
        raise invalid(["label"], "must not be empty")
    code = (data.code.strip() or f"{category.code}.{slugify(label)}")[:80]
    if Theme.objects.filter(code=code).exists():
        raise Conflict(f"a theme with the code {code!r} exists")
    return Theme.objects.create(
        category=category, code=code, label=label[:120],
        phrases=_clean_phrases(data.phrases, "phrases"),
        exclusions=_clean_phrases(data.exclusions, "exclusions"),
        semantic=data.semantic, active=data.active)


def theme_update(*, scope: Scope, theme_id: int, data: ThemeInput) -> Theme:
    """Change a theme's label, category, rules or state (its code stays)."""
    _require_designer(scope)
    theme = Theme.objects.filter(pk=theme_id).first()
    if theme is None:
        raise NotFound("No such theme.")
    label = data.label.strip()
    if not label:
        raise invalid(["label"], "must not be empty")
    theme.category = _category(data.category)
    theme.label = label[:120]
    theme.phrases = _clean_phrases(data.phrases, "phrases")
    theme.exclusions = _clean_phrases(data.exclusions, "exclusions")
    theme.semantic = data.semantic
    theme.active = data.active
    theme.save()
    return theme


def taxonomy_install_starter() -> int:
    """Add the starter taxonomy's categories and themes that are missing (the app's data
    migration does the same on a new database); returns how many themes were added."""
    from opencem.textanalytics.nlp.starter import STARTER  # noqa: PLC0415

    added = 0
    for position, (code, label, themes) in enumerate(STARTER, start=1):
        category, _ = Category.objects.get_or_create(
            code=code, defaults={"label": label, "position": position})
        for theme_code, theme_label, phrases, exclusions in themes:
            _, created = Theme.objects.get_or_create(code=theme_code, defaults={
                "category": category, "label": theme_label, "phrases": phrases,
                "exclusions": exclusions})
            added += created
    return added


TOPIC_EMERGING = "theme.emerging"


def emerging_themes_announce(*, today: date | None = None) -> list[EmergingTheme]:
    """Record the themes emerging now (see ``insight.emerging_themes``) and announce each
    with a ``theme.emerging`` event, once per theme and week."""
    from opencem.textanalytics.insight import emerging_themes  # noqa: PLC0415

    today = today or timezone.localdate()
    week = today - timedelta(days=today.weekday())
    found = emerging_themes(today=today)
    themes = dict(Theme.objects.filter(code__in=[e.code for e in found])
                  .values_list("code", "id"))
    known = set(EmergingTheme.objects.filter(week=week).values_list("theme_id", flat=True))
    fresh = [EmergingTheme(theme_id=themes[e.code], week=week, mentions=e.mentions,
                           share=e.share, baseline_share=e.baseline_share, p_value=e.p_value)
             for e in found if e.code in themes and themes[e.code] not in known]
    if not fresh:
        return []
    codes = {v: k for k, v in themes.items()}
    with transaction.atomic():
        EmergingTheme.objects.bulk_create(fresh, ignore_conflicts=True)
        outbox_emit_many(events=[(TOPIC_EMERGING, {
            "theme": codes[e.theme_id], "week": week.isoformat(), "mentions": e.mentions,
            "share": e.share, "baseline_share": e.baseline_share, "p_value": e.p_value})
            for e in fresh])
    return fresh


# -- discovery -------------------------------------------------------------------------------

DISCOVERY_SAMPLE = 2000


def proposals_discover(*, scope: Scope, min_size: int = 5) -> list[ThemeProposal]:
    """Cluster the most recent analysed comments that no theme covers and replace the open
    proposals with one per cluster. Analysts and admins only."""
    from opencem.textanalytics.discovery import cluster  # noqa: PLC0415

    _require_designer(scope)
    rows = selectors.uncovered_texts(limit=DISCOVERY_SAMPLE)
    clusters = cluster([text for _, text in rows], min_size=min_size)
    with transaction.atomic():
        ThemeProposal.objects.filter(status=ProposalStatus.PROPOSED).delete()
        return ThemeProposal.objects.bulk_create([
            ThemeProposal(label=c.label[:120], keywords=c.keywords,
                          examples=[rows[i][0] for i in c.members[:5]], size=len(c.members))
            for c in clusters])


def _open_proposal(proposal_id: int) -> ThemeProposal:
    proposal = ThemeProposal.objects.filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFound("No such proposal.")
    if proposal.status != ProposalStatus.PROPOSED:
        raise Conflict(f"the proposal is already {proposal.status}")
    return proposal


def proposal_accept(*, scope: Scope, proposal_id: int, category: str,
                    label: str = "") -> Theme:
    """Make a proposal a theme under ``category``, its keywords as phrases; ``label``
    renames it."""
    _require_designer(scope)
    proposal = _open_proposal(proposal_id)
    theme = theme_create(scope=scope, data=ThemeInput(
        category=category, label=label.strip() or proposal.label, phrases=proposal.keywords))
    proposal.status = ProposalStatus.ACCEPTED
    proposal.theme = theme
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "theme", "decided_at"])
    return theme


def proposal_reject(*, scope: Scope, proposal_id: int) -> None:
    """Set a proposal aside."""
    _require_designer(scope)
    proposal = _open_proposal(proposal_id)
    proposal.status = ProposalStatus.REJECTED
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_at"])
