"""Kestrel Lane's feedback programmes: the three ready surveys, published, with the triggers
that invite customers after a visit, call, delivery or support contact, and the contact
rules that keep them from being asked too often.

Everything is made through the surveys services, as the analyst would in the builder; the
history in ``voice`` follows the same triggers and rules (``TRIGGERS``, ``RULES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction

from opencem.accounts.selectors import scope_for_user, unit_get_by_code
from opencem.core.errors import ApplicationError
from opencem.demo import company as co
from opencem.demo.voice import CES, CSAT, NPS, RULES, TRIGGERS
from opencem.surveys.distribution import (
    ContactRuleInput,
    TriggerInput,
    contact_rule_create,
    trigger_create,
)
from opencem.surveys.selectors import live_version, surveys_visible
from opencem.surveys.services import survey_create, survey_publish
from opencem.surveys.templates_library import TEMPLATES

if TYPE_CHECKING:
    from opencem.surveys.models import SurveyVersion


@dataclass(frozen=True)
class Programme:
    """A survey the demo runs: its template, name (whose slug finds it again) and owner."""

    template: str
    name: str
    slug: str
    unit: str


PROGRAMMES = (
    Programme(NPS, "Relationship NPS", "relationship-nps", co.COMPANY_CODE),
    Programme(CSAT, "Visit, call and delivery CSAT", "visit-call-and-delivery-csat",
              co.COMPANY_CODE),
    Programme(CES, "Support effort (CES)", "support-effort-ces", co.CALL_CENTRE),
)
DESIGNER = "analyst"  # the demo login who designs the programmes


def programmes_ensure(*, designer: User, live_since: datetime) -> dict[str, SurveyVersion]:
    """The live version of each programme's survey by template name, creating and publishing
    the surveys (with their triggers and the contact rules) when they are not there yet;
    published as of ``live_since``, the start of the history that answers them.

    One transaction: a load interrupted here finds either all of it or none of it.
    """
    scope = scope_for_user(designer)
    with transaction.atomic():
        found = {s.slug: s for s in surveys_visible(scope=scope).filter(
            slug__in=[p.slug for p in PROGRAMMES])}
        versions: dict[str, SurveyVersion] = {}
        made_any = False
        for programme in PROGRAMMES:
            survey = found.get(programme.slug)
            if survey is None:
                unit = unit_get_by_code(programme.unit)
                if unit is None:
                    raise ApplicationError(f"The demo unit {programme.unit} is missing.")
                survey = survey_create(name=programme.name, unit=unit,
                                       definition=TEMPLATES[programme.template], scope=scope,
                                       actor=designer)
                survey_publish(survey=survey, scope=scope, actor=designer,
                               published_at=live_since)
                for spec in (t for t in TRIGGERS if t.survey == programme.template):
                    trigger_create(survey=survey, scope=scope, actor=designer, data=TriggerInput(
                        name=spec.name, kinds=spec.kinds, channels=spec.channels,
                        delay_minutes=spec.delay_minutes, sample_percent=spec.sample_percent,
                        hidden_fields=dict(spec.hidden), reminder_after_days=3,
                        max_reminders=1))
                made_any = True
            version = live_version(survey)
            if version is None:
                raise ApplicationError(f"The demo survey {survey.name!r} has no live version.")
            versions[programme.template] = version
        if made_any:
            for rule in RULES:
                attribute, value = rule.segment or ("", "")
                contact_rule_create(scope=scope, data=ContactRuleInput(
                    segment_attribute=attribute, segment_value=value,
                    max_invitations=rule.max_invitations, period_days=rule.period_days,
                    min_gap_days=rule.min_gap_days))
    return versions
