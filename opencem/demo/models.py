"""A record of each demo load, so that a second run knows what is there."""

from __future__ import annotations

from django.db import models


class DemoLoad(models.Model):
    """What ``opencem demo`` loaded. ``finished_at`` stays empty until the last batch is in,
    so a load that was interrupted is finished by the next run rather than mistaken for done.
    """

    size = models.CharField(max_length=20)
    seed = models.BigIntegerField()
    until = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    interactions = models.PositiveIntegerField(default=0)
    responses = models.PositiveIntegerField(default=0)
    feedback = models.PositiveIntegerField(default=0, help_text="Items other than survey "
                                                                "comments: reviews, posts, ...")

    def __str__(self) -> str:
        return f"{self.size} demo, seed {self.seed}, until {self.until}"
