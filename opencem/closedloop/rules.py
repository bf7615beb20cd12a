"""Alert rules: made, changed and removed by designers of their unit, previewed over the last
30 days before they are saved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from pydantic import ValidationError

from opencem.accounts.selectors import Scope, units_by_code
from opencem.closedloop import conditions
from opencem.closedloop.choices import Action, Priority
from opencem.closedloop.facts import recent_facts
from opencem.closedloop.models import AlertRule
from opencem.core.errors import (
    NotFound,
    PermissionDenied,
    from_validation,
    invalid,
)
from opencem.surveys.selectors import live_version, surveys_visible

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from opencem.accounts.models import Unit

PREVIEW_DAYS = 30
PREVIEW_LIMIT = 50_000
MAX_EMAILS = 20


@dataclass(frozen=True)
class RuleInput:
    """What a designer sets on a rule."""

    name: str
    unit: Unit
    conditions: Any
    actions: list[str]
    priority: str = Priority.NORMAL
    sla_hours: int = 48
    team: Unit | None = None
    notify_emails: list[str] = field(default_factory=list)
    followup_survey_id: int | None = None
    active: bool = True


def parse_conditions(data: Any, loc: tuple[str | int, ...] = ("conditions",)
                     ) -> conditions.Group:
    """The conditions as a group, or a 422 naming the part that is wrong."""
    try:
        group = conditions.parse(data)
    except ValidationError as exc:
        raise from_validation(exc, loc, drop_value_error_prefix=True) from exc
    unknown = conditions.unit_codes(group) - set(units_by_code(conditions.unit_codes(group)))
    if unknown:
        raise invalid(loc, f"unknown unit codes: {', '.join(sorted(unknown))}")
    return group


def _check(data: RuleInput, scope: Scope) -> tuple[conditions.Group, Any]:
    if not scope.designs_unit(data.unit.pk):
        raise PermissionDenied(f"alert rules for {data.unit.code!r} are set by its admins and "
                               "analysts", loc=["unit"])
    if not data.name.strip() or len(data.name) > 200:
        raise invalid(["name"], "give a name of at most 200 characters")
    group = parse_conditions(data.conditions)
    if not data.actions or any(a not in Action.values for a in data.actions):
        raise invalid(["actions"], f"choose one or more of {', '.join(Action.values)}")
    if data.priority not in Priority.values:
        raise invalid(["priority"], f"one of {', '.join(Priority.values)}")
    if not 1 <= data.sla_hours <= 24 * 90:
        raise invalid(["sla_hours"], "must be between 1 and 2160 hours")
    if data.team is not None and not scope.sees_unit(data.team.pk):
        raise invalid(["team"], f"no unit {data.team.code!r} in your scope")
    if len(data.notify_emails) > MAX_EMAILS or any(
            "@" not in e or len(e) > 254 or any(c.isspace() for c in e)
            for e in data.notify_emails):
        raise invalid(["notify_emails"], f"at most {MAX_EMAILS} email addresses")
    survey = None
    if data.followup_survey_id is not None:
        survey = surveys_visible(scope=scope).filter(pk=data.followup_survey_id).first()
        if survey is None:
            raise invalid(["followup_survey"], "no such survey in your scope")
        if live_version(survey) is None:
            raise invalid(["followup_survey"], "publish the follow-up survey first")
    return group, survey


def _apply(rule: AlertRule, data: RuleInput, group: conditions.Group, survey: Any) -> None:
    rule.name = data.name.strip()
    rule.unit = data.unit
    rule.conditions = group.model_dump(mode="json")
    rule.needs_text = conditions.needs_text(group)
    rule.actions = list(dict.fromkeys(data.actions))
    rule.priority = data.priority
    rule.sla_hours = data.sla_hours
    rule.team = data.team
    rule.notify_emails = [e.strip() for e in data.notify_emails]
    rule.followup_survey = survey
    rule.active = data.active


def alert_rule_create(*, data: RuleInput, scope: Scope, actor: User | None) -> AlertRule:
    """Make a rule; it judges what arrives from now on."""
    group, survey = _check(data, scope)
    rule = AlertRule(created_by=actor)
    _apply(rule, data, group, survey)
    rule.save()
    return rule


def alert_rule_update(*, rule: AlertRule, data: RuleInput, scope: Scope) -> AlertRule:
    """Change a rule (both its old and its new unit must be the designer's)."""
    if not scope.designs_unit(rule.unit_id):
        raise PermissionDenied("this rule is changed by the admins and analysts of its unit")
    group, survey = _check(data, scope)
    with transaction.atomic():
        _apply(rule, data, group, survey)
        rule.save()
    return rule


def alert_rule_delete(*, rule: AlertRule, scope: Scope) -> None:
    """Remove a rule; its alerts go with it, its cases stay."""
    if not scope.designs_unit(rule.unit_id):
        raise PermissionDenied("this rule is removed by the admins and analysts of its unit")
    rule.delete()


def alert_rules_visible(*, scope: Scope) -> QuerySet[AlertRule]:
    qs = AlertRule.objects.select_related("unit", "team", "followup_survey")
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


def alert_rule_get(*, scope: Scope, rule_id: int) -> AlertRule:
    rule = alert_rules_visible(scope=scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("No such alert rule.")
    return rule


@dataclass(frozen=True)
class Preview:
    """How often a rule would have fired over the last ``days`` days."""

    days: int
    judged: int
    fired: int
    responses: int
    feedback: int
    needs_text: bool
    examples: list[str]

    @property
    def per_day(self) -> float:
        return round(self.fired / self.days, 1)


def alert_rule_preview(*, unit: Unit, conditions_data: Any, scope: Scope) -> Preview:
    """Judge the conditions against the responses and feedback of ``unit``'s subtree over the
    last 30 days (the most recent ``PREVIEW_LIMIT`` of each), storing nothing. Text
    conditions count only what text analytics has already judged."""
    if not scope.sees_unit(unit.pk):
        raise invalid(["unit"], f"no unit {unit.code!r} in your scope")
    group = parse_conditions(conditions_data)
    paths = {code: u.path for code, u in units_by_code(conditions.unit_codes(group)).items()}
    since = timezone.now() - timedelta(days=PREVIEW_DAYS)
    judged = fired = responses = feedback = 0
    examples: list[str] = []
    for subject, facts in recent_facts(unit_path=unit.path, since=since, limit=PREVIEW_LIMIT):
        judged += 1
        if conditions.matches(group, facts, paths):
            fired += 1
            if subject.startswith("response:"):
                responses += 1
            else:
                feedback += 1
            if len(examples) < 5:
                examples.append(subject)
    return Preview(PREVIEW_DAYS, judged, fired, responses, feedback,
                   conditions.needs_text(group), examples)
