"""The closed loop's outbox consumer: judges each new response and feedback item against the
active alert rules and records follow-up answers.

It runs inside the relay's transaction with the event's processed mark, so an alert, its
case, its mails (``Notification`` rows) and its ``alert.fired``/``case.created`` events
commit all together exactly once, whatever happens to the worker or the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Max

from opencem.accounts.selectors import units_by_code
from opencem.closedloop import conditions, routing
from opencem.closedloop.cases import CaseOpening, cases_open
from opencem.closedloop.choices import Action, NotificationKind, Topic
from opencem.closedloop.facts import (
    ANALYSIS_KEYS,
    feedback_facts_many,
    responses_facts,
    with_analysis,
)
from opencem.closedloop.followup import followup_record
from opencem.closedloop.models import Alert, AlertRule, Case
from opencem.closedloop.notifications import Mail, notifications_queue
from opencem.core.relay import Consumer, Event, register_consumer
from opencem.core.services import outbox_emit_many
from opencem.core.statements import insert_objects

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
    handle_many([event])


@dataclass(frozen=True)
class _Subject:
    """What one event asks to judge: a response or feedback item, with text analytics'
    findings when the event brings them (then only rules with text conditions judge it)."""

    event: Event
    kind: str  # "response" or "feedback"
    pk: int
    analysis: dict[str, Any] | None = None

    @property
    def text_rules(self) -> bool:
        return self.analysis is not None

    @property
    def key(self) -> str:
        """How alerts name it: ``response:<id>`` or ``feedback:<id>``."""
        return f"{self.kind}:{self.pk}"


def handle_many(events: list[Event]) -> None:
    """Judge the subjects of a chunk of events (in id order) against the active rules as of
    now, read once; record follow-up answers. What fires is written in bulk
    (``_fire_all``); called by the relay inside its transaction."""
    active = _active_rules()
    plain = any(not r.needs_text for r in active.rules)
    texts = any(r.needs_text for r in active.rules)
    subjects: list[_Subject] = []
    for event in events:
        payload = event.payload
        if event.topic == RESPONSE_COMPLETED and plain:
            subjects.append(_Subject(event, "response", int(payload["response_id"])))
        elif event.topic == FEEDBACK_CREATED and plain:
            # A survey's comments are judged with their response, on response.completed.
            if payload.get("response_id") is None and payload.get("feedback_id"):
                subjects.append(_Subject(event, "feedback", int(payload["feedback_id"])))
        elif event.topic == FEEDBACK_ANALYZED and texts:
            kind = "feedback" if payload.get("response_id") is None else "response"
            subjects.append(_Subject(event, kind, int(payload[f"{kind}_id"]),
                                     {k: payload.get(k) for k in ANALYSIS_KEYS}))
    found = {"response": responses_facts({s.pk for s in subjects if s.kind == "response"},
                                         customer=active.customer),
             "feedback": feedback_facts_many({s.pk for s in subjects if s.kind == "feedback"},
                                             customer=active.customer)}
    _record_followups([e for e in events if e.topic == RESPONSE_COMPLETED], found["response"])
    matches: list[_Match] = []
    for subject in subjects:
        facts_row = found[subject.kind].get(subject.pk)
        if facts_row is not None:
            facts = with_analysis(facts_row[0], subject.analysis)
            matches += _judge(subject, facts, facts_row[1], active)
    _fire_all(matches)


def _record_followups(events: list[Event], known: dict[int, tuple[conditions.Facts, Any]]
                      ) -> None:
    surveys = {int(e.payload["survey_id"]) for e in events
               if e.payload.get("survey_id") is not None}
    if not surveys:
        return
    waiting = set(Case.objects.filter(followup_survey_id__in=surveys)
                  .values_list("followup_survey_id", flat=True).distinct())
    answers = [e.payload for e in events if e.payload.get("survey_id") is not None
               and int(e.payload["survey_id"]) in waiting]
    if not answers:
        return
    missing = {int(p["response_id"]) for p in answers} - set(known)
    responses = {pk: row for pk, (_, row) in known.items()}
    responses.update({pk: row for pk, (_, row) in responses_facts(missing,
                                                                  customer=False).items()})
    for payload in answers:
        response = responses.get(int(payload["response_id"]))
        if response is not None:
            followup_record(response_id=response.pk, survey_id=int(payload["survey_id"]),
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


@dataclass(frozen=True)
class _Match:
    """A rule whose conditions hold for a subject."""

    subject: _Subject
    rule: AlertRule
    facts: conditions.Facts
    row: Any  # the response or feedback item

    @property
    def response_id(self) -> int | None:
        return self.row.pk if self.subject.kind == "response" else None


def _judge(subject: _Subject, facts: conditions.Facts, row: Any, active: _Rules
           ) -> list[_Match]:
    rules = [r for r in active.rules if r.needs_text == subject.text_rules
             and r.created_at <= subject.event.created_at
             and facts.unit_path.startswith(r.unit.path)]
    return [_Match(subject, rule, facts, row) for rule in rules
            if conditions.matches(active.parsed[rule.pk], facts, active.paths)]


def _first_firings(matches: list[_Match]) -> list[_Match]:
    """``matches`` less those that repeat an alert, fired before or earlier in the chunk, of
    a rule that may meet its subject more than once (a response's comments analysed one by
    one)."""
    # Text rules may meet the same response again (one analysis per comment).
    repeatable = [m for m in matches if m.subject.text_rules]
    fired: set[tuple[int, str]] = set()
    if repeatable:
        fired = set(Alert.objects.filter(rule_id__in={m.rule.pk for m in repeatable},
                                         subject__in={m.subject.key for m in repeatable})
                    .values_list("rule_id", "subject"))
    first = []
    for match in matches:
        key = (match.rule.pk, match.subject.key)
        if match.subject.text_rules:
            if key in fired:
                continue
            fired.add(key)
        first.append(match)
    return first


def _fire_all(matches: list[_Match]) -> None:
    """Write what the matches fire, one insert per table for the whole chunk: alerts, the
    cases they open (with their timeline, owner's mail and ``case.created``), the alert
    mails and ``alert.fired`` events."""
    matches = _first_firings(matches)
    if not matches:
        return
    alerts = insert_objects([Alert(
        rule=m.rule, subject=m.subject.key, event_id=m.subject.event.id,
        unit_id=m.facts.unit_id, customer_id=m.facts.customer_id, response_id=m.response_id,
        feedback_id=None if m.response_id is not None else m.row.pk,
        facts=m.facts.summary()) for m in matches])
    responsible = _Responsible()
    opening = [(m, a) for m, a in zip(matches, alerts, strict=True)
               if Action.CASE in m.rule.actions]
    owners = responsible.owners([m for m, _ in opening])
    cases = dict(zip((a.pk for _, a in opening), cases_open(openings=[CaseOpening(
        title=_title(m.rule, m.facts), unit=m.row.unit, priority=m.rule.priority,
        sla_hours=m.rule.sla_hours, owner=owner, customer_id=m.facts.customer_id,
        response_id=m.response_id, alert=a,
        rule=m.rule, alert_nps=m.facts.nps) for (m, a), owner in zip(opening, owners,
                                                                     strict=True)]),
        strict=True))
    mails: list[Mail] = []
    fired: list[tuple[str, dict[str, Any]]] = []
    for m, alert in zip(matches, alerts, strict=True):
        case = cases.get(alert.pk)
        if Action.EMAIL in m.rule.actions:
            recipients = list(m.rule.notify_emails)
            if case is None:
                person = responsible.of(m.row.unit)
                if person is not None and person.email:
                    recipients.append(person.email)
            context = {"rule": m.rule, "alert": alert, "case": case, "unit": m.row.unit,
                       "facts": m.facts}
            mails += [Mail(NotificationKind.ALERT, to, "alert", context, case=case,
                           alert=alert) for to in dict.fromkeys(recipients)]
        if Action.WEBHOOK in m.rule.actions:
            fired.append((Topic.ALERT_FIRED, {
                "alert_id": alert.pk, "rule_id": m.rule.pk, "rule": m.rule.name,
                "subject": m.subject.key, "unit_id": m.facts.unit_id,
                "customer_id": m.facts.customer_id, "case_id": case.pk if case else None,
                "facts": alert.facts}))
    notifications_queue(mails=mails)
    outbox_emit_many(events=fired)


class _Responsible:
    """Who answers for a unit, asked once per unit in a chunk (a burst comes from a few
    units), and the turns of team rules."""

    def __init__(self) -> None:
        self._by_unit: dict[int, User | None] = {}

    def of(self, unit: Any) -> User | None:
        if unit.pk not in self._by_unit:
            self._learn([unit])
        return self._by_unit[unit.pk]

    def _learn(self, units: list[Any]) -> None:
        """Who answers for each of ``units`` not asked yet, found together."""
        new = {u.pk: u for u in units if u.pk not in self._by_unit}
        if new:
            self._by_unit.update(routing.owners_up_the_tree(new.values()))

    def owners(self, matches: list[_Match]) -> list[User | None]:
        """The owner of each match's case: the next in its rule's team, else whoever
        answers for its unit."""
        turns: dict[int, list[User]] = {}
        for rule_id in {m.rule.pk for m in matches if m.rule.team_id}:
            # The turn is the rule's: locked, so two workers never give it to the same one.
            locked = AlertRule.objects.select_for_update().get(pk=rule_id)
            turns[rule_id] = routing.team_next(
                locked, sum(1 for m in matches if m.rule.pk == rule_id))
            if turns[rule_id]:
                AlertRule.objects.filter(pk=rule_id).update(
                    last_assignee_id=turns[rule_id][-1].pk)
        self._learn([m.row.unit for m in matches if not turns.get(m.rule.pk)])
        found: list[User | None] = []
        for m in matches:
            team = turns.get(m.rule.pk)
            found.append(team.pop(0) if team else self.of(m.row.unit))
        return found


def _title(rule: AlertRule, facts: conditions.Facts) -> str:
    scores = ", ".join(f"{k.upper()} {v}" for k, v in (("nps", facts.nps), ("csat", facts.csat),
                                                       ("ces", facts.ces),
                                                       ("rating", facts.rating))
                       if v is not None)
    return f"{rule.name}" + (f" · {scores}" if scores else "")


def register() -> None:
    register_consumer(Consumer(name=NAME, topics=TOPICS, handle=handle, active=_active,
                               handle_many=handle_many))

