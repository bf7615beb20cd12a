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


class ScoreBand(models.TextChoices):
    """Bands of the metric columns a response list can be narrowed to (see DESIGN's
    definitions: promoters 9–10, satisfied 4–5, "made it easy" agreed 5–7)."""

    NPS_PROMOTER = "nps_promoter", "NPS promoters (9–10)"
    NPS_PASSIVE = "nps_passive", "NPS passives (7–8)"
    NPS_DETRACTOR = "nps_detractor", "NPS detractors (0–6)"
    CSAT_SATISFIED = "csat_satisfied", "CSAT satisfied (4–5)"
    CSAT_NEUTRAL = "csat_neutral", "CSAT neutral (3)"
    CSAT_DISSATISFIED = "csat_dissatisfied", "CSAT dissatisfied (1–2)"
    CES_EASY = "ces_easy", "CES easy (5–7)"
    CES_NEUTRAL = "ces_neutral", "CES neutral (4)"
    CES_DIFFICULT = "ces_difficult", "CES difficult (1–3)"


# The metric column and inclusive score range of each band.
BAND_RANGES: dict[str, tuple[str, int, int]] = {
    ScoreBand.NPS_PROMOTER: ("nps", 9, 10),
    ScoreBand.NPS_PASSIVE: ("nps", 7, 8),
    ScoreBand.NPS_DETRACTOR: ("nps", 0, 6),
    ScoreBand.CSAT_SATISFIED: ("csat", 4, 5),
    ScoreBand.CSAT_NEUTRAL: ("csat", 3, 3),
    ScoreBand.CSAT_DISSATISFIED: ("csat", 1, 2),
    ScoreBand.CES_EASY: ("ces", 5, 7),
    ScoreBand.CES_NEUTRAL: ("ces", 4, 4),
    ScoreBand.CES_DIFFICULT: ("ces", 1, 3),
}
