"""Ready survey definitions for the common programmes, each ending with the question that
makes scores useful: what is the main reason for your score?"""

from __future__ import annotations

from typing import Any

from opencem.surveys.definition import SurveyDefinition

REASON = {"en": "What is the main reason for your score?",
          "de": "Was ist der wichtigste Grund für Ihre Bewertung?",
          "fr": "Quelle est la principale raison de votre note ?"}


def _reason(required: bool = False) -> dict[str, Any]:
    return {"id": "reason", "type": "long_text", "text": REASON, "required": required,
            "max_length": 2000}


def _hidden(*names: str) -> list[dict[str, Any]]:
    return [{"id": name, "type": "hidden"} for name in names]


TEMPLATES: dict[str, dict[str, Any]] = {
    "relational_nps": {
        "title": {"en": "Your experience with us", "de": "Ihre Erfahrung mit uns"},
        "intro": {"en": "Two minutes, three questions. Thank you for helping us improve."},
        "thank_you": {"en": "Thank you! We read every answer."},
        "questions": [
            {"id": "nps", "type": "nps", "required": True,
             "text": {"en": "How likely are you to recommend us to a friend or colleague?",
                      "de": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?"},
             "low_label": {"en": "Not at all likely"},
             "high_label": {"en": "Extremely likely"}},
            _reason(),
            {"id": "improve", "type": "multiple_choice", "allow_other": True, "randomize": True,
             "text": {"en": "What should we improve first?"},
             "show_if": {"conditions": [{"question": "nps", "op": "lte", "value": 8}]},
             "choices": [{"id": "price", "label": {"en": "Prices"}},
                         {"id": "range", "label": {"en": "Product range"}},
                         {"id": "staff", "label": {"en": "Staff and service"}},
                         {"id": "delivery", "label": {"en": "Delivery"}},
                         {"id": "website", "label": {"en": "Website and app"}}]},
            {"id": "contact_ok", "type": "consent",
             "text": {"en": "You may contact me about my answers."}},
            *_hidden("store", "channel"),
        ],
    },
    "transactional_csat": {
        "title": {"en": "How did we do today?"},
        "thank_you": {"en": "Thank you for your feedback."},
        "questions": [
            {"id": "csat", "type": "csat", "style": "stars", "required": True,
             "text": {"en": "How satisfied were you with your {{hidden.touchpoint}} today?"},
             "low_label": {"en": "Very dissatisfied"}, "high_label": {"en": "Very satisfied"}},
            _reason(),
            *_hidden("touchpoint", "store", "order_id"),
        ],
    },
    "support_ces": {
        "title": {"en": "Your contact with our support team"},
        "thank_you": {"en": "Thank you. If something is still open, we will be in touch."},
        "questions": [
            {"id": "ces", "type": "ces", "required": True,
             "text": {"en": "The company made it easy for me to handle my issue."},
             "low_label": {"en": "Strongly disagree"}, "high_label": {"en": "Strongly agree"}},
            {"id": "resolved", "type": "single_choice", "required": True,
             "text": {"en": "Is your issue resolved?"},
             "choices": [{"id": "yes", "label": {"en": "Yes"}},
                         {"id": "partly", "label": {"en": "Partly"}},
                         {"id": "no", "label": {"en": "No"}}]},
            _reason(),
            *_hidden("case_id", "agent"),
        ],
    },
}


def template_definition(name: str) -> SurveyDefinition:
    """A fresh definition built from the named template (KeyError if there is none)."""
    return SurveyDefinition.model_validate(TEMPLATES[name])


TEMPLATE_LABELS: dict[str, str] = {
    "relational_nps": "Relational NPS: how likely to recommend us, and why",
    "transactional_csat": "Transactional CSAT: how satisfied with today's visit or order",
    "support_ces": "Support CES: how easy it was to get an issue handled",
}
"""The ready templates as the builder offers them."""
