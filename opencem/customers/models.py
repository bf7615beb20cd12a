"""Customers, how we recognise them, and every contact they had with the company."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opencem.core.models import TimeStampedModel
from opencem.customers.choices import Channel, IdentityKind


class Customer(TimeStampedModel):
    """One person (or account) across every channel.

    When two records turn out to be one person, the younger is merged into the older:
    it keeps its row with ``merged_into`` set, its identities and interactions move over,
    and a CustomerMerge row records what happened.
    """

    name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="absorbed")

    def __str__(self) -> str:
        return self.name or f"Customer {self.pk}"


class CustomerIdentity(models.Model):
    """A normalised key that recognises a customer (email, E.164 phone, CRM id, ...)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=IdentityKind.choices)
    value = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class CustomerUnit(models.Model):
    """A customer has had contact with a unit; this is what puts them in a manager's scope."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="unit_links")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "unit"], name="customer_unit_unique"),
        ]
        indexes = [models.Index(fields=["unit", "customer"], name="customer_unit_by_unit")]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.unit_id}"


class CustomerMerge(models.Model):
    """Audit of one merge: which record was absorbed into which, by whom and why."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges")
    absorbed = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.absorbed_id} -> {self.survivor_id}"


class Interaction(models.Model):
    """One contact through any channel: a visit, a call, an order, a delivery, a campaign.

    Purchases and refunds carry a ``value``. ``(source, external_id)`` is unique, so sending
    the same record twice from the same system never makes two.
    """

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="interactions")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    kind = models.CharField(max_length=50)
    occurred_at = models.DateTimeField()
    touchpoint = models.CharField(max_length=64, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    name="interaction_source_external_id"),
        ]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_by_customer"),
            models.Index(fields=["unit", "-occurred_at"], name="interaction_by_unit"),
            models.Index(fields=["-occurred_at"], name="interaction_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} via {self.channel} at {self.occurred_at:%Y-%m-%d}"
