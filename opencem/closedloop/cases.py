"""Cases: opened from alerts, worked by their owner (statuses, notes, messages to the
customer), closed with a root cause, escalated up the tree when their SLA is breached."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from opencem.accounts.selectors import Scope
from opencem.closedloop import routing
from opencem.closedloop.choices import (
    SLA_STATUSES,
    CaseEventKind,
    CaseStatus,
    NotificationKind,
    Priority,
    Topic,
)
from opencem.closedloop.models import Case, CaseEvent
from opencem.closedloop.notifications import Mail, notification_queue, notifications_queue
from opencem.core.errors import PermissionDenied, invalid
from opencem.core.services import outbox_emit, outbox_emit_many
from opencem.core.statements import insert_objects
from opencem.customers.selectors import customer_identities
from opencem.textanalytics.selectors import theme_labels

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

MAX_NOTE = 10_000
ROOT_CAUSE_MAX = 64
# Which status may follow which; closing needs a root cause and whether it was resolved.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CaseStatus.NEW: (CaseStatus.IN_PROGRESS, CaseStatus.WAITING, CaseStatus.RESOLVED,
                     CaseStatus.CLOSED),
    CaseStatus.IN_PROGRESS: (CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED),
    CaseStatus.WAITING: (CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED),
    CaseStatus.RESOLVED: (CaseStatus.IN_PROGRESS, CaseStatus.CLOSED),
    CaseStatus.CLOSED: (),
}


def clean_text(value: str) -> str:
    """Text as people typed it, without NUL characters (no database stores them)."""
    return value.replace("\x00", "")


def case_payload(case: Case) -> dict[str, Any]:
    """A case as its outbox events (and webhooks) carry it."""
    return {"case_id": case.pk, "title": case.title, "status": case.status,
            "priority": case.priority, "unit_id": case.unit_id,
            "customer_id": case.customer_id, "owner_id": case.owner_id,
            "rule_id": case.rule_id, "response_id": case.response_id,
            "due_at": case.due_at.isoformat() if case.due_at else None,
            "root_cause": case.root_cause or None, "issue_resolved": case.issue_resolved}


def _event(case: Case, kind: str, actor: User | None, text: str = "",
           **data: Any) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=kind, actor=actor, text=text, data=data)


def _tell_owner(case: Case, kind: str, template: str) -> None:
    if case.owner is not None and case.owner.email:
        notification_queue(kind=kind, to_email=case.owner.email, template=template,
                           context={"case": case}, case=case, alert=case.alert)


@dataclass(frozen=True)
class CaseOpening:
    """What a case is opened with (``cases_open``)."""

    title: str
    unit: Unit
    priority: str
    sla_hours: int
    owner: User | None
    customer_id: int | None = None
    response_id: int | None = None
    alert: Any = None
    rule: Any = None
    alert_nps: int | None = None


def cases_open(*, openings: Sequence[CaseOpening], now: datetime | None = None) -> list[Case]:
    """Open cases, each for its owner with its SLA clock running; records each opening on
    its timeline, mails each owner and emits ``case.created`` for each, with one insert
    per table however many. Call inside a transaction."""
    if not openings:
        return []
    now = now or timezone.now()
    cases = insert_objects([Case(
        title=o.title[:300], unit=o.unit, priority=o.priority, sla_hours=o.sla_hours,
        owner=o.owner, customer_id=o.customer_id, response_id=o.response_id, alert=o.alert,
        rule=o.rule, alert_nps=o.alert_nps, due_at=now + timedelta(hours=o.sla_hours),
        followup_survey=getattr(o.rule, "followup_survey", None)) for o in openings])
    insert_objects([CaseEvent(
        case=case, kind=CaseEventKind.CREATED, actor=None,
        text=f"Opened by rule “{o.rule.name}”" if o.rule else "",
        data={"owner_id": o.owner.pk if o.owner else None}) for case, o in zip(cases, openings,
                                                                               strict=True)])
    notifications_queue(mails=[Mail(NotificationKind.ASSIGNED, case.owner.email, "assigned",
                                    {"case": case}, case=case, alert=case.alert)
                               for case in cases
                               if case.owner is not None and case.owner.email])
    outbox_emit_many(events=[(Topic.CASE_CREATED, case_payload(case)) for case in cases])
    return cases


def _check_write(case: Case, scope: Scope) -> None:
    if case.owner_id is not None and case.owner_id == scope.user_id:
        return
    if not scope.writes_unit(case.unit_id):
        raise PermissionDenied("only the owner or a manager, agent or admin of the case's unit "
                               "may change it")


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("owner", "alert", "rule",
                                                          "unit").get(pk=case.pk)


def case_note_add(*, case: Case, text: str, scope: Scope, actor: User) -> CaseEvent:
    """Add a note to the case's timeline."""
    _check_write(case, scope)
    text = clean_text(text).strip()
    if not text or len(text) > MAX_NOTE:
        raise invalid(["text"], f"write a note of 1 to {MAX_NOTE} characters")
    with transaction.atomic():
        return _event(_locked(case), CaseEventKind.NOTE, actor, text)


def case_assign(*, case: Case, owner: User, scope: Scope, actor: User) -> Case:
    """Give the case to someone who may see its unit; they are mailed."""
    _check_write(case, scope)
    from opencem.accounts.selectors import scope_for_user  # noqa: PLC0415 (one use)

    if not scope_for_user(owner).sees_unit(case.unit_id):
        raise invalid(["owner"], f"{owner.get_username()} has no role over this case's unit")
    with transaction.atomic():
        case = _locked(case)
        if case.owner_id == owner.pk:
            return case
        case.owner = owner
        case.save(update_fields=["owner", "updated_at"])
        _event(case, CaseEventKind.ASSIGNED, actor, owner_id=owner.pk)
        _tell_owner(case, NotificationKind.ASSIGNED, "assigned")
        outbox_emit(topic=Topic.CASE_UPDATED, payload=case_payload(case))
    return case


def case_set_priority(*, case: Case, priority: str, scope: Scope, actor: User) -> Case:
    _check_write(case, scope)
    if priority not in Priority.values:
        raise invalid(["priority"], f"one of {', '.join(Priority.values)}")
    with transaction.atomic():
        case = _locked(case)
        if case.priority != priority:
            _event(case, CaseEventKind.PRIORITY, actor, before=case.priority, after=priority)
            case.priority = priority
            case.save(update_fields=["priority", "updated_at"])
            outbox_emit(topic=Topic.CASE_UPDATED, payload=case_payload(case))
    return case


def _check_root_cause(root_cause: str, issue_resolved: bool | None) -> str:
    code = root_cause.strip()
    if not code:
        raise invalid(["root_cause"], "give the root cause: a theme of the taxonomy")
    if code not in theme_labels():
        raise invalid(["root_cause"], f"{code[:ROOT_CAUSE_MAX]!r} is not a theme of the "
                                      "taxonomy (Text › Themes and rules)")
    if issue_resolved is None:
        raise invalid(["issue_resolved"], "say whether the customer's issue was resolved")
    return code


def case_set_status(*, case: Case, status: str, scope: Scope, actor: User | None,
                    root_cause: str = "", issue_resolved: bool | None = None, note: str = "",
                    now: datetime | None = None) -> Case:
    """Move the case along ``TRANSITIONS``. Resolving or closing needs the root cause (a
    theme code) and whether the issue was resolved, unless the case has them already; once
    resolved, the customer's follow-up survey is sent (after this commits)."""
    _check_write(case, scope)
    if status not in CaseStatus.values:
        raise invalid(["status"], f"one of {', '.join(CaseStatus.values)}")
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case)
        if status == case.status:
            return case
        if status not in TRANSITIONS[case.status]:
            raise invalid(["status"], f"a {case.get_status_display().lower()} case cannot "
                                      f"become {CaseStatus(status).label.lower()}")
        finishing = status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        if finishing:
            given = root_cause.strip() or case.root_cause
            resolved = issue_resolved if issue_resolved is not None else case.issue_resolved
            case.root_cause = _check_root_cause(given, resolved)
            case.issue_resolved = resolved
        note = clean_text(note).strip()
        if len(note) > MAX_NOTE:
            raise invalid(["note"], f"at most {MAX_NOTE} characters")
        _event(case, CaseEventKind.STATUS, actor, note, before=case.status, after=status,
               root_cause=case.root_cause if finishing else None,
               issue_resolved=case.issue_resolved if finishing else None)
        case.status = status
        if status == CaseStatus.RESOLVED or (finishing and case.resolved_at is None):
            case.resolved_at = now
        if status == CaseStatus.CLOSED:
            case.closed_at = now
        case.save()
        outbox_emit(topic=Topic.CASE_CLOSED if status == CaseStatus.CLOSED
                    else Topic.CASE_UPDATED, payload=case_payload(case))
        if finishing and case.followup_survey_id and case.followup_sent_at is None \
                and case.customer_id is not None:
            pk = case.pk
            transaction.on_commit(lambda: _wake_followup(pk), robust=True)
    return case


def _wake_followup(case_id: int) -> None:
    from opencem.closedloop.tasks import send_followup  # noqa: PLC0415 (tasks import this)

    send_followup.delay(case_id)


def customer_email(customer_id: int) -> str:
    """The customer's most recently learnt email address ("" when none)."""
    emails = [i for i in customer_identities(customer_id) if i.kind == "email"]
    return max(emails, key=lambda i: (i.created_at, i.pk)).value if emails else ""


def case_message_customer(*, case: Case, subject: str, body: str, scope: Scope,
                          actor: User) -> CaseEvent:
    """Write to the customer from the case: a branded mail, kept on the case's timeline and
    on the customer's 360."""
    _check_write(case, scope)
    subject, body = clean_text(subject).strip(), clean_text(body).strip()
    if not subject or len(subject) > 200:
        raise invalid(["subject"], "give a subject of 1 to 200 characters")
    if not body or len(body) > MAX_NOTE:
        raise invalid(["body"], f"write a message of 1 to {MAX_NOTE} characters")
    if case.customer_id is None:
        raise invalid(["body"], "this case has no customer to write to")
    to = customer_email(case.customer_id)
    if not to:
        raise invalid(["body"], "the customer has no email address")
    with transaction.atomic():
        case = _locked(case)
        event = _event(case, CaseEventKind.MESSAGE, actor, body, subject=subject, to=to)
        notification_queue(kind=NotificationKind.CUSTOMER, to_email=to, template="customer",
                           context={"case": case, "subject": subject, "body": body,
                                    "sender": actor.get_full_name() or actor.get_username()},
                           case=case)
        outbox_emit(topic=Topic.CASE_UPDATED, payload=case_payload(case))
    return event


def cases_escalate_overdue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate every case past its SLA (new or in progress) to the responsible person one
    level further up the tree, with a fresh SLA; returns how many moved. A case at the top
    stays where it is, marked so it is not looked at again."""
    now = now or timezone.now()
    due = list(Case.objects.filter(status__in=SLA_STATUSES, due_at__lt=now,
                                   escalation_exhausted=False)
               .order_by("due_at").values_list("id", flat=True)[:limit])
    moved = 0
    for pk in due:
        with transaction.atomic():
            case = Case.objects.select_for_update(of=("self",)).select_related(
                "unit", "escalated_unit", "owner", "alert").filter(
                pk=pk, status__in=SLA_STATUSES, due_at__lt=now).first()
            if case is None:
                continue
            start = case.escalated_unit or case.unit
            person, at = _next_up(start, case.owner_id)
            if person is None or at is None:
                case.escalation_exhausted = True
                case.save(update_fields=["escalation_exhausted"])
                continue
            before = case.owner_id
            case.owner, case.escalated_unit = person, at
            case.escalation_level += 1
            case.due_at = now + timedelta(hours=case.sla_hours)
            case.save()
            _event(case, CaseEventKind.ESCALATED, None,
                   f"SLA breached: escalated to {person.get_username()} ({at.name})",
                   before=before, after=person.pk, level=case.escalation_level)
            _tell_owner(case, NotificationKind.ESCALATED, "escalated")
            outbox_emit(topic=Topic.CASE_UPDATED, payload=case_payload(case))
            moved += 1
    return moved


def _next_up(start: Unit, current_owner_id: int | None) -> tuple[User | None, Unit | None]:
    for candidate in routing.ancestors(start)[1:]:
        person = routing.responsible(candidate)
        if person is not None and person.pk != current_owner_id:
            return person, candidate
    return None, None
