"""What a rule is judged on: the facts of a response or feedback item, read through the
feedback and customers apps' selectors."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db.models import Prefetch

from opencem.accounts.selectors import WHOLE_ORGANISATION
from opencem.closedloop.conditions import Facts
from opencem.customers.selectors import customers_visible
from opencem.feedback.selectors import feedback_visible, responses_visible
from opencem.textanalytics.selectors import analysis_payloads

# Text analytics (built alongside) finds these in a comment; until its results are stored
# where this app can read them, rules with text conditions are judged on its
# ``feedback.analyzed`` events only.
ANALYSIS_KEYS = ("sentiment", "sentiment_score", "themes", "emotions")


def with_analysis(facts: Facts, analysis: dict[str, Any] | None) -> Facts:
    """``facts`` with text analytics' findings (a copy: the same facts may be judged with
    several analyses in one batch)."""
    if not analysis:
        return facts
    score = analysis.get("sentiment_score")
    return replace(facts, sentiment=analysis.get("sentiment"),
                   sentiment_score=float(score) if isinstance(score, int | float) else None,
                   themes=[str(t) for t in analysis.get("themes") or []],
                   emotions=[str(e) for e in analysis.get("emotions") or []])


def responses_facts(response_ids: Collection[int], *, customer: bool = True
                    ) -> dict[int, tuple[Facts, Any]]:
    """The facts of completed responses (their comments as their text) and the responses,
    by id, read with a fixed number of queries however many there are; an id that is gone
    is left out."""
    if not response_ids:
        return {}
    responses = list(responses_visible(scope=WHOLE_ORGANISATION)
                     .filter(pk__in=list(response_ids)).select_related("unit")
                     .prefetch_related(Prefetch("feedback_items")))
    customers = _customers({r.customer_id for r in responses}) if customer else {}
    return {r.pk: (Facts(unit_id=r.unit_id, unit_path=r.unit.path, nps=r.nps, csat=r.csat,
                         ces=r.ces, touchpoint=r.touchpoint, channel=r.channel, kind="survey",
                         text="\n".join(f.text for f in r.feedback_items.all()),
                         customer_id=r.customer_id,
                         customer=customers.get(r.customer_id, {})
                         if r.customer_id is not None else {}), r)
            for r in responses}


def feedback_facts_many(feedback_ids: Collection[int], *, customer: bool = True
                        ) -> dict[int, tuple[Facts, Any]]:
    """The facts of feedback items (reviews, complaints, ...) and the items, by id, read
    with a fixed number of queries; an id that is gone is left out."""
    if not feedback_ids:
        return {}
    items = list(feedback_visible(scope=WHOLE_ORGANISATION).filter(pk__in=list(feedback_ids))
                 .select_related("unit"))
    customers = _customers({i.customer_id for i in items}) if customer else {}
    return {i.pk: (Facts(unit_id=i.unit_id, unit_path=i.unit.path, rating=i.rating,
                         touchpoint=i.touchpoint, channel=i.channel, kind=i.kind, text=i.text,
                         customer_id=i.customer_id,
                         customer=customers.get(i.customer_id, {})
                         if i.customer_id is not None else {}), i)
            for i in items}


def recent_facts(*, unit_path: str, since: datetime, limit: int
                 ) -> Iterator[tuple[str, Facts]]:
    """The facts of completed responses and other feedback in a subtree since ``since``
    (for a rule's preview), at most ``limit`` of each, as ``(subject, facts)``."""
    responses = (responses_visible(scope=WHOLE_ORGANISATION)
                 .filter(completed=True, submitted_at__gte=since,
                         unit__path__startswith=unit_path)
                 .order_by("-submitted_at")[:limit])
    rows = list(responses.values("id", "unit_id", "unit__path", "nps", "csat", "ces",
                                 "touchpoint", "channel", "customer_id"))
    texts: dict[int, list[str]] = {}
    comment_ids: dict[int, list[int]] = {}
    comments = feedback_visible(scope=WHOLE_ORGANISATION).filter(
        response_id__in=[r["id"] for r in rows]).order_by("id").values_list(
        "response_id", "id", "text")
    for response_id, feedback_id, text in comments:
        texts.setdefault(response_id, []).append(text)
        comment_ids.setdefault(response_id, []).append(feedback_id)
    items = list(feedback_visible(scope=WHOLE_ORGANISATION)
                 .filter(response__isnull=True, occurred_at__gte=since,
                         unit__path__startswith=unit_path)
                 .order_by("-occurred_at")
                 .values("id", "unit_id", "unit__path", "rating", "touchpoint", "channel",
                         "kind", "text", "customer_id")[:limit])
    # What text analytics has judged already: text conditions count those alone.
    analysed = analysis_payloads(feedback_ids=[*(i for ids in comment_ids.values()
                                                 for i in ids), *(i["id"] for i in items)])
    customers = _customers({r["customer_id"] for r in rows})
    for r in rows:
        facts = Facts(
            unit_id=r["unit_id"], unit_path=r["unit__path"], nps=r["nps"], csat=r["csat"],
            ces=r["ces"], touchpoint=r["touchpoint"], channel=r["channel"], kind="survey",
            text="\n".join(texts.get(r["id"], [])), customer_id=r["customer_id"],
            customer=customers.get(r["customer_id"], {}))
        yield f"response:{r['id']}", with_analysis(facts, _combined(
            [analysed[i] for i in comment_ids.get(r["id"], []) if i in analysed]))
    customers = _customers({i["customer_id"] for i in items})
    for i in items:
        facts = Facts(
            unit_id=i["unit_id"], unit_path=i["unit__path"], rating=i["rating"],
            touchpoint=i["touchpoint"], channel=i["channel"], kind=i["kind"], text=i["text"],
            customer_id=i["customer_id"], customer=customers.get(i["customer_id"], {}))
        yield f"feedback:{i['id']}", with_analysis(facts, analysed.get(i["id"]))


def _combined(analyses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A response's comments judged as one: the first comment's sentiment (as the metrics'
    sentiment dimension counts it), every comment's themes and emotions."""
    if not analyses:
        return None
    return {**analyses[0],
            "themes": list(dict.fromkeys(t for a in analyses for t in a["themes"])),
            "emotions": list(dict.fromkeys(e for a in analyses for e in a["emotions"]))}


def _customers(ids: set[int | None]) -> dict[int, dict[str, Any]]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {pk: dict(attrs or {}) for pk, attrs in customers_visible(
        scope=WHOLE_ORGANISATION).filter(pk__in=wanted).values_list("id", "attributes")}
