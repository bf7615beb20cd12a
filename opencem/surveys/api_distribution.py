"""Distribution endpoints: triggers, contact rules, invitations and personal links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import api_user, request_scope, unit_get_by_code
from opencem.core.errors import NotFound, invalid
from opencem.core.exports import csv_response
from opencem.core.text import CleanStr
from opencem.surveys import distribution, selectors
from opencem.surveys.invitations import DEFAULT_VALID_DAYS
from opencem.surveys.models import ContactRule, Invitation, Survey, Trigger

router = Router(tags=["distribution"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TriggerIn(_Strict):
    name: CleanStr = Field(max_length=200)
    active: bool = True
    kinds: list[CleanStr] = Field(default_factory=list, max_length=50,
                                  description="Interaction kinds; empty matches every kind.")
    channels: list[CleanStr] = Field(default_factory=list, max_length=20)
    unit_codes: list[CleanStr] = Field(default_factory=list, max_length=100,
                                       description="Units whose subtrees match; empty: all.")
    delay_minutes: int = Field(0, description="Wait this long after the interaction.")
    sample_percent: int = Field(100, description="Invite this share (0-100), decided by a "
                                                 "hash of the interaction id.")
    touchpoint: CleanStr = Field("", max_length=64)
    hidden_fields: dict[str, CleanStr] = Field(
        default_factory=dict, max_length=50,
        description='Hidden field id -> "attributes.<key>", "unit", "channel", "kind", '
                    '"touchpoint" or "external_id".')
    valid_days: int = DEFAULT_VALID_DAYS
    reminder_after_days: int = Field(0, description="Remind non-responders after N days.")
    max_reminders: int = 0

    def to_input(self) -> distribution.TriggerInput:
        return distribution.TriggerInput(
            name=self.name, active=self.active, kinds=tuple(self.kinds),
            channels=tuple(self.channels), unit_codes=tuple(self.unit_codes),
            delay_minutes=self.delay_minutes, sample_percent=self.sample_percent,
            touchpoint=self.touchpoint, hidden_fields=dict(self.hidden_fields),
            valid_days=self.valid_days, reminder_after_days=self.reminder_after_days,
            max_reminders=self.max_reminders)


class TriggerOut(Schema):
    id: int
    survey: int
    name: str
    active: bool
    kinds: list[str]
    channels: list[str]
    unit_codes: list[str]
    delay_minutes: int
    sample_percent: int
    touchpoint: str
    hidden_fields: dict[str, str]
    valid_days: int
    reminder_after_days: int
    max_reminders: int
    created_at: datetime


class ContactRuleIn(_Strict):
    survey: int | None = Field(None, description="The survey it applies to; all when omitted.")
    segment_attribute: CleanStr = Field("", max_length=64,
                                        description="Applies to customers whose attribute ...")
    segment_value: CleanStr = Field("", max_length=200, description="... equals this value.")
    max_invitations: int | None = Field(None, description="At most N invitations per period.")
    period_days: int = 30
    min_gap_days: int = 0


class ContactRuleOut(Schema):
    id: int
    survey: int | None
    segment_attribute: str
    segment_value: str
    max_invitations: int | None
    period_days: int
    min_gap_days: int


class InvitationOut(Schema):
    id: int
    customer: int | None
    channel: str
    status: str
    suppressed_reason: str
    unit: str
    touchpoint: str
    trigger: int | None
    interaction: int | None
    email: str
    created_at: datetime
    scheduled_for: datetime | None
    sent_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime
    reminders_sent: int


class InvitationPage(Schema):
    items: list[InvitationOut]
    next_cursor: str | None


class InvitationFilters(Schema):
    status: str | None = None
    cursor: str | None = None
    limit: int = 50


class SendIn(_Strict):
    customer: int = Field(description="The customer's id (in your scope).")
    unit: CleanStr | None = Field(None, max_length=64,
                                  description="Unit code it is sent for; the survey's unit "
                                              "when omitted.")
    touchpoint: CleanStr = Field("", max_length=64)
    valid_days: int = DEFAULT_VALID_DAYS


class InvitationList(Schema):
    items: list[InvitationOut]


class SegmentIn(_Strict):
    attribute: CleanStr = Field(max_length=64)
    value: CleanStr = Field(max_length=200)


class SendManyIn(_Strict):
    customers: list[int] = Field(default_factory=list, max_length=distribution.MAX_SEND_NOW,
                                 description="Customer ids (in your scope).")
    segment: SegmentIn | None = Field(None, description="Or: every customer in scope whose "
                                                        "attribute equals the value.")
    unit: CleanStr | None = Field(None, max_length=64)
    touchpoint: CleanStr = Field("", max_length=64)
    valid_days: int = DEFAULT_VALID_DAYS


class PersonalLinksIn(_Strict):
    customers: list[int] = Field(default_factory=list,
                                 max_length=distribution.MAX_PERSONAL_LINKS)
    segment: SegmentIn | None = None
    unit: CleanStr | None = Field(None, max_length=64)
    valid_days: int = DEFAULT_VALID_DAYS


def trigger_out(trigger: Trigger) -> dict[str, Any]:
    return {"id": trigger.pk, "survey": trigger.survey_id, "name": trigger.name,
            "active": trigger.active, "kinds": trigger.kinds, "channels": trigger.channels,
            "unit_codes": trigger.unit_codes, "delay_minutes": trigger.delay_minutes,
            "sample_percent": trigger.sample_percent, "touchpoint": trigger.touchpoint,
            "hidden_fields": trigger.hidden_fields, "valid_days": trigger.valid_days,
            "reminder_after_days": trigger.reminder_after_days,
            "max_reminders": trigger.max_reminders, "created_at": trigger.created_at}


def rule_out(rule: ContactRule) -> dict[str, Any]:
    return {"id": rule.pk, "survey": rule.survey_id, "segment_attribute": rule.segment_attribute,
            "segment_value": rule.segment_value, "max_invitations": rule.max_invitations,
            "period_days": rule.period_days, "min_gap_days": rule.min_gap_days}


def invitation_out(invitation: Invitation) -> dict[str, Any]:
    return {"id": invitation.pk, "customer": invitation.customer_id,
            "channel": invitation.channel, "status": invitation.status,
            "suppressed_reason": invitation.suppressed_reason, "unit": invitation.unit.code,
            "touchpoint": invitation.touchpoint, "trigger": invitation.trigger_id,
            "interaction": invitation.interaction_id, "email": invitation.email,
            "created_at": invitation.created_at, "scheduled_for": invitation.scheduled_for,
            "sent_at": invitation.sent_at, "completed_at": invitation.completed_at,
            "expires_at": invitation.expires_at, "reminders_sent": invitation.reminders_sent}


def _survey(request: HttpRequest, survey_id: int) -> Survey:
    return selectors.survey_get(scope=request_scope(request), survey_id=survey_id)


def _rule_input(request: HttpRequest, payload: ContactRuleIn) -> distribution.ContactRuleInput:
    survey = None
    if payload.survey is not None:
        try:
            survey = _survey(request, payload.survey)
        except NotFound as exc:
            raise invalid(["survey"], f"no survey {payload.survey} in your scope") from exc
    return distribution.ContactRuleInput(
        survey=survey, segment_attribute=payload.segment_attribute,
        segment_value=payload.segment_value, max_invitations=payload.max_invitations,
        period_days=payload.period_days, min_gap_days=payload.min_gap_days)


def _unit(code: str | None) -> Any:
    if code is None:
        return None
    unit = unit_get_by_code(code)
    if unit is None:
        raise invalid(["unit"], f"no unit has the code {code!r}")
    return unit


@router.get("/surveys/{survey_id}/triggers", response=list[TriggerOut],
            summary="The survey's triggers")
def trigger_list(request: HttpRequest, survey_id: int) -> list[dict[str, Any]]:
    survey = _survey(request, survey_id)
    return [trigger_out(t) for t in distribution.triggers_of(scope=request_scope(request),
                                                             survey=survey)]


@router.post("/surveys/{survey_id}/triggers", response={201: TriggerOut},
             summary="Invite customers to the survey after matching interactions")
def trigger_create(request: HttpRequest, survey_id: int, payload: TriggerIn
                   ) -> Status[dict[str, Any]]:
    trigger = distribution.trigger_create(survey=_survey(request, survey_id),
                                          data=payload.to_input(),
                                          scope=request_scope(request), actor=api_user(request))
    return Status(201, trigger_out(trigger))


@router.get("/triggers/{trigger_id}", response=TriggerOut)
def trigger_detail(request: HttpRequest, trigger_id: int) -> dict[str, Any]:
    return trigger_out(distribution.trigger_get(scope=request_scope(request),
                                                trigger_id=trigger_id))


@router.put("/triggers/{trigger_id}", response=TriggerOut, summary="Replace a trigger")
def trigger_update(request: HttpRequest, trigger_id: int, payload: TriggerIn) -> dict[str, Any]:
    scope = request_scope(request)
    trigger = distribution.trigger_get(scope=scope, trigger_id=trigger_id)
    return trigger_out(distribution.trigger_update(trigger=trigger, data=payload.to_input(),
                                                   scope=scope))


@router.delete("/triggers/{trigger_id}", response={204: None})
def trigger_delete(request: HttpRequest, trigger_id: int) -> Status[None]:
    scope = request_scope(request)
    distribution.trigger_delete(
        trigger=distribution.trigger_get(scope=scope, trigger_id=trigger_id), scope=scope)
    return Status(204, None)


@router.get("/contact-rules", response=list[ContactRuleOut],
            summary="Fatigue rules: the default and the overrides for surveys in scope")
def contact_rule_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [rule_out(r) for r in distribution.contact_rules_list(scope=request_scope(request))]


@router.post("/contact-rules", response={201: ContactRuleOut},
             summary="Add the default fatigue rule, or a per-survey or per-segment override")
def contact_rule_create(request: HttpRequest, payload: ContactRuleIn
                        ) -> Status[dict[str, Any]]:
    rule = distribution.contact_rule_create(data=_rule_input(request, payload),
                                            scope=request_scope(request))
    return Status(201, rule_out(rule))


@router.get("/contact-rules/{rule_id}", response=ContactRuleOut)
def contact_rule_detail(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return rule_out(distribution.contact_rule_get(scope=request_scope(request),
                                                  rule_id=rule_id))


@router.put("/contact-rules/{rule_id}", response=ContactRuleOut, summary="Replace a rule")
def contact_rule_update(request: HttpRequest, rule_id: int, payload: ContactRuleIn
                        ) -> dict[str, Any]:
    scope = request_scope(request)
    rule = distribution.contact_rule_get(scope=scope, rule_id=rule_id)
    return rule_out(distribution.contact_rule_update(rule=rule,
                                                     data=_rule_input(request, payload),
                                                     scope=scope))


@router.delete("/contact-rules/{rule_id}", response={204: None})
def contact_rule_delete(request: HttpRequest, rule_id: int) -> Status[None]:
    scope = request_scope(request)
    distribution.contact_rule_delete(
        rule=distribution.contact_rule_get(scope=scope, rule_id=rule_id), scope=scope)
    return Status(204, None)


@router.get("/surveys/{survey_id}/invitations", response=InvitationPage,
            summary="The survey's invitations for units in scope, with suppression reasons")
def invitation_list(request: HttpRequest, survey_id: int, filters: Query[InvitationFilters]
                    ) -> dict[str, Any]:
    scope = request_scope(request)
    page = distribution.invitation_list(scope=scope, survey=_survey(request, survey_id),
                                        status=filters.status, cursor=filters.cursor,
                                        limit=filters.limit)
    return {"items": [invitation_out(i) for i in page.items], "next_cursor": page.next_cursor}


@router.post("/surveys/{survey_id}/invitations", response={201: InvitationOut},
             summary="Email the survey to one customer now (within the contact rules)")
def invitation_send(request: HttpRequest, survey_id: int, payload: SendIn
                    ) -> Status[dict[str, Any]]:
    invitation = distribution.invitation_send_now(
        survey=_survey(request, survey_id), customer_id=payload.customer,
        scope=request_scope(request), unit=_unit(payload.unit), touchpoint=payload.touchpoint,
        valid_days=payload.valid_days)
    return Status(201, invitation_out(invitation))


@router.post("/surveys/{survey_id}/invitations/batch", response={201: InvitationList},
             summary=f"Email the survey now to up to {distribution.MAX_SEND_NOW} customers, "
                     "or a segment (within the contact rules)")
def invitation_send_many(request: HttpRequest, survey_id: int, payload: SendManyIn
                         ) -> Status[dict[str, Any]]:
    segment = (payload.segment.attribute, payload.segment.value) if payload.segment else None
    invitations = distribution.invitations_send_now(
        survey=_survey(request, survey_id), scope=request_scope(request),
        customer_ids=payload.customers, segment=segment, unit=_unit(payload.unit),
        touchpoint=payload.touchpoint, valid_days=payload.valid_days)
    return Status(201, {"items": [invitation_out(i) for i in invitations]})


@router.post("/surveys/{survey_id}/personal-links",
             summary="Personal survey links for customers or a segment, as CSV")
def personal_links(request: HttpRequest, survey_id: int, payload: PersonalLinksIn
                   ) -> HttpResponseBase:
    segment = (payload.segment.attribute, payload.segment.value) if payload.segment else None
    rows = distribution.personal_links_create(
        survey=_survey(request, survey_id), scope=request_scope(request),
        customer_ids=payload.customers, segment=segment, unit=_unit(payload.unit),
        valid_days=payload.valid_days)
    return csv_response(f"survey-{survey_id}-links.csv", distribution.PERSONAL_LINK_COLUMNS,
                        (r.as_row() for r in rows))
