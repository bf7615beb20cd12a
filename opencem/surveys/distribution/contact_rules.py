"""Contact rules against survey fatigue, and the check made before every invitation.

A rule limits how many invitations a customer gets per period and how close together; the
default rule (no survey, no segment) can be overridden per survey, per segment (a customer
attribute equal to a value) or both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from opencem.accounts.selectors import Scope
from opencem.core.errors import Conflict, NotFound, invalid
from opencem.surveys.distribution.common import (
    ATTRIBUTE_MESSAGE,
    ATTRIBUTE_RE,
    check_design,
    check_range,
    plural,
)
from opencem.surveys.distribution.unsubscribe import UNSUBSCRIBED, is_unsubscribed
from opencem.surveys.models import ContactRule, Invitation, InvitationStatus, Survey

if TYPE_CHECKING:
    from opencem.customers.models import Customer

# Invitations that reached (or will reach) the customer count against contact rules.
COUNTED = (InvitationStatus.SCHEDULED, InvitationStatus.SENT, InvitationStatus.OPENED,
           InvitationStatus.COMPLETED, InvitationStatus.EXPIRED)


@dataclass(frozen=True)
class ContactRuleInput:
    """A fatigue limit; ``survey`` and ``segment_attribute`` narrow whom it applies to."""

    survey: Survey | None = None
    segment_attribute: str = ""
    segment_value: str = ""
    max_invitations: int | None = None
    period_days: int = 30
    min_gap_days: int = 0


def _check_rule(data: ContactRuleInput) -> None:
    if data.segment_attribute and not ATTRIBUTE_RE.match(data.segment_attribute):
        raise invalid(["segment_attribute"], ATTRIBUTE_MESSAGE)
    if bool(data.segment_attribute) != bool(data.segment_value):
        raise invalid(["segment_value"], "give both segment_attribute and segment_value, or "
                                         "neither")
    if len(data.segment_value) > 200:
        raise invalid(["segment_value"], "must be at most 200 characters")
    if data.max_invitations is not None:
        check_range("max_invitations", data.max_invitations, 1, 1000)
    check_range("period_days", data.period_days, 1, 3650)
    check_range("min_gap_days", data.min_gap_days, 0, 3650)


def _save_rule(rule: ContactRule) -> ContactRule:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise Conflict("A contact rule for this survey and segment already exists; change "
                       "that one.") from exc
    return rule


def contact_rule_create(*, data: ContactRuleInput, scope: Scope) -> ContactRule:
    """Add a fatigue rule: the default (no survey, no segment) or an override."""
    check_design(scope, data.survey)
    _check_rule(data)
    return _save_rule(ContactRule(
        survey=data.survey, segment_attribute=data.segment_attribute,
        segment_value=data.segment_value, max_invitations=data.max_invitations,
        period_days=data.period_days, min_gap_days=data.min_gap_days))


def contact_rule_update(*, rule: ContactRule, data: ContactRuleInput, scope: Scope
                        ) -> ContactRule:
    """Replace a rule's limits and whom it applies to."""
    check_design(scope, rule.survey)
    check_design(scope, data.survey)
    _check_rule(data)
    rule.survey = data.survey
    rule.segment_attribute, rule.segment_value = data.segment_attribute, data.segment_value
    rule.max_invitations, rule.period_days = data.max_invitations, data.period_days
    rule.min_gap_days = data.min_gap_days
    return _save_rule(rule)


def contact_rule_delete(*, rule: ContactRule, scope: Scope) -> None:
    """Remove a rule; the next more general one applies again."""
    check_design(scope, rule.survey)
    rule.delete()


def contact_rules_list(*, scope: Scope) -> QuerySet[ContactRule]:
    """Global rules and the rules of surveys in scope, general ones first."""
    qs = ContactRule.objects.select_related("survey__unit").order_by("survey_id", "id")
    if scope.unit_ids is None:
        return qs
    return qs.filter(Q(survey__isnull=True) | Q(survey__unit_id__in=scope.unit_ids))


def contact_rule_get(*, scope: Scope, rule_id: int) -> ContactRule:
    """A global rule or one of a survey in scope; any other is reported as missing."""
    rule = contact_rules_list(scope=scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"No contact rule {rule_id}.")
    return rule


def _segment_matches(rule: ContactRule, customer: Customer) -> bool:
    if not rule.segment_attribute:
        return True
    value = (customer.attributes or {}).get(rule.segment_attribute)
    return value is not None and str(value) == rule.segment_value


def contact_rule_for(*, survey: Survey, customer: Customer) -> ContactRule | None:
    """The most specific rule for this survey and customer.

    Survey and segment beat survey alone, which beats segment alone, which beats the default;
    among equals (two segments that both match) the older rule wins, so the choice is stable.
    """
    candidates = [rule for rule in ContactRule.objects.filter(
        Q(survey__isnull=True) | Q(survey=survey)).order_by("id")
        if _segment_matches(rule, customer)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (2 * (r.survey_id is not None)
                                          + bool(r.segment_attribute), -r.pk))


def suppression_reason(*, survey: Survey, customer: Customer, now: datetime) -> str | None:
    """Why this customer must not be invited to this survey now, or None when they may be.

    Counts every invitation across all programmes, so two surveys cannot together flood one
    customer.
    """
    if is_unsubscribed(customer.pk, survey.pk):
        return UNSUBSCRIBED
    rule = contact_rule_for(survey=survey, customer=customer)
    if rule is None:
        return None
    counted = Invitation.objects.filter(customer_id=customer.pk, status__in=COUNTED)
    if rule.max_invitations is not None:
        recent = counted.filter(created_at__gte=now - timedelta(days=rule.period_days)).count()
        if recent >= rule.max_invitations:
            return (f"{plural(recent, 'invitation')} in the last "
                    f"{plural(rule.period_days, 'day')} (limit {rule.max_invitations})")
    if rule.min_gap_days:
        last = counted.order_by("-created_at").values_list("created_at", flat=True).first()
        if last is not None and last > now - timedelta(days=rule.min_gap_days):
            days = (now - last).days
            return (f"last invitation {plural(days, 'day')} ago (minimum gap "
                    f"{plural(rule.min_gap_days, 'day')})")
    return None
