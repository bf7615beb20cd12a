"""The organisation as a tree of units, who belongs where with which role, and API keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opencem.accounts.choices import Role, UnitKind
from opencem.core.models import TimeStampedModel


class Unit(TimeStampedModel):
    """A node of the organisation: company > region > store / team / channel.

    ``path`` is the materialised path of ids (``/1/4/17/``), so a subtree is one indexed
    prefix match. ``code`` is the stable name integrators use (``STORE-042``).
    """

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=UnitKind.choices, default=UnitKind.STORE)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    path = models.CharField(max_length=1000, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="owned_units")

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Membership(TimeStampedModel):
    """A user's role in a unit; it reaches the unit's whole subtree."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} @ {self.unit_id}"


class ApiKey(models.Model):
    """A bearer key that acts as its user. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
