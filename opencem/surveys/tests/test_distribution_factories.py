"""Builders shared by the distribution tests (no tests here)."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Any

from django.utils import timezone

from opencem.accounts.selectors import scope_for_user
from opencem.customers.services import CustomerInput, InteractionInput, interactions_ingest
from opencem.surveys import distribution
from opencem.surveys.models import Survey
from opencem.surveys.selectors import survey_get
from opencem.surveys.services import survey_create, survey_publish
from opencem.surveys.templates_library import TEMPLATES

SYSTEM = distribution.SYSTEM_SCOPE
_ids = itertools.count(1)
LINK_RE = re.compile(r"/s/([A-Za-z0-9_-]+)")


def make_survey(*, unit: Any, name: str = "Store CSAT", template: str = "transactional_csat",
                publish: bool = True) -> Survey:
    survey = survey_create(name=name, unit=unit, definition=TEMPLATES[template], scope=SYSTEM,
                           actor=None)
    if publish:
        survey_publish(survey=survey, scope=SYSTEM, actor=None)
    return survey_get(scope=SYSTEM, survey_id=survey.pk)


def ingest(*, email: str | None = "ann@example.com", phone: str | None = None,
           unit: str = "STORE-A", kind: str = "purchase", channel: str = "store",
           occurred_at: datetime | None = None, attributes: dict[str, Any] | None = None,
           customer_attributes: dict[str, Any] | None = None, name: str | None = None,
           persona: Any = None) -> Any:
    """Store one interaction (as the admin, unless a persona is given) and return it."""
    pairs = tuple((k, v) for k, v in (("email", email), ("phone", phone)) if v)
    customer = CustomerInput(identities=pairs, name=name,
                             attributes=customer_attributes) if pairs else None
    scope = SYSTEM if persona is None else scope_for_user(persona.user)
    (result,) = interactions_ingest(items=[InteractionInput(
        source="pos", external_id=f"T-{next(_ids)}", channel=channel, kind=kind,
        occurred_at=occurred_at or timezone.now(), unit=unit, customer=customer,
        attributes=attributes or {})], scope=scope)
    return result.interaction


def make_trigger(survey: Survey, **fields: Any) -> Any:
    data = distribution.TriggerInput(**{"name": "After a purchase", **fields})
    return distribution.trigger_create(survey=survey, data=data, scope=SYSTEM, actor=None)


def make_rule(**fields: Any) -> Any:
    return distribution.contact_rule_create(data=distribution.ContactRuleInput(**fields),
                                            scope=SYSTEM)


def token_in(text: str) -> str:
    found = LINK_RE.search(text)
    assert found, text
    return found.group(1)
