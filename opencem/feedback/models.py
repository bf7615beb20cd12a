"""Survey responses and every other piece of customer voice, as one stream."""

from __future__ import annotations

from django.db import models

from opencem.customers.choices import Channel
from opencem.feedback.choices import FeedbackKind


class Response(models.Model):
    """One respondent's answers to one exact survey version.

    NPS, CSAT and CES are copied into plain columns so analytics never parse the answers.
    ``(source, external_id)`` is unique when an external id is given, so history imported
    twice is stored once.
    """

    # The survey, customer and unit are looked up through the indexes of Meta, which lead with
    # them: an index of their own would only cost every response one more index write.
    survey = models.ForeignKey("surveys.Survey", on_delete=models.PROTECT, related_name="+",
                               db_index=False)
    survey_version = models.ForeignKey("surveys.SurveyVersion", on_delete=models.PROTECT,
                                       related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+", db_index=False)
    interaction = models.ForeignKey("customers.Interaction", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    touchpoint = models.CharField(max_length=64, blank=True, default="")
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, default="")
    language = models.CharField(max_length=10, blank=True, default="")
    answers = models.JSONField(default=dict)
    nps = models.SmallIntegerField(null=True, blank=True)
    csat = models.SmallIntegerField(null=True, blank=True)
    ces = models.SmallIntegerField(null=True, blank=True)
    completed = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=64, default="api")
    external_id = models.CharField(max_length=200, blank=True, default="")
    respondent_key = models.CharField(
        max_length=64, blank=True, default="",
        help_text="Keyed hash of an anonymous respondent's browser, to flag repeats.")
    flags = models.JSONField(default=list, blank=True,
                             help_text='Quality flags such as "repeat" or "honeypot".')
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    condition=~models.Q(external_id=""),
                                    name="response_source_external_id"),
        ]
        indexes = [
            models.Index(fields=["unit", "submitted_at"], name="response_by_unit"),
            models.Index(fields=["survey", "submitted_at"], name="response_by_survey"),
            models.Index(fields=["customer", "submitted_at"], name="response_by_customer"),
            # The repeat check of every anonymous submission looks up its respondent's last
            # day; without this it would read every response the survey had that day. The
            # key leads: see ``answered_recently_filter``.
            models.Index(fields=["respondent_key", "submitted_at"],
                         name="response_by_respondent_key",
                         condition=~models.Q(respondent_key="")),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} to {self.survey_id}"


class FeedbackItem(models.Model):
    """A piece of customer voice: a survey comment, review, post, complaint or transcript.

    Survey free text lands here too (with ``response`` set), so text analytics and alerting
    read one stream whatever the channel.
    """

    kind = models.CharField(max_length=20, choices=FeedbackKind.choices)
    text = models.TextField()
    title = models.CharField(max_length=300, blank=True, default="")
    rating = models.SmallIntegerField(null=True, blank=True)
    rating_max = models.SmallIntegerField(null=True, blank=True)
    # Looked up through the indexes of Meta that lead with them (see Response).
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+", db_index=False)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    touchpoint = models.CharField(max_length=64, blank=True, default="")
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, default="")
    occurred_at = models.DateTimeField()
    language = models.CharField(max_length=10, blank=True, default="")
    redacted_text = models.TextField(blank=True, default="")
    response = models.ForeignKey(Response, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="feedback_items")
    question_id = models.CharField(max_length=40, blank=True, default="")
    author = models.CharField(max_length=200, blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    condition=~models.Q(external_id=""),
                                    name="feedback_source_external_id"),
        ]
        indexes = [
            models.Index(fields=["unit", "occurred_at"], name="feedback_by_unit"),
            models.Index(fields=["customer", "occurred_at"], name="feedback_by_customer"),
            models.Index(fields=["kind", "occurred_at"], name="feedback_by_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"
