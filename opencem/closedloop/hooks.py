"""How cases join the customer hub: on the 360 timeline (cases opened, messages written to
the customer), and moved along when two customers are merged."""

from __future__ import annotations

from opencem.accounts.selectors import Scope
from opencem.closedloop.choices import CaseEventKind
from opencem.closedloop.models import Alert, Case, CaseEvent
from opencem.customers.hooks import register_merge_hook
from opencem.customers.timeline import Position, TimelineEntry, before_filter, register_provider


def _move(survivor_id: int, absorbed_id: int) -> int:
    moved = Case.objects.filter(customer_id=absorbed_id).update(customer_id=survivor_id)
    return moved + Alert.objects.filter(customer_id=absorbed_id).update(customer_id=survivor_id)


def _case_events(customer_ids: list[int], scope: Scope, before: Position | None,
                 limit: int) -> list[TimelineEntry]:
    qs = (CaseEvent.objects.filter(case__customer_id__in=customer_ids,
                                   kind__in=(CaseEventKind.CREATED, CaseEventKind.MESSAGE))
          .select_related("case", "case__unit", "actor"))
    if scope.unit_ids is not None:
        qs = qs.filter(case__unit_id__in=scope.unit_ids)
    qs = qs.filter(before_filter(before, kind="case", time_field="at"))
    entries = []
    for e in qs.order_by("-at", "-id")[: limit + 1]:
        if e.kind == CaseEventKind.MESSAGE:
            sender = e.actor.get_username() if e.actor else ""
            title = f"Message from {sender} · case {e.case_id}: {e.data.get('subject', '')}"
        else:
            title = f"Case {e.case_id} opened: {e.case.title}"
        entries.append(TimelineEntry(kind="case", id=e.pk, occurred_at=e.at, title=title,
                                     unit=e.case.unit.name,
                                     detail={"case_id": e.case_id,
                                             "status": e.case.get_status_display(),
                                             # What the customer was told, as they read it.
                                             "comments": [e.text] if e.text and e.kind ==
                                             CaseEventKind.MESSAGE else []}))
    return entries


def register() -> None:
    register_merge_hook("closedloop", _move)
    register_provider("cases", _case_events)
