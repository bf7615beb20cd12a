"""Rollups of responses, the anonymity threshold of each organisation, and metric targets.

Rollups hold counts, never metric values: counts of two groups add up to the counts of their
union, so a query sums rows across days, units, surveys and channels and only then turns the
sums into NPS, CSAT or CES (``scores``). Each row is one group of responses: one day (or one
month) in the organisation's time zone, one unit (the unit the response was recorded at, not
its subtree), one survey, one touchpoint, one channel.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

NPS_POINTS = range(11)
CSAT_POINTS = range(1, 6)
CES_POINTS = range(1, 8)

NPS_COLUMNS = tuple(f"nps_{p}" for p in NPS_POINTS)
CSAT_COLUMNS = tuple(f"csat_{p}" for p in CSAT_POINTS)
CES_COLUMNS = tuple(f"ces_{p}" for p in CES_POINTS)
# Every counter of a rollup row, in the order the rollup code reads and writes them.
COUNTER_COLUMNS = ("responses", "completed", *NPS_COLUMNS, *CSAT_COLUMNS, *CES_COLUMNS)
KEY_COLUMNS = ("date", "unit_id", "survey_id", "touchpoint", "channel")
UNIT_KEY_COLUMNS = ("date", "unit_id")


class RollupCounts(models.Model):
    """The key and the counters shared by every rollup.

    ``responses`` counts every response, finished or not; ``completed`` the finished ones.
    A response belongs to the day it was submitted, an unfinished one to the day it was
    started. ``nps_0`` … ``nps_10``, ``csat_1`` … ``csat_5`` and ``ces_1`` … ``ces_7`` count
    the completed responses that gave each score: the whole distribution, so every metric
    and its interval is exact.
    """

    date = models.DateField()
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    # Signed on purpose: a rollup that drifted below zero is reported by `rollups verify`
    # instead of making the response write that exposed it fail.
    responses = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    nps_0 = models.IntegerField(default=0)
    nps_1 = models.IntegerField(default=0)
    nps_2 = models.IntegerField(default=0)
    nps_3 = models.IntegerField(default=0)
    nps_4 = models.IntegerField(default=0)
    nps_5 = models.IntegerField(default=0)
    nps_6 = models.IntegerField(default=0)
    nps_7 = models.IntegerField(default=0)
    nps_8 = models.IntegerField(default=0)
    nps_9 = models.IntegerField(default=0)
    nps_10 = models.IntegerField(default=0)
    csat_1 = models.IntegerField(default=0)
    csat_2 = models.IntegerField(default=0)
    csat_3 = models.IntegerField(default=0)
    csat_4 = models.IntegerField(default=0)
    csat_5 = models.IntegerField(default=0)
    ces_1 = models.IntegerField(default=0)
    ces_2 = models.IntegerField(default=0)
    ces_3 = models.IntegerField(default=0)
    ces_4 = models.IntegerField(default=0)
    ces_5 = models.IntegerField(default=0)
    ces_6 = models.IntegerField(default=0)
    ces_7 = models.IntegerField(default=0)

    class Meta:
        abstract = True


class DetailedRollup(RollupCounts):
    """A rollup that also keeps survey, touchpoint and channel apart."""

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+")
    touchpoint = models.CharField(max_length=64, blank=True, default="")
    channel = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        abstract = True


class DailyRollup(DetailedRollup):
    """Counts of the responses of one day, unit, survey, touchpoint and channel."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["date", "unit", "survey", "touchpoint", "channel"],
                                    name="daily_rollup_key"),
        ]
        indexes = [models.Index(fields=["unit", "date"], name="daily_rollup_by_unit")]

    def __str__(self) -> str:
        return f"{self.date} unit {self.unit_id} survey {self.survey_id}"


class MonthlyRollup(DetailedRollup):
    """The daily rollup summed by calendar month (``date`` is the month's first day).

    Queries over whole months read this table, a thirtieth the size of the daily one, and
    the days at the edges of a range from the daily table.
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["date", "unit", "survey", "touchpoint", "channel"],
                                    name="monthly_rollup_key"),
        ]
        indexes = [models.Index(fields=["unit", "date"], name="monthly_rollup_by_unit")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m} unit {self.unit_id} survey {self.survey_id}"


class DailyUnitRollup(RollupCounts):
    """The daily rollup summed over surveys, touchpoints and channels: one row per unit a day.

    Most questions (a unit's trend, a league table of units) do not split by survey or
    channel; they read this table and its monthly twin, far smaller than the detailed ones
    when units answer several surveys through several channels.
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["date", "unit"], name="daily_unit_rollup_key"),
        ]

    def __str__(self) -> str:
        return f"{self.date} unit {self.unit_id}"


class MonthlyUnitRollup(RollupCounts):
    """The monthly rollup summed over surveys, touchpoints and channels."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["date", "unit"], name="monthly_unit_rollup_key"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m} unit {self.unit_id}"


class RatingRollup(models.Model):
    """How many completed responses gave ``score`` to the rating question ``question``.

    Rating questions have their own scales (0–100 at most), so their distribution is kept
    one row per score rather than one column per point.
    """

    date = models.DateField()
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+")
    touchpoint = models.CharField(max_length=64, blank=True, default="")
    channel = models.CharField(max_length=20, blank=True, default="")
    question = models.CharField(max_length=40)
    score = models.SmallIntegerField()
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["date", "unit", "survey", "touchpoint", "channel", "question", "score"],
                name="rating_rollup_key"),
        ]
        indexes = [models.Index(fields=["survey", "question", "date"],
                                name="rating_rollup_by_question")]

    def __str__(self) -> str:
        return f"{self.date} {self.survey_id}/{self.question}={self.score}: {self.count}"


class PendingRollup(DetailedRollup):
    """Counts written with a response and not yet added to the rollups.

    A survey submitted in one statement (``feedback.submission``) does not update the rollup
    rows that every submission of its survey shares, which would make concurrent submissions
    queue on their locks and cost each of them five upserts: it inserts its counts here, in
    the same statement as the response, and the outbox relay adds them to the rollups after
    every drain (``rollups.rollups_fold``), one upsert per rollup row for however many
    submissions. A row holds the key and counters of a daily rollup row and the rating counts
    of that key (``[[question, score, count], ...]``).
    """

    # No index on either: rows live for a fraction of a second and the table stays small.
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    ratings = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"pending {self.date} unit {self.unit_id} survey {self.survey_id}"


class OrganisationPolicy(models.Model):
    """Per organisation (a root unit): the anonymity threshold k its admins have chosen.

    It can only be raised above ``OPENCEM_ANONYMITY_K``, never lowered below it.
    """

    organisation = models.OneToOneField("accounts.Unit", on_delete=models.CASCADE,
                                        related_name="+")
    anonymity_k = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"k={self.anonymity_k} for unit {self.organisation_id}"


class MetricTarget(models.Model):
    """The value a unit aims for on a metric; its subtree inherits it unless it sets its own."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32)
    value = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "metric"], name="metric_target_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} target {self.value} for unit {self.unit_id}"
