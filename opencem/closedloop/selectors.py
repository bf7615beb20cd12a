"""Reads of the closed loop: the case inbox and its counts, a case with its timeline, the
recovery and root-cause reports, and the customer card."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from opencem.accounts.selectors import Scope
from opencem.closedloop.choices import OPEN_STATUSES, CaseStatus
from opencem.closedloop.models import Case, CaseEvent
from opencem.core.errors import NotFound, invalid
from opencem.feedback.selectors import feedback_visible, responses_visible
from opencem.textanalytics.selectors import theme_labels

MAX_INBOX = 200


def cases_visible(*, scope: Scope) -> QuerySet[Case]:
    """Cases of the units the scope sees."""
    qs = Case.objects.select_related("unit", "owner", "rule", "customer")
    return qs if scope.unit_ids is None else qs.filter(unit_id__in=scope.unit_ids)


@dataclass(frozen=True)
class CaseFilter:
    """The inbox's filters; empty means any."""

    status: str = "open"  # "open", "all" or one status
    priority: str = ""
    unit_path: str = ""
    owner: str = ""  # "me", "unassigned" or ""
    overdue: bool = False
    rule_id: int | None = None


def cases_filtered(*, scope: Scope, filters: CaseFilter, user_id: int | None,
                   now: datetime | None = None) -> QuerySet[Case]:
    qs = cases_visible(scope=scope)
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status in CaseStatus.values:
        qs = qs.filter(status=filters.status)
    elif filters.status != "all":
        raise invalid(["status"], "open, all or a case status")
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.unit_path:
        qs = qs.filter(unit__path__startswith=filters.unit_path)
    if filters.owner == "me":
        qs = qs.filter(owner_id=user_id)
    elif filters.owner == "unassigned":
        qs = qs.filter(owner__isnull=True)
    if filters.overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=now or timezone.now())
    if filters.rule_id is not None:
        qs = qs.filter(rule_id=filters.rule_id)
    return qs


def case_inbox(*, scope: Scope, filters: CaseFilter, user_id: int | None,
               limit: int = MAX_INBOX) -> list[Case]:
    """The cases that match, most urgent first (overdue soonest, then newest)."""
    if not 1 <= limit <= MAX_INBOX:
        raise invalid(["limit"], f"must be between 1 and {MAX_INBOX}")
    qs = cases_filtered(scope=scope, filters=filters, user_id=user_id)
    return list(qs.order_by("due_at", "-id")[:limit])


@dataclass(frozen=True)
class InboxCounts:
    by_status: dict[str, int]
    open: int
    mine: int
    overdue: int
    unassigned: int


def case_counts(*, scope: Scope, user_id: int | None, now: datetime | None = None
                ) -> InboxCounts:
    """How many cases the scope sees, by status, and the open ones that need attention."""
    now = now or timezone.now()
    qs = cases_visible(scope=scope)
    by_status = dict.fromkeys(CaseStatus.values, 0)
    for row in qs.values("status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] = row["n"]
    opened = qs.filter(status__in=OPEN_STATUSES).aggregate(
        mine=Count("id", filter=Q(owner_id=user_id)),
        overdue=Count("id", filter=Q(due_at__lt=now)),
        unassigned=Count("id", filter=Q(owner__isnull=True)))
    return InboxCounts(by_status, sum(by_status[s] for s in OPEN_STATUSES),
                       opened["mine"], opened["overdue"], opened["unassigned"])


def case_get(*, scope: Scope, case_id: int) -> Case:
    case = cases_visible(scope=scope).select_related("alert", "followup_survey").filter(
        pk=case_id).first()
    if case is None:
        raise NotFound("No such case.")
    return case


def case_events(case: Case) -> list[CaseEvent]:
    return list(case.events.select_related("actor").order_by("at", "id"))


def case_source(case: Case) -> dict[str, Any]:
    """The response (scores, answers' comments) or feedback that opened the case."""
    if case.response_id is not None:
        response = responses_visible(scope=_everything()).filter(pk=case.response_id).first()
        if response is not None:
            comments = list(feedback_visible(scope=_everything()).filter(
                response_id=response.pk).order_by("id").values_list("text", flat=True))
            return {"kind": "response", "nps": response.nps, "csat": response.csat,
                    "ces": response.ces, "comments": comments,
                    "submitted_at": response.submitted_at}
    if case.alert is not None and case.alert.feedback_id is not None:
        item = feedback_visible(scope=_everything()).filter(pk=case.alert.feedback_id).first()
        if item is not None:
            return {"kind": "feedback", "rating": item.rating, "comments": [item.text],
                    "submitted_at": item.occurred_at}
    return {}


def _everything() -> Scope:
    from opencem.accounts.selectors import WHOLE_ORGANISATION  # noqa: PLC0415 (one use)

    return WHOLE_ORGANISATION


@dataclass(frozen=True)
class OpenCases:
    """The manager dashboard's panel: a unit's open cases, the overdue ones, the oldest."""

    open: int
    overdue: int
    unassigned: int
    oldest: list[Case]


def open_cases_panel(*, scope: Scope, unit_path: str, now: datetime | None = None,
                     limit: int = 5) -> OpenCases:
    """Open cases in the subtree at ``unit_path`` that the scope sees."""
    now = now or timezone.now()
    qs = cases_visible(scope=scope).filter(status__in=OPEN_STATUSES,
                                           unit__path__startswith=unit_path)
    counts = qs.aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)),
                          unassigned=Count("id", filter=Q(owner__isnull=True)))
    return OpenCases(counts["open"], counts["overdue"], counts["unassigned"],
                     list(qs.order_by("due_at", "id")[:limit]))


# --- reports -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryRow:
    """Detractors at the alert who answered the follow-up, and how many of them were
    recovered (passive or promoter at the follow-up)."""

    key: str
    label: str
    followed_up: int
    recovered: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.recovered / self.followed_up, 1) if self.followed_up else None


RECOVERY_GROUPS = {"unit": ("unit__code", "unit__name"), "rule": ("rule_id", "rule__name"),
                   "root_cause": ("root_cause", "root_cause")}


def recovery_report(*, scope: Scope, by: str, start: datetime | None = None,
                    end: datetime | None = None) -> list[RecoveryRow]:
    """The recovery rate per unit, rule or root cause over cases resolved in the period."""
    if by not in RECOVERY_GROUPS:
        raise invalid(["by"], f"one of {', '.join(RECOVERY_GROUPS)}")
    qs = cases_visible(scope=scope).filter(recovered__isnull=False)
    if start is not None:
        qs = qs.filter(resolved_at__gte=start)
    if end is not None:
        qs = qs.filter(resolved_at__lt=end)
    key, label = RECOVERY_GROUPS[by]
    rows = (qs.values(key, label).annotate(n=Count("id"), r=Count("id", filter=Q(recovered=True)))
            .order_by(label))
    names = theme_labels() if by == "root_cause" else {}
    return [RecoveryRow(str(row[key]) if row[key] is not None else "",
                        names.get(row[label], str(row[label])) if row[label] is not None
                        else "(deleted rule)", row["n"], row["r"]) for row in rows]


@dataclass(frozen=True)
class RootCauseRow:
    root_cause: str
    label: str
    cases: int
    resolved: int
    share: float


def root_causes_report(*, scope: Scope, unit_path: str = "", start: datetime | None = None,
                       end: datetime | None = None, limit: int = 20) -> list[RootCauseRow]:
    """The most frequent root causes of the cases resolved or closed in the period (by when
    they were resolved), with how many of them were resolved for the customer."""
    qs = cases_visible(scope=scope).exclude(root_cause="")
    if unit_path:
        qs = qs.filter(unit__path__startswith=unit_path)
    if start is not None:
        qs = qs.filter(resolved_at__gte=start)
    if end is not None:
        qs = qs.filter(resolved_at__lt=end)
    counts: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    for cause, ok in qs.values_list("root_cause", "issue_resolved"):
        counts[cause] += 1
        resolved[cause] += 1 if ok else 0
    total = sum(counts.values())
    labels = theme_labels()
    return [RootCauseRow(cause, labels.get(cause, cause), n, resolved[cause],
                         round(100 * n / total, 1))
            for cause, n in counts.most_common(limit)]


# --- the customer card -----------------------------------------------------------------


@dataclass(frozen=True)
class CustomerCard:
    """A customer's experience at a glance, for an agent in another system."""

    customer_id: int
    name: str
    scores: list[dict[str, Any]]
    open_cases: list[dict[str, Any]]
    comments: list[dict[str, Any]]


def customer_card(*, scope: Scope, customer_id: int, limit: int = 5) -> CustomerCard:
    """Recent scores, open cases and last comments of a customer in the scope."""
    from opencem.customers.selectors import customer_get  # noqa: PLC0415 (one use)

    customer = customer_get(scope=scope, customer_id=customer_id)
    responses = (responses_visible(scope=scope).filter(customer_id=customer.pk, completed=True)
                 .select_related("survey").order_by("-submitted_at", "-id")[:limit])
    scores = [{"survey": r.survey.name, "nps": r.nps, "csat": r.csat, "ces": r.ces,
               "at": r.submitted_at} for r in responses]
    cases = [{"id": c.pk, "title": c.title, "status": c.get_status_display(),
              "priority": c.get_priority_display(), "due_at": c.due_at,
              "owner": c.owner.get_username() if c.owner else ""}
             for c in cases_visible(scope=scope).filter(customer_id=customer.pk,
                                                        status__in=OPEN_STATUSES)
             .order_by("due_at")[:limit]]
    comments = [{"text": f.redacted_text or f.text, "at": f.occurred_at, "kind": f.kind}
                for f in feedback_visible(scope=scope).filter(customer_id=customer.pk)
                .order_by("-occurred_at", "-id")[:limit]]
    return CustomerCard(customer.pk, customer.name, scores, cases, comments)
