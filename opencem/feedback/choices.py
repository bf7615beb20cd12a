from __future__ import annotations

from django.db import models


class FeedbackKind(models.TextChoices):
    SURVEY = "survey", "Survey comment"
    REVIEW = "review", "Review"
    SOCIAL = "social", "Social post"
    COMPLAINT = "complaint", "Complaint"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat transcript"
    CALL = "call", "Call transcript"
    WEB_COMMENT = "web_comment", "Web comment"
    OTHER = "other", "Other"


class Topic(models.TextChoices):
    """Events this app writes to the outbox."""

    RESPONSE_CREATED = "response.created"
    RESPONSE_COMPLETED = "response.completed"
    FEEDBACK_CREATED = "feedback.created"
