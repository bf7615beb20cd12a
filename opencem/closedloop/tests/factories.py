"""Builders shared by the closed-loop tests (no tests here)."""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from opencem.accounts.selectors import WHOLE_ORGANISATION
from opencem.closedloop.mailer import notifications_send_due
from opencem.closedloop.rules import RuleInput, alert_rule_create
from opencem.core.relay import outbox_drain
from opencem.surveys.selectors import survey_get
from opencem.surveys.services import survey_create, survey_publish
from opencem.surveys.templates_library import TEMPLATES

_ids = itertools.count(1)
DETRACTOR = {"match": "all", "conditions": [{"field": "nps", "op": "lte", "value": 6}]}


def make_survey(*, unit: Any, name: str = "Relationship NPS",
                template: str = "relational_nps") -> Any:
    survey = survey_create(name=name, unit=unit, definition=TEMPLATES[template],
                           scope=WHOLE_ORGANISATION, actor=None)
    survey_publish(survey=survey, scope=WHOLE_ORGANISATION, actor=None)
    return survey_get(scope=WHOLE_ORGANISATION, survey_id=survey.pk)


def make_rule(*, unit: Any, conditions: Any = None, actions: tuple[str, ...] = ("case", "email"),
              **fields: Any) -> Any:
    data = RuleInput(name=fields.pop("name", "Detractors"), unit=unit,
                     conditions=conditions or DETRACTOR, actions=list(actions), **fields)
    return alert_rule_create(data=data, scope=WHOLE_ORGANISATION, actor=None)


def respond(api: Any, survey_id: int, *, nps: int, reason: str = "", unit: str = "STORE-A",
            email: str = "ann@example.com", **extra: Any) -> dict[str, Any]:
    """Post a completed response through the API and return its body."""
    answers: dict[str, Any] = {"nps": nps}
    if reason:
        answers["reason"] = reason
    body = {"survey": survey_id, "answers": answers, "unit": unit,
            "customer": {"email": email, "name": email.split("@", maxsplit=1)[0]},
            "external_id": f"R-{next(_ids)}", "submitted_at": timezone.now().isoformat(),
            **extra}
    answer = api.post_json("/api/v1/responses", body)
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def relay() -> int:
    """Hand the committed events to their consumers and send the mails they queued, as the
    worker would once woken (these tests run inside one transaction: nothing commits)."""
    settled = outbox_drain()
    notifications_send_due()
    return settled

