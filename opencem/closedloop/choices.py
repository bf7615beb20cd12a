"""The fixed vocabularies of the closed loop."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    """What an alert rule does when it fires."""

    CASE = "case", "Create a case"
    EMAIL = "email", "Notify by email"
    WEBHOOK = "webhook", "Notify by webhook (alert.fired)"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING = "waiting", "Waiting on customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.WAITING)
# The SLA clock runs while the case is with us, not while we wait on the customer.
SLA_STATUSES = (CaseStatus.NEW, CaseStatus.IN_PROGRESS)
FINISHED_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CLOSED)


class CaseEventKind(models.TextChoices):
    CREATED = "created", "Opened"
    ASSIGNED = "assigned", "Assigned"
    STATUS = "status", "Status changed"
    PRIORITY = "priority", "Priority changed"
    NOTE = "note", "Note"
    MESSAGE = "message", "Message to the customer"
    ESCALATED = "escalated", "Escalated"
    FOLLOWUP_SENT = "followup_sent", "Follow-up sent"
    FOLLOWUP_ANSWERED = "followup_answered", "Follow-up answered"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationKind(models.TextChoices):
    ALERT = "alert", "Alert"
    ASSIGNED = "assigned", "Case assigned"
    ESCALATED = "escalated", "Case escalated"
    CUSTOMER = "customer", "Message to the customer"


class Topic(models.TextChoices):
    """The outbox events this app writes (and reads from others)."""

    ALERT_FIRED = "alert.fired"
    CASE_CREATED = "case.created"
    CASE_UPDATED = "case.updated"
    CASE_CLOSED = "case.closed"
