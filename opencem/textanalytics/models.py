"""What text analytics stores: one analysis per feedback item, its theme mentions, and the
editable taxonomy (category > theme) the mentions point at."""

from __future__ import annotations

from django.db import models

from opencem.textanalytics.choices import MatchMethod, ProposalStatus, Sentiment


class Category(models.Model):
    """The upper level of the taxonomy (Delivery, Staff, ...)."""

    code = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.label


class Theme(models.Model):
    """A theme of the taxonomy with its rules: ``phrases`` that mark it (a trailing ``*``
    matches any ending) and ``exclusions`` that veto it in a sentence. Semantic matching
    compares sentences with the label and the phrases."""

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="themes")
    code = models.CharField(max_length=80, unique=True)
    label = models.CharField(max_length=120)
    phrases = models.JSONField(default=list, blank=True)
    exclusions = models.JSONField(default=list, blank=True)
    semantic = models.BooleanField(default=True, help_text="Also match by meaning.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__position", "category__label", "label"]

    def __str__(self) -> str:
        return f"{self.category.label} › {self.label}"


class Analysis(models.Model):
    """What the pipeline found in one feedback item. ``stale`` marks it for re-analysis (after
    a taxonomy or model change); the batch task picks up stale and missing analyses alike.
    ``sentences`` holds ``[start, end, sentiment, score]`` spans into the item's redacted text.
    """

    feedback = models.OneToOneField("feedback.FeedbackItem", on_delete=models.CASCADE,
                                    related_name="analysis")
    language = models.CharField(max_length=10, blank=True, default="")
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices)
    score = models.FloatField(help_text="-1 (negative) .. 1 (positive)")
    emotions = models.JSONField(default=list, blank=True)
    effort = models.JSONField(default=list, blank=True)
    pillars = models.JSONField(default=list, blank=True)
    pii = models.JSONField(default=list, blank=True, help_text="Kinds of PII redacted.")
    sentences = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64)
    stale = models.BooleanField(default=False)
    analysed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "analyses"
        indexes = [models.Index(fields=["stale"], name="analysis_stale",
                                condition=models.Q(stale=True)),
                   models.Index(fields=["sentiment"], name="analysis_by_sentiment")]

    def __str__(self) -> str:
        return f"analysis of {self.feedback_id}"


class ThemeMention(models.Model):
    """A theme in one sentence of a feedback item, with that sentence's span (in the redacted
    text) and sentiment."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="mentions")
    feedback = models.ForeignKey("feedback.FeedbackItem", on_delete=models.CASCADE,
                                 related_name="+")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="mentions")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices)
    score = models.FloatField()
    method = models.CharField(max_length=10, choices=MatchMethod.choices)

    class Meta:
        indexes = [models.Index(fields=["theme", "feedback"], name="mention_by_theme")]

    def __str__(self) -> str:
        return f"{self.theme_id} in {self.feedback_id}"


class ThemeProposal(models.Model):
    """A theme proposed by discovery from comments no theme covers, for an analyst to accept
    (under a category, possibly renamed) or reject."""

    label = models.CharField(max_length=120)
    keywords = models.JSONField(default=list)
    examples = models.JSONField(default=list, help_text="Ids of example feedback items.")
    size = models.PositiveIntegerField(help_text="Uncovered comments in the cluster.")
    status = models.CharField(max_length=10, choices=ProposalStatus.choices,
                              default=ProposalStatus.PROPOSED)
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-size", "id"]

    def __str__(self) -> str:
        return self.label


class EmergingTheme(models.Model):
    """A theme found emerging in one week (its share of comments rose significantly), kept
    so that the ``theme.emerging`` event goes out once per theme and week."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday of the week it was found in.")
    mentions = models.PositiveIntegerField()
    share = models.FloatField(help_text="% of the last seven days' comments")
    baseline_share = models.FloatField(help_text="% of the 28 days before")
    p_value = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["theme", "week"],
                                               name="emerging_once_a_week")]
        ordering = ["-week", "p_value"]

    def __str__(self) -> str:
        return f"{self.theme_id} emerging {self.week}"
