"""What the dashboards keep of their own: managers' expected scores (the perception gap) and
each user's weekly digest (their choice, and which weeks were sent)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PerceptionEstimate(models.Model):
    """The score a person expects their unit to get from its customers on a metric in a month.

    Set against what customers said in that month, it shows the perception gap: how far the
    organisation's view of itself is from its customers' view. One estimate per person, unit,
    metric and month; recording again replaces it.
    """

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32)
    month = models.DateField(help_text="The first day of the month the estimate is about.")
    expected = models.FloatField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "metric", "month", "recorded_by"],
                                    name="perception_estimate_unique"),
        ]
        indexes = [models.Index(fields=["unit", "-month"], name="perception_by_unit")]

    def __str__(self) -> str:
        return f"{self.metric} {self.expected} expected for unit {self.unit_id} in {self.month}"


class DigestPreference(models.Model):
    """A user's choice about the weekly digest email (everyone gets it until they opt out)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+")
    weekly = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"weekly digest {'on' if self.weekly else 'off'} for user {self.user_id}"


class DigestSent(models.Model):
    """One user's weekly digest, handled: mailed, or passed over because their part of the
    organisation had nothing to report. The scheduler runs often; each week is handled once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday of the week the digest reports on.")
    mailed = models.BooleanField(default=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "week"], name="digest_sent_unique")]

    def __str__(self) -> str:
        return f"digest of {self.week} to user {self.user_id}"
