"""Fixed vocabularies of text analytics."""

from __future__ import annotations

from django.db import models

from opencem.textanalytics.nlp.signals import (
    EFFORT,
    EFFORT_LABELS,
    EMOTIONS,
    PILLAR_LABELS,
    PILLARS,
)


class Sentiment(models.TextChoices):
    """Overall or per-sentence sentiment."""

    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"


class MatchMethod(models.TextChoices):
    """How a theme was found in a sentence."""

    RULE = "rule", "Phrase rule"
    SEMANTIC = "semantic", "Semantic match"


class ProposalStatus(models.TextChoices):
    """Where a discovered theme proposal stands."""

    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


EMOTION_CHOICES = [(e, e.capitalize()) for e in EMOTIONS]
EFFORT_CHOICES = [(e, EFFORT_LABELS[e]) for e in EFFORT]
PILLAR_CHOICES = [(p, PILLAR_LABELS[p]) for p in PILLARS]
