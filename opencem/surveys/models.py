"""Surveys and their versions. A published version never changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opencem.core.models import TimeStampedModel


class Survey(TimeStampedModel):
    """A programme's questionnaire (e.g. "Delivery CSAT"), owned by a unit."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    archived_at = models.DateTimeField(null=True, blank=True)
    anonymous_link = models.BooleanField(
        default=False, help_text="Anyone with /s/p/<slug> may answer (repeats are flagged).")

    def __str__(self) -> str:
        return self.name


class SurveyVersion(models.Model):
    """One version of a survey's definition; frozen from ``published_at`` on."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="survey_version_unique"),
        ]
        ordering = ["survey", "-number"]

    def __str__(self) -> str:
        return f"{self.survey_id} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class InvitationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    LINK = "link", "Personal link"


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    OPENED = "opened", "Opened"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    SUPPRESSED = "suppressed", "Suppressed"
    FAILED = "failed", "Failed"


class Invitation(models.Model):
    """One customer asked to answer one survey, reached by a single-use link.

    Only a SHA-256 of the link's token is stored. ``response`` is set once, under a row lock,
    so however many times the link is submitted at once, exactly one response is kept.
    A suppressed invitation is kept with its reason, so fatigue rules can be audited.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    interaction = models.ForeignKey("customers.Interaction", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=InvitationChannel.choices,
                               default=InvitationChannel.EMAIL)
    status = models.CharField(max_length=12, choices=InvitationStatus.choices,
                              default=InvitationStatus.SCHEDULED)
    suppressed_reason = models.CharField(max_length=300, blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=10, blank=True, default="")
    touchpoint = models.CharField(max_length=64, blank=True, default="")
    hidden = models.JSONField(default=dict, blank=True)
    email = models.EmailField(blank=True, default="", help_text="Where it was sent.")
    response = models.OneToOneField("feedback.Response", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    trigger = models.ForeignKey("surveys.Trigger", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="invitations")
    send_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            # One invitation per trigger per interaction: re-evaluating is harmless.
            models.UniqueConstraint(fields=["trigger", "interaction"],
                                    name="invitation_once_per_trigger_interaction"),
        ]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="invitation_by_customer"),
            models.Index(fields=["status", "scheduled_for"], name="invitation_due"),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} to {self.survey_id}"


# Distribution: who is asked, when, and how often. See the distribution package for the rules.

class Trigger(TimeStampedModel):
    """Invite a customer to a survey after an interaction that matches the filters.

    Empty filter lists match everything. ``unit_codes`` match their whole subtrees, and are
    codes rather than ids because codes are what integrators and designers name units by.
    Sampling is decided by a hash of the interaction id, so evaluating an interaction twice
    gives the same answer.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    kinds = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    unit_codes = models.JSONField(default=list, blank=True)
    delay_minutes = models.PositiveIntegerField(default=0)
    sample_percent = models.PositiveSmallIntegerField(default=100)
    touchpoint = models.CharField(max_length=64, blank=True, default="",
                                  help_text="Stamped on the invitation; the interaction's when "
                                            "empty.")
    hidden_fields = models.JSONField(
        default=dict, blank=True,
        help_text='Hidden field id -> "attributes.<key>", "unit", "channel", "kind", '
                  '"touchpoint" or "external_id" of the interaction.')
    valid_days = models.PositiveSmallIntegerField(default=30)
    reminder_after_days = models.PositiveSmallIntegerField(
        default=0, help_text="Remind non-responders after this many days; 0 never reminds.")
    max_reminders = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(sample_percent__lte=100),
                                   name="trigger_sample_percent_range"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactRule(TimeStampedModel):
    """A limit against survey fatigue, counted over every invitation a customer got.

    A rule with no survey and no segment is the global default; one with a survey, a segment
    (a customer attribute equal to a value) or both overrides it. The most specific rule that
    applies wins: survey and segment, then survey, then segment, then the default.
    """

    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="contact_rules")
    segment_attribute = models.CharField(max_length=64, blank=True, default="")
    segment_value = models.CharField(max_length=200, blank=True, default="")
    max_invitations = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this many invitations per period; none "
                                         "means no limit.")
    period_days = models.PositiveIntegerField(default=30)
    min_gap_days = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment_attribute", "segment_value"],
                condition=models.Q(survey__isnull=True), name="contact_rule_unique_global"),
            models.UniqueConstraint(
                fields=["survey", "segment_attribute", "segment_value"],
                condition=models.Q(survey__isnull=False), name="contact_rule_unique_survey"),
            models.CheckConstraint(condition=models.Q(period_days__gte=1),
                                   name="contact_rule_period_positive"),
        ]

    def __str__(self) -> str:
        return f"Contact rule {self.pk}"


class Unsubscribe(models.Model):
    """A customer asked not to be invited again: to one survey, or to any (``survey`` null)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE,
                                 related_name="+")
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    source = models.CharField(max_length=20, default="link")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(survey__isnull=True),
                                    name="unsubscribe_unique_all"),
            models.UniqueConstraint(fields=["customer", "survey"],
                                    condition=models.Q(survey__isnull=False),
                                    name="unsubscribe_unique_survey"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} from {self.survey_id or 'all'}"
