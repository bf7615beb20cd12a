"""Journeys, their ordered stages and touchpoints, and the cache of customers' actual paths."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from opencem.core.models import TimeStampedModel
from opencem.customers.choices import Channel
from opencem.journeys.choices import JourneyMetric


class Journey(TimeStampedModel):
    """The lifecycle as one persona or segment lives it, owned by a unit.

    Those who see the unit (or a unit below it) read the journey, with figures from their
    own part of the organisation; the unit's admins and analysts design it. ``segment_*``
    optionally limits the customers it describes to those with one attribute value.
    """

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    persona = models.CharField(max_length=200, blank=True, default="")
    segment_attribute = models.CharField(max_length=100, blank=True, default="")
    segment_value = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="journey_unit_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One step of a journey (discover, buy, receive …); ``position`` orders them."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Touchpoint(models.Model):
    """A moment in a stage where the customer meets the company.

    ``rule`` (a ``schemas.MappingRule``) says which interactions, responses and feedback
    belong to it; ``metric``, ``target`` and ``desired`` state the experience the company
    means to deliver there; ``importance`` weighs its shortfall in the gap ranking.
    """

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="touchpoints")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, default="")
    owner_unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    rule = models.JSONField(default=dict)
    metric = models.CharField(max_length=20, choices=JourneyMetric.choices,
                              default=JourneyMetric.CSAT)
    target = models.FloatField()
    desired = models.CharField(max_length=300, blank=True, default="")
    importance = models.FloatField(default=1.0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class PathStep(models.Model):
    """One step of a customer's actual path through a journey: an interaction mapped to a
    touchpoint. Kept by ``paths.paths_refresh`` from the interactions stored since the last
    refresh, so path analytics read this table instead of matching every interaction again.
    """

    # A cache written a million rows at a time: no foreign-key checks in the database and no
    # index of their own (the ORM still deletes the steps of a deleted journey or
    # touchpoint; the indexes below lead with the journey).
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+",
                                db_constraint=False, db_index=False)
    customer_id = models.BigIntegerField()
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="+",
                                   db_constraint=False, db_index=False)
    unit_id = models.BigIntegerField()
    interaction_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "interaction_id"],
                                    name="path_step_interaction"),
        ]
        indexes = [
            models.Index(fields=["journey", "customer_id", "occurred_at"],
                         name="path_step_by_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.touchpoint_id}"


class PathWalk(models.Model):
    """A customer's whole path through a journey, summarised from their ``PathStep`` rows
    (PostgreSQL only): kept by ``path_walks`` in the same transaction as the steps, so a
    report counts the customers whose every step lies in its window and scope from these
    rows, one per customer, instead of ordering all their steps again.

    ``walk`` and ``walk_at`` are the touchpoints in time order with repeats collapsed (the
    first of each run); ``tallies`` numbers what the walk adds to the counts by touchpoint
    (each time between two touchpoints, each touchpoint reached, the last one; see
    ``path_walks``).
    """

    # The same cache as PathStep: rebuilt from the steps, so no foreign-key checks.
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+",
                                db_constraint=False, db_index=False)
    customer_id = models.BigIntegerField()
    steps = models.PositiveIntegerField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    units = ArrayField(models.BigIntegerField())
    walk = ArrayField(models.BigIntegerField())
    walk_at = ArrayField(models.DateTimeField())
    tallies = ArrayField(models.BigIntegerField())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "customer_id"], name="path_walk_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.walk}"


class PathState(models.Model):
    """How far ``PathStep`` is kept for a journey: the last interaction id read, and a
    fingerprint of the rules it was built with (a remap rebuilds the steps); the touchpoint
    ids in journey order as of that build number the touchpoints in ``PathWalk.tallies``."""

    journey = models.OneToOneField(Journey, on_delete=models.CASCADE, related_name="+")
    last_interaction_id = models.BigIntegerField(default=0)
    rules_fingerprint = models.CharField(max_length=64, blank=True, default="")
    touchpoint_ids = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.journey_id} up to {self.last_interaction_id}"
