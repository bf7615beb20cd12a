"""How responses and feedback join the customer hub: on the 360 timeline, and moved along
when two customers are merged."""

from __future__ import annotations

from django.db.models import Prefetch

from opencem.accounts.selectors import Scope
from opencem.customers.hooks import register_merge_hook
from opencem.customers.timeline import Position, TimelineEntry, before_filter, register_provider
from opencem.feedback.models import FeedbackItem, Response
from opencem.feedback.privacy import readable_answers, readable_text


def _move(survivor_id: int, absorbed_id: int) -> int:
    moved = Response.objects.filter(customer_id=absorbed_id).update(customer_id=survivor_id)
    return moved + FeedbackItem.objects.filter(customer_id=absorbed_id).update(
        customer_id=survivor_id)


def _responses(customer_ids: list[int], scope: Scope, before: Position | None,
               limit: int) -> list[TimelineEntry]:
    qs = (Response.objects.filter(customer_id__in=customer_ids).select_related("survey", "unit")
          .prefetch_related(Prefetch("feedback_items",
                                     queryset=FeedbackItem.objects.order_by("id"))))
    if scope.unit_ids is not None:
        qs = qs.filter(unit_id__in=scope.unit_ids)
    qs = qs.filter(before_filter(before, kind="response", time_field="started_at"))
    entries = []
    for r in qs.order_by("-started_at", "-id")[: limit + 1]:
        scores = [f"{k.upper()} {v}" for k, v in (("nps", r.nps), ("csat", r.csat),
                                                  ("ces", r.ces)) if v is not None]
        title = f"Answered “{r.survey.name}”" + (f" · {', '.join(scores)}" if scores else "")
        if not r.completed:
            title += " (unfinished)"
        entries.append(TimelineEntry(
            kind="response", id=r.pk, occurred_at=r.started_at, title=title,
            channel=r.get_channel_display() if r.channel else "", unit=r.unit.name,
            detail={"answers": readable_answers(answers=r.answers, unit_id=r.unit_id,
                                                scope=scope),
                    "survey_id": r.survey_id, "nps": r.nps, "csat": r.csat, "ces": r.ces,
                    # The respondent's own words, redacted for readers without PII rights.
                    "comments": [readable_text(item=f, scope=scope)
                                 for f in r.feedback_items.all()]}))
    return entries


def _feedback(customer_ids: list[int], scope: Scope, before: Position | None,
              limit: int) -> list[TimelineEntry]:
    # Survey comments are shown with their response; this lists the other voices.
    qs = FeedbackItem.objects.filter(customer_id__in=customer_ids, response__isnull=True
                                     ).select_related("unit")
    if scope.unit_ids is not None:
        qs = qs.filter(unit_id__in=scope.unit_ids)
    qs = qs.filter(before_filter(before, kind="feedback", time_field="occurred_at"))
    entries = []
    for f in qs.order_by("-occurred_at", "-id")[: limit + 1]:
        title = f.get_kind_display()
        if f.rating is not None:
            title += f" · {f.rating}/{f.rating_max}"
        entries.append(TimelineEntry(
            kind="feedback", id=f.pk, occurred_at=f.occurred_at, title=title,
            channel=f.get_channel_display() if f.channel else "", unit=f.unit.name,
            detail={"text": readable_text(item=f, scope=scope), "title": f.title,
                    "source": f.source}))
    return entries


def register() -> None:
    register_merge_hook("feedback", _move)
    register_provider("responses", _responses)
    register_provider("feedback", _feedback)
