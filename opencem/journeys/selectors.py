"""Reads of journeys, always through a Scope: which journeys a viewer sees, the journey map's
figures (each touchpoint's volume, actual score with its interval and gap to target, tested
for significance), the emotion curve and the gap ranking.

Figures come from the viewer's own part of the organisation (``responses_visible`` and
``interactions_visible``) and follow the anonymity rules: a touchpoint with fewer than k
respondents shows n only. Metrics are the metrics app's (``metrics.definitions.measure``):
nothing here re-implements NPS, CSAT or CES.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from opencem.accounts.selectors import Scope, unit_list
from opencem.core.errors import NotFound, invalid
from opencem.customers.selectors import interactions_visible
from opencem.feedback.selectors import feedback_visible, responses_visible
from opencem.journeys.models import Journey, Stage, Touchpoint
from opencem.journeys.schemas import MappingRule
from opencem.metrics.definitions import Measure, Metric, measure
from opencem.metrics.selectors import Comparison, Estimate, anonymity_k, target_range
from opencem.textanalytics.selectors import SentimentStat, ThemeStat, voices

DEFAULT_DAYS = 365


# --- journeys -------------------------------------------------------------------------------


def _ancestor_ids(scope: Scope) -> set[int]:
    """Ids of the scope's units and every unit above them."""
    found: set[int] = set()
    for path in unit_list(scope=scope).values_list("path", flat=True):
        found.update(int(part) for part in path.strip("/").split("/") if part)
    return found


def journeys_visible(*, scope: Scope) -> QuerySet[Journey]:
    """Journeys of the units the scope sees, and of the units above them (a store manager
    reads the company's journey, with figures from their store)."""
    qs = Journey.objects.select_related("unit").order_by("name", "id")
    if scope.unit_ids is None:
        return qs
    return qs.filter(Q(unit_id__in=scope.unit_ids) | Q(unit_id__in=_ancestor_ids(scope)))


def journey_get(*, scope: Scope, journey_id: int) -> Journey:
    """A journey the scope sees; one it cannot see is reported as missing."""
    journey = journeys_visible(scope=scope).filter(pk=journey_id).first()
    if journey is None:
        raise NotFound(f"No journey {journey_id}.")
    return journey


def stage_get(*, scope: Scope, stage_id: int) -> Stage:
    stage = Stage.objects.select_related("journey").filter(
        pk=stage_id, journey__in=journeys_visible(scope=scope)).first()
    if stage is None:
        raise NotFound(f"No stage {stage_id}.")
    return stage


def touchpoint_get(*, scope: Scope, touchpoint_id: int) -> Touchpoint:
    touchpoint = Touchpoint.objects.select_related("stage__journey", "owner_unit").filter(
        pk=touchpoint_id, stage__journey__in=journeys_visible(scope=scope)).first()
    if touchpoint is None:
        raise NotFound(f"No touchpoint {touchpoint_id}.")
    return touchpoint


def journey_stages(journey: Journey) -> list[Stage]:
    """The journey's stages in order, each with its touchpoints (and owner units) in order."""
    return list(journey.stages.order_by("position", "id").prefetch_related(
        Prefetch("touchpoints", queryset=Touchpoint.objects.select_related("owner_unit")
                 .order_by("position", "id"))))


def journey_document(journey: Journey) -> dict[str, Any]:
    """The journey as a JSON document (``schemas.JourneyDoc``), ready to import elsewhere."""
    return {
        "format": "opencem.journey/1", "name": journey.name, "unit": journey.unit.code,
        "persona": journey.persona, "segment_attribute": journey.segment_attribute,
        "segment_value": journey.segment_value, "description": journey.description,
        "stages": [{"name": stage.name, "touchpoints": [
            {"name": t.name, "channel": t.channel or None, "owner_unit": t.owner_unit.code,
             "rule": t.rule, "metric": t.metric, "target": t.target, "desired": t.desired,
             "importance": t.importance}
            for t in stage.touchpoints.all()]} for stage in journey_stages(journey)],
    }


# --- matching -------------------------------------------------------------------------------


def interaction_q(rule: MappingRule, prefix: str = "") -> Q:
    """The condition a mapping rule sets on interactions (``prefix`` reaches them through a
    relation, e.g. ``interaction__``)."""
    q = Q()
    if rule.kinds:
        q &= Q(**{f"{prefix}kind__in": rule.kinds})
    if rule.channels:
        q &= Q(**{f"{prefix}channel__in": [str(c) for c in rule.channels]})
    if rule.touchpoints:
        q &= Q(**{f"{prefix}touchpoint__in": rule.touchpoints})
    for key, value in rule.attributes.items():
        q &= Q(**{f"{prefix}attributes__{key}": value})
    return q


def voice_q(rule: MappingRule) -> Q:
    """The condition on responses (or feedback items) of a touchpoint: through the
    interaction they are about, or on their own touchpoint and channel when they are about
    none and the rule needs no interaction to tell."""
    q = Q(interaction__isnull=False) & interaction_q(rule, "interaction__")
    if not rule.interaction_only:
        q |= Q(interaction__isnull=True) & interaction_q(rule)
    return q


def _feedback_q(rule: MappingRule) -> Q:
    q = Q(response__isnull=False) & Q(response__interaction__isnull=False) & interaction_q(
        rule, "response__interaction__")
    if not rule.interaction_only:
        q |= Q(response__interaction__isnull=True) & interaction_q(rule)
    return q


def rule_of(touchpoint: Touchpoint) -> MappingRule:
    return MappingRule.model_validate(touchpoint.rule)


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The period figures are read for: ``start`` inclusive, ``end`` exclusive."""

    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()


def window_of(start: date | None = None, end: date | None = None) -> Window:
    """The days ``start``..``end`` (both included); by default the last 365 days."""
    last = end or timezone.localdate()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise invalid(("from",), "must not be after 'to'")
    zone = timezone.get_current_timezone()
    return Window(datetime.combine(first, time.min, zone).astimezone(UTC),
                  datetime.combine(last + timedelta(days=1), time.min, zone).astimezone(UTC))


@dataclass(frozen=True)
class TouchpointVoice:
    """What customers said at a touchpoint: its top themes and sentiment (text analytics)."""

    themes: Sequence[ThemeStat]
    sentiment: SentimentStat


def touchpoint_voices(*, feedback_ids: Sequence[QuerySet[Any]], k: int
                      ) -> list[TouchpointVoice | None]:
    """Top themes and sentiment of each touchpoint's feedback items (``feedback_ids`` selects
    them), in two queries for all; None where fewer than k items were analysed, since the
    words of so few could be told apart."""
    found = voices(groups=dict(enumerate(feedback_ids)), limit=5)
    return [TouchpointVoice(v.themes, v.sentiment) if v.sentiment.analysed >= max(k, 1)
            else None for v in (found[i] for i in range(len(feedback_ids)))]


@dataclass(frozen=True)
class TouchpointFigures:
    """One touchpoint's card: how often customers pass it, the score they give it against
    the desired one, and how much its shortfall weighs.

    ``gap`` is actual − target in the metric's units; ``significant`` says the target lies
    outside what the answers allow (the metrics app's test against a fixed target at 95%).
    ``score`` and ``desired_score`` put actual and target on one −100..100 scale (the
    bottom and top of the metric's range), so touchpoints measured differently can share a
    curve; ``shortfall`` is how far below target, in percent of that range.
    """

    touchpoint: Touchpoint
    stage_id: int
    volume: int
    actual: Estimate
    gap: float | None
    comparison: Comparison | None
    score: float | None
    desired_score: float
    shortfall: float
    priority: float
    voice: TouchpointVoice | None

    @property
    def significant(self) -> bool:
        return self.comparison is not None and self.comparison.significant

    @property
    def below_target(self) -> bool:
        return self.gap is not None and self.gap < 0

    @property
    def reach(self) -> int:
        """Customers passing the touchpoint: its interactions, or its respondents where it
        has no interactions of its own (a relationship survey)."""
        return self.volume or self.actual.n


def _normalise(metric: str, value: float) -> float:
    bounds = target_range(metric)
    assert bounds is not None  # every journey metric has a range
    low, high = bounds
    return (value - low) / (high - low) * 200.0 - 100.0


def _organisation_id(journey: Journey) -> int:
    return int(journey.unit.path.strip("/").split("/")[0])


def _segment(journey: Journey, prefix: str) -> Q:
    if not journey.segment_attribute:
        return Q()
    return Q(**{f"{prefix}attributes__{journey.segment_attribute}": journey.segment_value})


def journey_figures(*, scope: Scope, journey: Journey, window: Window,
                    stages: list[Stage] | None = None) -> list[TouchpointFigures]:
    """The figures of every touchpoint of a journey in the window, in journey order.

    Four queries for the whole journey, whatever its size: interactions counted once per
    touchpoint in one pass (conditional counts), responses grouped by their NPS, CSAT and
    CES answers with one conditional count per touchpoint, and the comments' sentiment and
    themes the same way (``touchpoint_voices``).
    """
    stages = journey_stages(journey) if stages is None else stages
    touchpoints = [t for s in stages for t in s.touchpoints.all()]
    if not touchpoints:
        return []
    rules = [rule_of(t) for t in touchpoints]
    k = anonymity_k(_organisation_id(journey))
    interactions = interactions_visible(scope=scope).filter(
        occurred_at__gte=window.start, occurred_at__lt=window.end).filter(
        _segment(journey, "customer__"))
    volumes = interactions.aggregate(**{
        f"t{i}": Count("id", filter=interaction_q(rule)) for i, rule in enumerate(rules)})
    responses = responses_visible(scope=scope).filter(
        completed=True, submitted_at__gte=window.start, submitted_at__lt=window.end).filter(
        _segment(journey, "customer__"))
    any_rule = Q()
    for rule in rules:
        any_rule |= voice_q(rule)
    grouped = list(responses.filter(any_rule).values("nps", "csat", "ces").annotate(**{
        f"t{i}": Count("id", filter=voice_q(rule)) for i, rule in enumerate(rules)}))
    feedback = feedback_visible(scope=scope).filter(
        occurred_at__gte=window.start, occurred_at__lt=window.end)
    said = touchpoint_voices(feedback_ids=[feedback.filter(_feedback_q(rule)).values("id")
                                           for rule in rules], k=k)
    result = []
    for i, touchpoint in enumerate(touchpoints):
        the_measure = measure(Metric(touchpoint.metric))
        counts = _counts(the_measure, grouped, f"t{i}")
        actual = the_measure.estimate(counts, k)
        comparison = (the_measure.versus_target(counts, touchpoint.target, k)
                      if the_measure.versus_target and not actual.suppressed else None)
        gap = None if actual.value is None else actual.value - touchpoint.target
        score = None if actual.value is None else _normalise(touchpoint.metric, actual.value)
        desired = _normalise(touchpoint.metric, touchpoint.target)
        shortfall = 0.0 if score is None else max(0.0, (desired - score) / 2.0)
        volume = int(volumes[f"t{i}"])
        voice = said[i]
        reach = volume or actual.n
        result.append(TouchpointFigures(
            touchpoint=touchpoint, stage_id=touchpoint.stage_id, volume=volume,
            actual=actual, gap=gap, comparison=comparison, score=score,
            desired_score=desired, shortfall=shortfall,
            priority=touchpoint.importance * shortfall * reach, voice=voice))
    return result


def _counts(the_measure: Measure, grouped: list[dict[str, Any]], key: str) -> tuple[int, ...]:
    """The measure's bins summed from rows grouped by score."""
    assert the_measure.histogram is not None
    bins = the_measure.bin_of()
    counts = [0] * the_measure.width
    for row in grouped:
        score = row[the_measure.histogram]
        if score is not None and score in bins and row[key]:
            counts[bins[score]] += int(row[key])
    return tuple(counts)


# --- the map --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmotionPoint:
    """How a stage feels: the reach-weighted mean of its touchpoints' scores on −100..100,
    against the desired one. ``sentiment`` (−100..100) is the net sentiment of the stage's
    comments; ``emotion`` is the mean of the two (the measured score alone where no
    touchpoint has enough analysed comments)."""

    stage: str
    measured: float | None
    desired: float | None
    sentiment: float | None
    n: int

    @property
    def emotion(self) -> float | None:
        parts = [p for p in (self.measured, self.sentiment) if p is not None]
        return sum(parts) / len(parts) if parts else None


def _weighted(pairs: list[tuple[float, int]]) -> float | None:
    total = sum(w for _, w in pairs)
    if total == 0:
        return None
    return sum(v * w for v, w in pairs) / total


def emotion_curve(stages: list[Stage], figures: list[TouchpointFigures]) -> list[EmotionPoint]:
    """One point per stage, in order (see ``EmotionPoint``)."""
    by_stage: dict[int, list[TouchpointFigures]] = {}
    for f in figures:
        by_stage.setdefault(f.stage_id, []).append(f)
    points = []
    for stage in stages:
        cards = by_stage.get(stage.pk, [])
        measured = _weighted([(f.score, f.actual.n) for f in cards if f.score is not None])
        desired = _weighted([(f.desired_score, max(f.reach, 1)) for f in cards])
        sentiments = [(f.voice.sentiment.net, max(f.reach, 1)) for f in cards
                      if f.voice is not None and f.voice.sentiment.net is not None]
        points.append(EmotionPoint(stage=stage.name, measured=measured, desired=desired,
                                   sentiment=_weighted(sentiments),
                                   n=sum(f.actual.n for f in cards)))
    return points


def gap_ranking(figures: list[TouchpointFigures]) -> list[TouchpointFigures]:
    """Touchpoints below target, the heaviest first: importance × shortfall × reach.

    Shortfall is in percent of the metric's range, so a touchpoint measured in NPS and one in
    CES weigh alike; reach is how many customers pass it in the window.
    """
    below = [f for f in figures if f.priority > 0]
    return sorted(below, key=lambda f: (-f.priority, f.touchpoint.pk))
