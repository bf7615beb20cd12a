"""Outbound webhook endpoints and the deliveries made to them (the delivery log)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class WebhookEndpoint(models.Model):
    """A URL that receives the events of ``topics``, signed per Standard Webhooks with
    ``secret`` (and, for a day after a rotation, with ``previous_secret`` too)."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=2000)
    topics = models.JSONField(default=list)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One event for one endpoint: sent until it succeeds, the endpoint answers 410, or
    the retries (at least 72 hours of them) run out."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    event_id = models.BigIntegerField()
    topic = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64, help_text="webhook-id: the same on every try")
    body = models.TextField(help_text="The exact JSON sent (and signed).")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"],
                                               name="delivery_once_per_event")]
        indexes = [models.Index(fields=["next_attempt_at"], name="delivery_due",
                                condition=models.Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.topic} -> {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    """One try of a delivery, as the delivery log shows it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    manual = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code}"
