"""The closed loop's outbox consumer: judges each new response and feedback item against the
active alert rules and records follow-up answers.

It runs inside the relay's transaction with the event's processed mark, so an alert, its
case, its mails (``Notification`` rows) and its ``alert.fired``/``case.created`` events
commit all together exactly once, whatever happens to the worker or the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max

from opencem.accounts.selectors import units_by_code
from opencem.closedloop import conditions, routing
from opencem.closedloop.cases import case_open
from opencem.closedloop.choices import Action, NotificationKind, Topic
from opencem.closedloop.facts import feedback_facts, response_facts
from opencem.closedloop.followup import followup_record
from opencem.closedloop.models import Alert, AlertRule, Case
from opencem.closedloop.notifications import notification_queue
from opencem.core.relay import Consumer, Event, register_consumer
from opencem.core.services import outbox_emit

NAME = "closedloop"
RESPONSE_COMPLETED = "response.completed"
FEEDBACK_CREATED = "feedback.created"
FEEDBACK_ANALYZED = "feedback.analyzed"
TOPICS = frozenset({RESPONSE_COMPLETED, FEEDBACK_CREATED, FEEDBACK_ANALYZED})


def _active(topic: str) -> bool:
    if AlertRule.objects.filter(active=True).exists():
        return True
    # A follow-up answer may be on its way.
    return topic == RESPONSE_COMPLETED and Case.objects.filter(
        followup_sent_at__isnull=False, followup_response__isnull=True,
        followup_invitation_id__isnull=False).exists()


def handle(event: Event) -> None:
    """Judge the event's subject; called by the relay inside its transaction."""
    payload = event.payload
    active = _active_rules()
    plain = any(not r.needs_text for r in active.rules)
    if event.topic == RESPONSE_COMPLETED:
        _record_followup(payload)
        if plain:
            found = response_facts(int(payload["response_id"]), customer=active.customer)
            if found is not None:
                _judge(event, f"response:{payload['response_id']}", found, active,
                       text_rules=False)
    elif event.topic == FEEDBACK_CREATED:
        # A survey's comments are judged with their response, on response.completed.
        if plain and payload.get("response_id") is None and payload.get("feedback_id"):
            found = feedback_facts(int(payload["feedback_id"]), customer=active.customer)
            if found is not None:
                _judge(event, f"feedback:{payload['feedback_id']}", found, active,
                       text_rules=False)
    elif event.topic == FEEDBACK_ANALYZED and any(r.needs_text for r in active.rules):
        analysis = {k: payload.get(k) for k in ("sentiment", "sentiment_score", "themes",
                                                "emotions")}
        if payload.get("response_id") is not None:
            subject = f"response:{payload['response_id']}"
            found = response_facts(int(payload["response_id"]), analysis,
                                   customer=active.customer)
        else:
            subject = f"feedback:{payload['feedback_id']}"
            found = feedback_facts(int(payload["feedback_id"]), analysis,
                                   customer=active.customer)
        if found is not None:
            _judge(event, subject, found, active, text_rules=True)


def _record_followup(payload: dict[str, Any]) -> None:
    survey_id = payload.get("survey_id")
    if survey_id is None or not Case.objects.filter(followup_survey_id=survey_id).exists():
        return
    found = response_facts(int(payload["response_id"]))
    if found is None:
        return
    _, response = found
    followup_record(response_id=response.pk, survey_id=int(survey_id),
                    customer_id=response.customer_id, nps=response.nps,
                    submitted_after=response.submitted_at or response.started_at)


@dataclass(frozen=True)
class _Rules:
    """The active rules, their parsed conditions and the paths of the units they name, as
    of ``version`` (kept between events: a burst judges thousands against the same rules)."""

    version: tuple[Any, ...]
    rules: list[AlertRule]
    parsed: dict[int, conditions.Group]
    paths: dict[str, str]
    customer: bool


_cache: dict[str, _Rules] = {}


def _active_rules() -> _Rules:
    version = tuple(AlertRule.objects.aggregate(n=Count("id"), last=Max("updated_at"),
                                                top=Max("id")).values())
    found = _cache.get("rules")
    if found is not None and found.version == version:
        return found
    rules = list(AlertRule.objects.filter(active=True).select_related("unit", "followup_survey")
                 .order_by("id"))
    parsed = {r.pk: conditions.parse(r.conditions) for r in rules}
    codes: set[str] = set().union(*(conditions.unit_codes(g) for g in parsed.values()))
    paths = {code: u.path for code, u in units_by_code(codes).items()}
    customer = any(f.startswith("customer.") for g in parsed.values()
                   for f in conditions.fields_of(g))
    found = _Rules(version, rules, parsed, paths, customer)
    _cache["rules"] = found
    return found


def _judge(event: Event, subject: str, found: tuple[conditions.Facts, Any], active: _Rules,
           *, text_rules: bool) -> None:
    facts, row = found
    rules = [r for r in active.rules if r.needs_text == text_rules
             and r.created_at <= event.created_at and facts.unit_path.startswith(r.unit.path)]
    for rule in rules:
        if conditions.matches(active.parsed[rule.pk], facts, active.paths):
            _fire(event, rule, subject, facts, row, check_repeat=text_rules)


def _fire(event: Event, rule: AlertRule, subject: str, facts: conditions.Facts,
          row: Any, *, check_repeat: bool) -> None:
    if check_repeat and Alert.objects.filter(rule=rule, subject=subject).exists():
        return  # judged already (a response's comments analysed one by one)
    is_response = subject.startswith("response:")
    alert = Alert.objects.create(
        rule=rule, subject=subject, event_id=event.id, unit_id=facts.unit_id,
        customer_id=facts.customer_id, response_id=row.pk if is_response else None,
        feedback_id=None if is_response else row.pk, facts=facts.summary())
    unit = row.unit
    case = None
    if Action.CASE in rule.actions:
        owner = None
        if rule.team_id:
            # The turn is the rule's: locked, so two workers never give it to the same one.
            locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
            owner = routing.team_next(locked)
            if owner is not None:
                AlertRule.objects.filter(pk=rule.pk).update(last_assignee_id=owner.pk)
        if owner is None:
            owner, _ = routing.owner_up_the_tree(unit)
        case = case_open(title=_title(rule, facts), unit=unit, priority=rule.priority,
                         sla_hours=rule.sla_hours, owner=owner, customer_id=facts.customer_id,
                         response_id=row.pk if is_response else None, alert=alert, rule=rule,
                         alert_nps=facts.nps)
    if Action.EMAIL in rule.actions:
        recipients = list(rule.notify_emails)
        if case is None:
            person, _ = routing.owner_up_the_tree(unit)
            if person is not None and person.email:
                recipients.append(person.email)
        for to in dict.fromkeys(recipients):
            notification_queue(kind=NotificationKind.ALERT, to_email=to, template="alert",
                               context={"rule": rule, "alert": alert, "case": case,
                                        "unit": unit, "facts": facts}, alert=alert, case=case)
    if Action.WEBHOOK in rule.actions:
        outbox_emit(topic=Topic.ALERT_FIRED, payload={
            "alert_id": alert.pk, "rule_id": rule.pk, "rule": rule.name,
            "subject": subject, "unit_id": facts.unit_id, "customer_id": facts.customer_id,
            "case_id": case.pk if case else None, "facts": alert.facts})


def _title(rule: AlertRule, facts: conditions.Facts) -> str:
    scores = ", ".join(f"{k.upper()} {v}" for k, v in (("nps", facts.nps), ("csat", facts.csat),
                                                       ("ces", facts.ces),
                                                       ("rating", facts.rating))
                       if v is not None)
    return f"{rule.name}" + (f" · {scores}" if scores else "")


def register() -> None:
    register_consumer(Consumer(name=NAME, topics=TOPICS, handle=handle, active=_active))

