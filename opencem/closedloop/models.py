"""Alert rules, the alerts they fire, cases with their timeline, and the mails they send."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opencem.closedloop.choices import (
    CaseEventKind,
    CaseStatus,
    NotificationKind,
    NotificationStatus,
    Priority,
)
from opencem.core.models import TimeStampedModel


class AlertRule(TimeStampedModel):
    """Conditions on a response or feedback item in ``unit``'s subtree, and what to do when
    they hold. ``conditions`` is a group validated by ``conditions.RuleConditions``; rules
    with text conditions (``needs_text``) wait for text analytics' ``feedback.analyzed``.
    A rule judges only what arrives after it was made."""

    name = models.CharField(max_length=200)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    conditions = models.JSONField()
    needs_text = models.BooleanField(default=False, editable=False)
    actions = models.JSONField(default=list, help_text="A list of closedloop.choices.Action.")
    priority = models.CharField(max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    sla_hours = models.PositiveIntegerField(default=48)
    team = models.ForeignKey("accounts.Unit", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+",
                             help_text="Round-robin among this unit's managers and agents "
                                       "instead of the owner of the customer's unit.")
    notify_emails = models.JSONField(default=list, blank=True,
                                     help_text="Also mail these addresses when it fires.")
    followup_survey = models.ForeignKey("surveys.Survey", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    last_assignee_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One rule firing on one response or feedback item (``subject``), at most once."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=40, help_text="response:<id> or feedback:<id>")
    event_id = models.BigIntegerField()
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    response = models.ForeignKey("feedback.Response", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    feedback = models.ForeignKey("feedback.FeedbackItem", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    facts = models.JSONField(default=dict)
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "subject"],
                                               name="alert_once_per_subject")]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.subject}"


class Case(TimeStampedModel):
    """An unhappy customer's matter, owned by one person until it is closed."""

    title = models.CharField(max_length=300)
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="cases")
    alert = models.OneToOneField(Alert, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="case")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    response = models.ForeignKey("feedback.Response", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="cases")
    status = models.CharField(max_length=12, choices=CaseStatus.choices,
                              default=CaseStatus.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    sla_hours = models.PositiveIntegerField(default=48)
    due_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_unit = models.ForeignKey("accounts.Unit", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    escalation_exhausted = models.BooleanField(default=False)
    root_cause = models.CharField(max_length=64, blank=True, default="")
    issue_resolved = models.BooleanField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    alert_nps = models.SmallIntegerField(null=True, blank=True,
                                         help_text="The NPS of the alerting response.")
    followup_survey = models.ForeignKey("surveys.Survey", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    followup_invitation_id = models.BigIntegerField(null=True, blank=True)
    followup_sent_at = models.DateTimeField(null=True, blank=True)
    followup_note = models.CharField(max_length=300, blank=True, default="")
    followup_response = models.ForeignKey("feedback.Response", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    followup_nps = models.SmallIntegerField(null=True, blank=True)
    recovered = models.BooleanField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"], name="case_status_due"),
                   models.Index(fields=["owner", "status"], name="case_owner_status"),
                   models.Index(fields=["customer", "followup_survey"],
                                name="case_followup")]

    def __str__(self) -> str:
        return f"Case {self.pk}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.WAITING)


class CaseEvent(models.Model):
    """One entry of a case's timeline: every change, note and message, with who did it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=CaseEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class Notification(models.Model):
    """A mail to send (the notification outbox): written with the change that asks for it,
    sent after that commits, retried by the sweeper."""

    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="notifications")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="notifications")
    to_email = models.EmailField()
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=NotificationStatus.choices,
                              default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["id"], name="notification_pending",
                                condition=models.Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email}"
