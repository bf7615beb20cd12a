"""Shared base model and cross-cutting records (idempotency keys)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    """Adds creation and update times to every model that extends it."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an ``Idempotency-Key`` header, replayed to repeats.

    Stored in the same transaction as the write itself, so a repeat can never see the write
    without its answer or the answer without the write.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class OutboxEvent(models.Model):
    """A domain event (``response.completed``, ``case.created``, ...) written in the same
    transaction as the change it announces, so no event is lost and none describes a change
    that was rolled back. Workers deliver and mark them; the broker only wakes them up.
    """

    topic = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When a consumer failed: not before this time again (exponential backoff).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="outbox_pending",
                         condition=models.Q(dispatched_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class OutboxConsumption(models.Model):
    """The mark that a consumer has handled an event, committed in the same transaction as
    what the consumer wrote: a consumer never sees an event twice, and never loses one."""

    consumer = models.CharField(max_length=64)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="consumptions")
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "consumer"],
                                               name="outbox_consumed_once")]

    def __str__(self) -> str:
        return f"{self.consumer} <- {self.event_id}"
