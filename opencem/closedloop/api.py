"""Closed-loop endpoints: alert rules (with their preview), cases and their timeline,
messages to the customer, the recovery and root-cause reports, and the customer card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import api_user, request_scope, unit_get_by_code
from opencem.closedloop import rules, selectors
from opencem.closedloop.cases import (
    case_assign,
    case_message_customer,
    case_note_add,
    case_set_priority,
    case_set_status,
)
from opencem.closedloop.models import AlertRule, Case, CaseEvent
from opencem.core.errors import invalid
from opencem.core.text import CleanStr

router = Router(tags=["closed loop"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class RuleIn(_Strict):
    name: CleanStr = Field(max_length=200)
    unit: CleanStr = Field(max_length=64, description="Code of the unit whose subtree it "
                                                      "watches (and that owns the rule).")
    conditions: dict[str, Any] = Field(description='{"match": "all"|"any", "conditions": '
                                                   '[{"field", "op", "value"} or groups]}')
    actions: list[CleanStr] = Field(description="case, email and/or webhook", max_length=3)
    priority: CleanStr = "normal"
    sla_hours: int = 48
    team: CleanStr | None = Field(None, max_length=64,
                                  description="Unit code: round-robin among its managers and "
                                              "agents instead of the unit owner.")
    notify_emails: list[CleanStr] = Field(default_factory=list, max_length=20)
    followup_survey: int | None = Field(None, description="Survey sent after resolution.")
    active: bool = True


class PreviewIn(_Strict):
    unit: CleanStr = Field(max_length=64)
    conditions: dict[str, Any]


class RuleOut(Schema):
    id: int
    name: str
    unit: str
    conditions: dict[str, Any]
    needs_text: bool
    actions: list[str]
    priority: str
    sla_hours: int
    team: str | None
    notify_emails: list[str]
    followup_survey: int | None
    active: bool
    created_at: datetime


class PreviewOut(Schema):
    days: int
    judged: int
    fired: int
    per_day: float
    responses: int
    feedback: int
    needs_text: bool
    examples: list[str]


class CaseOut(Schema):
    id: int
    title: str
    status: str
    priority: str
    unit: str
    owner: str | None
    customer: int | None
    response: int | None
    rule: int | None
    due_at: datetime | None
    escalation_level: int
    root_cause: str
    issue_resolved: bool | None
    created_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    followup_sent_at: datetime | None
    followup_nps: int | None
    recovered: bool | None


class CaseEventOut(Schema):
    id: int
    kind: str
    actor: str | None
    text: str
    data: dict[str, Any]
    at: datetime


class CaseDetailOut(CaseOut):
    events: list[CaseEventOut]


class CaseFilters(Schema):
    status: str = Field("open", description="open, all, or one status")
    priority: str = ""
    unit: str = ""
    owner: str = Field("", description="me, unassigned, or empty for anyone")
    overdue: bool = False
    rule: int | None = None
    limit: int = 100


class CountsOut(Schema):
    by_status: dict[str, int]
    open: int
    mine: int
    overdue: int
    unassigned: int


class StatusIn(_Strict):
    status: CleanStr
    root_cause: CleanStr = Field("", max_length=64, description="Theme code; needed to "
                                                                "resolve or close.")
    issue_resolved: bool | None = Field(None, description="Needed to resolve or close.")
    note: CleanStr = Field("", max_length=10_000)


class NoteIn(_Strict):
    text: CleanStr = Field(max_length=10_000)


class AssignIn(_Strict):
    owner: CleanStr = Field(max_length=150, description="Username")


class PriorityIn(_Strict):
    priority: CleanStr


class MessageIn(_Strict):
    subject: CleanStr = Field(max_length=200)
    body: CleanStr = Field(max_length=10_000)


class RecoveryOut(Schema):
    key: str
    label: str
    followed_up: int
    recovered: int
    rate: float | None


class RootCauseOut(Schema):
    root_cause: str = Field(description="a theme code of the taxonomy")
    label: str = Field(description='the theme as "Category › Theme"')
    cases: int
    resolved: int
    share: float


class PeriodFilters(Schema):
    by: str = "unit"
    unit: str = ""
    start: datetime | None = None
    end: datetime | None = None


class CardOut(Schema):
    customer_id: int
    name: str
    scores: list[dict[str, Any]]
    open_cases: list[dict[str, Any]]
    comments: list[dict[str, Any]]


def _unit(code: str | None, loc: str) -> Any:
    if code is None or code == "":
        return None
    unit = unit_get_by_code(code)
    if unit is None:
        raise invalid([loc], f"no unit has the code {code!r}")
    return unit


def rule_out(rule: AlertRule) -> dict[str, Any]:
    return {"id": rule.pk, "name": rule.name, "unit": rule.unit.code,
            "conditions": rule.conditions, "needs_text": rule.needs_text,
            "actions": rule.actions, "priority": rule.priority, "sla_hours": rule.sla_hours,
            "team": rule.team.code if rule.team else None,
            "notify_emails": rule.notify_emails, "followup_survey": rule.followup_survey_id,
            "active": rule.active, "created_at": rule.created_at}


def case_out(case: Case) -> dict[str, Any]:
    return {"id": case.pk, "title": case.title, "status": case.status,
            "priority": case.priority, "unit": case.unit.code,
            "owner": case.owner.get_username() if case.owner else None,
            "customer": case.customer_id, "response": case.response_id, "rule": case.rule_id,
            "due_at": case.due_at, "escalation_level": case.escalation_level,
            "root_cause": case.root_cause, "issue_resolved": case.issue_resolved,
            "created_at": case.created_at, "resolved_at": case.resolved_at,
            "closed_at": case.closed_at, "followup_sent_at": case.followup_sent_at,
            "followup_nps": case.followup_nps, "recovered": case.recovered}


def event_out(e: CaseEvent) -> dict[str, Any]:
    return {"id": e.pk, "kind": e.kind, "actor": e.actor.get_username() if e.actor else None,
            "text": e.text, "data": e.data, "at": e.at}


def _rule_input(payload: RuleIn) -> rules.RuleInput:
    unit = _unit(payload.unit, "unit")
    if unit is None:
        raise invalid(["unit"], "give the code of the unit the rule watches")
    return rules.RuleInput(
        name=payload.name, unit=unit, conditions=payload.conditions,
        actions=list(payload.actions), priority=payload.priority,
        sla_hours=payload.sla_hours, team=_unit(payload.team, "team"),
        notify_emails=list(payload.notify_emails), followup_survey_id=payload.followup_survey,
        active=payload.active)


@router.get("/alert-rules", response=list[RuleOut], summary="Alert rules in your scope")
def alert_rule_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [rule_out(r) for r in rules.alert_rules_visible(scope=request_scope(request))]


@router.post("/alert-rules", response={201: RuleOut}, summary="Make an alert rule")
def alert_rule_create(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    rule = rules.alert_rule_create(data=_rule_input(payload), scope=request_scope(request),
                                   actor=api_user(request))
    return Status(201, rule_out(rule))


@router.post("/alert-rules/preview", response=PreviewOut,
             summary="How often conditions would have fired over the last 30 days")
def alert_rule_preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    unit = _unit(payload.unit, "unit")
    if unit is None:
        raise invalid(["unit"], "give the code of the unit the rule watches")
    found = rules.alert_rule_preview(unit=unit,
                                     conditions_data=payload.conditions,
                                     scope=request_scope(request))
    return {**found.__dict__, "per_day": found.per_day}


@router.get("/alert-rules/{rule_id}", response=RuleOut, summary="One alert rule")
def alert_rule_get(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return rule_out(rules.alert_rule_get(scope=request_scope(request), rule_id=rule_id))


@router.put("/alert-rules/{rule_id}", response=RuleOut, summary="Change an alert rule")
def alert_rule_update(request: HttpRequest, rule_id: int, payload: RuleIn) -> dict[str, Any]:
    scope = request_scope(request)
    rule = rules.alert_rule_update(rule=rules.alert_rule_get(scope=scope, rule_id=rule_id),
                                   data=_rule_input(payload), scope=scope)
    return rule_out(rule)


@router.delete("/alert-rules/{rule_id}", response={204: None}, summary="Remove an alert rule")
def alert_rule_delete(request: HttpRequest, rule_id: int) -> Status[None]:
    scope = request_scope(request)
    rules.alert_rule_delete(rule=rules.alert_rule_get(scope=scope, rule_id=rule_id),
                            scope=scope)
    return Status(204, None)


def _filters(params: CaseFilters) -> selectors.CaseFilter:
    unit = _unit(params.unit, "unit")
    return selectors.CaseFilter(status=params.status, priority=params.priority,
                                unit_path=unit.path if unit else "", owner=params.owner,
                                overdue=params.overdue, rule_id=params.rule)


@router.get("/cases", response=list[CaseOut], summary="The case inbox, most urgent first")
def case_list(request: HttpRequest, params: Query[CaseFilters]) -> list[dict[str, Any]]:
    scope = request_scope(request)
    return [case_out(c) for c in selectors.case_inbox(
        scope=scope, filters=_filters(params), user_id=scope.user_id, limit=params.limit)]


@router.get("/cases/counts", response=CountsOut, summary="Cases by status, and those needing "
                                                         "attention")
def case_counts(request: HttpRequest) -> dict[str, Any]:
    scope = request_scope(request)
    return selectors.case_counts(scope=scope, user_id=scope.user_id).__dict__


def _case(request: HttpRequest, case_id: int) -> Case:
    return selectors.case_get(scope=request_scope(request), case_id=case_id)


def _detail(case: Case) -> dict[str, Any]:
    return {**case_out(case), "events": [event_out(e) for e in selectors.case_events(case)]}


@router.get("/cases/{case_id}", response=CaseDetailOut, summary="A case with its timeline")
def case_get(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return _detail(_case(request, case_id))


@router.post("/cases/{case_id}/status", response=CaseDetailOut,
             summary="Move a case along (resolve and close need a root cause)")
def case_status(request: HttpRequest, case_id: int, payload: StatusIn) -> dict[str, Any]:
    case = case_set_status(case=_case(request, case_id), status=payload.status,
                           scope=request_scope(request), actor=api_user(request),
                           root_cause=payload.root_cause, issue_resolved=payload.issue_resolved,
                           note=payload.note)
    return _detail(case)


@router.post("/cases/{case_id}/notes", response={201: CaseEventOut}, summary="Add a note")
def case_note(request: HttpRequest, case_id: int, payload: NoteIn) -> Status[dict[str, Any]]:
    event = case_note_add(case=_case(request, case_id), text=payload.text,
                          scope=request_scope(request), actor=api_user(request))
    return Status(201, event_out(event))


@router.post("/cases/{case_id}/assign", response=CaseDetailOut, summary="Give a case to "
                                                                      "someone")
def case_assign_to(request: HttpRequest, case_id: int, payload: AssignIn) -> dict[str, Any]:
    owner = User.objects.filter(username=payload.owner, is_active=True).first()
    if owner is None:
        raise invalid(["owner"], f"no active user {payload.owner!r}")
    case = case_assign(case=_case(request, case_id), owner=owner,
                       scope=request_scope(request), actor=api_user(request))
    return _detail(case)


@router.post("/cases/{case_id}/priority", response=CaseDetailOut, summary="Change priority")
def case_priority(request: HttpRequest, case_id: int, payload: PriorityIn) -> dict[str, Any]:
    case = case_set_priority(case=_case(request, case_id), priority=payload.priority,
                             scope=request_scope(request), actor=api_user(request))
    return _detail(case)


@router.post("/cases/{case_id}/messages", response={201: CaseEventOut},
             summary="Write to the customer (a branded email, kept on their 360)")
def case_message(request: HttpRequest, case_id: int, payload: MessageIn
                 ) -> Status[dict[str, Any]]:
    event = case_message_customer(case=_case(request, case_id), subject=payload.subject,
                                  body=payload.body, scope=request_scope(request),
                                  actor=api_user(request))
    return Status(201, event_out(event))


@router.get("/reports/recovery", response=list[RecoveryOut],
            summary="Recovery rate (detractor to passive or promoter) per unit, rule or root "
                    "cause")
def recovery(request: HttpRequest, params: Query[PeriodFilters]) -> list[dict[str, Any]]:
    rows = selectors.recovery_report(scope=request_scope(request), by=params.by,
                                     start=params.start, end=params.end)
    return [{**r.__dict__, "rate": r.rate} for r in rows]


@router.get("/reports/root-causes", response=list[RootCauseOut],
            summary="Top root causes of resolved cases per unit and period")
def root_causes(request: HttpRequest, params: Query[PeriodFilters]) -> list[dict[str, Any]]:
    unit = _unit(params.unit, "unit")
    rows = selectors.root_causes_report(scope=request_scope(request),
                                        unit_path=unit.path if unit else "",
                                        start=params.start, end=params.end)
    return [r.__dict__ for r in rows]


@router.get("/customers/{customer_id}/card", response=CardOut,
            summary="A customer at a glance: recent scores, open cases, last comments")
def customer_card(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    return selectors.customer_card(scope=request_scope(request),
                                   customer_id=customer_id).__dict__
