"""What a rule is judged on: the facts of a response or feedback item, read through the
feedback and customers apps' selectors."""

from __future__ import annotations

from collections.abc import Iterator
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


def _customer(customer_id: int | None) -> dict[str, Any]:
    if customer_id is None:
        return {}
    found = customers_visible(scope=WHOLE_ORGANISATION).filter(pk=customer_id).values_list(
        "attributes", flat=True).first()
    return dict(found) if isinstance(found, dict) else {}


def _with_analysis(facts: Facts, analysis: dict[str, Any] | None) -> Facts:
    if analysis:
        facts.sentiment = analysis.get("sentiment")
        score = analysis.get("sentiment_score")
        facts.sentiment_score = float(score) if isinstance(score, int | float) else None
        facts.themes = [str(t) for t in analysis.get("themes") or []]
        facts.emotions = [str(e) for e in analysis.get("emotions") or []]
    return facts


def response_facts(response_id: int, analysis: dict[str, Any] | None = None, *,
                   customer: bool = True) -> tuple[Facts, Any] | None:
    """The facts of a completed response (its comments as its text) and the response."""
    response = (responses_visible(scope=WHOLE_ORGANISATION).filter(pk=response_id)
                .select_related("unit")
                .prefetch_related(Prefetch("feedback_items")).first())
    if response is None:
        return None
    facts = Facts(unit_id=response.unit_id, unit_path=response.unit.path, nps=response.nps,
                  csat=response.csat, ces=response.ces, touchpoint=response.touchpoint,
                  channel=response.channel, kind="survey",
                  text="\n".join(f.text for f in response.feedback_items.all()),
                  customer_id=response.customer_id,
                  customer=_customer(response.customer_id) if customer else {})
    return _with_analysis(facts, analysis), response


def feedback_facts(feedback_id: int, analysis: dict[str, Any] | None = None, *,
                   customer: bool = True) -> tuple[Facts, Any] | None:
    """The facts of a feedback item (a review, a complaint, ...) and the item."""
    item = (feedback_visible(scope=WHOLE_ORGANISATION).filter(pk=feedback_id)
            .select_related("unit").first())
    if item is None:
        return None
    facts = Facts(unit_id=item.unit_id, unit_path=item.unit.path, rating=item.rating,
                  touchpoint=item.touchpoint, channel=item.channel, kind=item.kind,
                  text=item.text, customer_id=item.customer_id,
                  customer=_customer(item.customer_id) if customer else {})
    return _with_analysis(facts, analysis), item


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
        yield f"response:{r['id']}", _with_analysis(facts, _combined(
            [analysed[i] for i in comment_ids.get(r["id"], []) if i in analysed]))
    customers = _customers({i["customer_id"] for i in items})
    for i in items:
        facts = Facts(
            unit_id=i["unit_id"], unit_path=i["unit__path"], rating=i["rating"],
            touchpoint=i["touchpoint"], channel=i["channel"], kind=i["kind"], text=i["text"],
            customer_id=i["customer_id"], customer=customers.get(i["customer_id"], {}))
        yield f"feedback:{i['id']}", _with_analysis(facts, analysed.get(i["id"]))


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
