"""Feedback nobody asked for: store and app reviews, social posts, complaints and chat
transcripts, each following from a contact in the customer's life.

Reviews come mostly from the very unhappy (and a few of the delighted); every social
mention is a post, and the negative delivery ones name the partner that was late; a
complaint call or chat leaves a written complaint about what went wrong before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opencem.customers.choices import IdentityKind
from opencem.customers.services import CustomerInput, InteractionInput
from opencem.demo import company as co
from opencem.demo import phrases as ph
from opencem.feedback.services import FeedbackInput

if TYPE_CHECKING:
    from opencem.demo.voice import Experience, VoiceBuilder

Lived = list[tuple[InteractionInput, "Experience | None"]]
SUPPORT = ("call", "chat", "email")


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _who(record: InteractionInput) -> CustomerInput | None:
    return CustomerInput(identities=record.customer.identities) if record.customer else None


def collect(b: VoiceBuilder, lived: Lived) -> None:
    """Add the customer's unsolicited feedback to ``b.out.feedback``."""
    last_delivery: tuple[InteractionInput, Experience] | None = None
    troubles: list[tuple[datetime, Experience]] = []  # what a complaint may be about
    for record, exp in lived:
        if exp is not None and record.kind not in SUPPORT:
            if record.kind == "delivery":
                last_delivery = (record, exp)
            if exp.score < -0.5 and any(not praise for _, praise in exp.themes):
                troubles.append((record.occurred_at, exp))
        if record.channel == "store" and record.kind in ("purchase", "visit") and exp:
            _review(b, record, exp)
        elif record.kind == "session" and record.channel == "app" and exp:
            _app_review(b, record, exp)
        elif record.kind == "mention":
            _post(b, record, last_delivery)
        if record.kind in SUPPORT and record.attributes.get("reason") == "complaint":
            _complaint(b, record, exp, troubles)
        if record.kind == "chat" and b.rng.random() < 0.1:
            _transcript(b, record, last_delivery)


def _add(b: VoiceBuilder, item: FeedbackInput) -> None:
    if item.occurred_at < b.end:
        b.out.feedback.append(item)


def _rated(b: VoiceBuilder, exp: Experience, fallback: tuple[str, ...]
           ) -> tuple[int, list[tuple[str, bool]]]:
    stars = _clamp(3.8 + 1.4 * (b.bias + exp.score) + b.rng.gauss(0, 0.8), 1, 5)
    return stars, b.pick(exp.themes, (stars >= 4) - (stars <= 2), fallback)


def _review(b: VoiceBuilder, record: InteractionInput, exp: Experience) -> None:
    rng = b.rng
    if rng.random() >= 0.008 + 0.025 * (exp.score < -1.0) + 0.006 * (exp.score > 0.5):
        return
    stars, themes = _rated(b, exp, (ph.STAFF, ph.PRICE, ph.QUALITY))
    _add(b, FeedbackInput(
        kind="review", text=b.comment(themes, b.slots(exp.slots), exp.context),
        source="reviews",
        occurred_at=record.occurred_at + timedelta(hours=rng.uniform(2, 72)),
        unit=record.unit, external_id=f"RV-{record.external_id}", title=ph.title(*themes[0]),
        rating=stars, rating_max=5, touchpoint="store_visit", channel="store",
        language=b.language, author=b.author))


def _app_review(b: VoiceBuilder, record: InteractionInput, exp: Experience) -> None:
    rng = b.rng
    if rng.random() >= 0.005:
        return
    stars, themes = _rated(b, exp, (ph.DIGITAL, ph.PRICE))
    _add(b, FeedbackInput(
        kind="review", text=b.comment(themes, b.slots(exp.slots)), source="app-reviews",
        occurred_at=record.occurred_at + timedelta(minutes=rng.randint(5, 600)),
        unit=co.APP, external_id=f"AR-{record.external_id}", title=ph.title(*themes[0]),
        rating=stars, rating_max=5, touchpoint="app_review", channel="app",
        language=b.language, author=b.author,
        attributes={"platform": rng.choice(("ios", "android"))}))


def _post(b: VoiceBuilder, record: InteractionInput,
          last_delivery: tuple[InteractionInput, Experience] | None) -> None:
    a = record.attributes
    topic, tone = str(a.get("topic", "product")), str(a.get("tone", "neutral"))
    unit, extra = co.SOCIAL, {}
    if topic == "delivery" and last_delivery is not None:
        delivery, exp = last_delivery
        partner = delivery.attributes.get("carrier") == "parcelwise"
        unit, extra = (co.DELIVERY_PARTNER if partner else co.FLEET), exp.slots
    handle = next((v for k, v in record.customer.identities
                   if k == IdentityKind.SOCIAL_HANDLE), "") if record.customer else ""
    _add(b, FeedbackInput(
        kind="social", text=ph.post(b.rng, topic, tone, b.slots(extra)),
        source="social-listening", occurred_at=record.occurred_at, unit=unit,
        external_id=f"SP-{record.external_id}", customer=_who(record), touchpoint="social",
        channel="social", language="en", author=handle,
        attributes={"platform": a.get("platform"), "followers": a.get("followers"),
                    "topic": topic, "tone": tone}))


def _complaint(b: VoiceBuilder, record: InteractionInput, exp: Experience | None,
               troubles: list[tuple[datetime, Experience]]) -> None:
    rng = b.rng
    if rng.random() >= 0.7:
        return
    since = record.occurred_at - timedelta(days=21)
    cause = next((e for when, e in reversed(troubles) if since <= when <= record.occurred_at),
                 None)
    about = cause or exp
    theme = next((t for t, praise in about.themes if not praise), ph.QUALITY) if about \
        else ph.QUALITY
    slots = b.slots(about.slots if about else {})
    _add(b, FeedbackInput(
        kind="complaint", source="complaints",
        text=ph.complaint(rng, theme, slots, language=b.language,
                          context=about.context if about else "", pii=rng.random() < 0.3),
        occurred_at=record.occurred_at + timedelta(minutes=rng.randint(5, 120)),
        unit=record.unit, external_id=f"CP-{record.external_id}", customer=_who(record),
        title=ph.title(theme, False), touchpoint="complaint", channel=record.channel,
        language=b.language,
        attributes={"about": theme, "contact": f"{record.source}/{record.external_id}"}))


def _transcript(b: VoiceBuilder, record: InteractionInput,
                last_delivery: tuple[InteractionInput, Experience] | None) -> None:
    a = record.attributes
    extra = last_delivery[1].slots if last_delivery else {}
    _add(b, FeedbackInput(
        kind="chat", source="chat",
        text=ph.transcript(b.rng, str(a.get("reason", "")), b.slots(extra),
                           bot=bool(a.get("bot_only"))),
        occurred_at=record.occurred_at + timedelta(seconds=int(a.get("handle_seconds", 0))),
        unit=record.unit, external_id=f"CT-{record.external_id}", customer=_who(record),
        touchpoint="support_chat", channel="chat", language="en",
        attributes={"messages": a.get("messages"), "resolved": a.get("resolved")}))
