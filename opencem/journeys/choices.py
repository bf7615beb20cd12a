from __future__ import annotations

from django.db import models


class JourneyMetric(models.TextChoices):
    """The metrics a touchpoint's desired experience may be stated in (all higher-is-better)."""

    NPS = "nps", "NPS"
    CSAT = "csat", "CSAT"
    NET_SATISFACTION = "net_satisfaction", "Net satisfaction"
    CES = "ces", "CES"
    CES_AGREE = "ces_agree", "CES % agree"
