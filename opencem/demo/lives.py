"""One customer's life with Kestrel Lane: the contacts they make and the ones that follow.

Follow-ups are caused by what happened before - a late parcel brings a "where is my order"
call, a damaged one a refund and a complaint, an unresolved call a repeat call - so the
links that later analytics look for are really in the data.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opencem.customers.choices import Channel, IdentityKind
from opencem.customers.services import CustomerInput, InteractionInput
from opencem.demo import company as co
from opencem.demo.calendar import WINDOW_DAYS, Pattern
from opencem.demo.company import Store
from opencem.demo.people import REPS

if TYPE_CHECKING:
    from opencem.demo.generator import Generator

# persona: (share, store visits, web sessions, app sessions, calls, chats, emails,
#           social mentions, sales visits) - yearly rates before ``activity``.
PERSONAS: dict[str, tuple[float, ...]] = {
    "store_loyal": (0.35, 14, 2, 1, 0.8, 0.3, 0.3, 0.3, 0),
    "omnichannel": (0.25, 8, 6, 6, 1.2, 0.8, 0.5, 1.0, 0),
    "online_first": (0.25, 1.5, 9, 6, 1.0, 1.0, 0.6, 1.2, 0),
    "occasional": (0.12, 2.5, 2, 0.5, 0.3, 0.2, 0.2, 0.15, 0),
    "trade": (0.03, 10, 3, 0, 1.5, 0.3, 1.0, 0, 5),
}
# persona: chance of holding a loyalty card, a web/app account.
HOLDS = {
    "store_loyal": (0.9, 0.25), "omnichannel": (0.85, 1.0), "online_first": (0.3, 1.0),
    "occasional": (0.5, 0.4), "trade": (0.6, 0.5),
}
# Contact reasons and the call-centre team that owns each.
_REASONS = (
    ("where_is_my_order", co.CC_ORDERS, 0.24), ("order_change", co.CC_ORDERS, 0.12),
    ("product_question", co.CC_ORDERS, 0.12), ("return_request", co.CC_RETURNS, 0.14),
    ("refund_status", co.CC_RETURNS, 0.12), ("complaint", co.CC_RETURNS, 0.08),
    ("points_query", co.CC_LOYALTY, 0.10), ("account_access", co.CC_LOYALTY, 0.08),
)
_REASON_TEAM = {reason: team for reason, team, _ in _REASONS}
_REASON_WEIGHTS = [w for _, _, w in _REASONS]
# Seconds an average call waits per team on an ordinary day; returns is understaffed.
_TEAM_WAIT = {co.CC_ORDERS: 150, co.CC_RETURNS: 330, co.CC_LOYALTY: 90}
# carrier: (unit, late chance, damage chance, extra days when late)
_CARRIERS = {
    "parcelwise": (co.DELIVERY_PARTNER, 0.2, 0.045, 3),
    "kestrel_fleet": (co.FLEET, 0.05, 0.01, 1),
}


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson-distributed count with mean ``lam``."""
    if lam <= 0:
        return 0
    if lam > 30:  # the normal approximation is plenty for a demo and stays O(1)
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _money(amount: float) -> Decimal:
    return Decimal(f"{amount:.2f}")


@dataclass
class Person:
    """One customer's fixed traits and identities, drawn once per customer."""

    index: int
    persona: str
    name: str
    home: Store
    span: tuple[int, int]
    loyalty: str | None
    account: str | None
    email: str | None
    phone: str | None
    handle: str | None
    crm: str | None
    link_day: int  # before this day, calls arrive from a number the company cannot place
    attributes: dict[str, Any]


class LifeBuilder:
    """Builds one customer's interactions; follow-ups (deliveries, refunds, repeat calls)
    are caused by what happened before, so later analytics find real links."""

    def __init__(self, gen: Generator, rng: random.Random, person: Person) -> None:
        self.gen, self.rng, self.p, self.w = gen, rng, person, gen.window
        self.out: list[InteractionInput] = []
        self._n = 0

    # -- identities ---------------------------------------------------------------------------

    def _who(self, *kinds: tuple[str, str | None]) -> CustomerInput | None:
        # Plain strings, not the choice enums, so that any loader can write them as they are.
        pairs = tuple((str(k), v) for k, v in kinds if v)
        return CustomerInput(identities=pairs) if pairs else None

    def _phone_as_typed(self) -> str | None:
        # Systems write numbers differently; the hub normalises them to one E.164 key.
        phone = self.p.phone
        if phone and self.rng.random() < 0.5:
            return "0" + phone[3:6] + " " + phone[6:]
        return phone

    def _emit(self, *, source: str, prefix: str, channel: str, kind: str, when: datetime,
              unit: str, customer: CustomerInput | None, touchpoint: str,
              attributes: dict[str, Any], value: Decimal | None = None) -> str:
        self._n += 1
        external_id = f"{prefix}-{self.p.index + 1:07d}-{self._n:04d}"
        self.out.append(InteractionInput(
            source=source, external_id=external_id, channel=str(channel), kind=kind,
            occurred_at=when, unit=unit, customer=customer, touchpoint=touchpoint,
            value=value, attributes=attributes))
        return external_id

    def _count(self, rate_per_year: float) -> int:
        start, end = self.p.span
        return poisson(self.rng, rate_per_year * self.gen.size.activity * (end - start + 1) / 365)

    # -- the customer's life ------------------------------------------------------------------

    def build(self) -> None:
        rates = PERSONAS[self.p.persona]
        start, end = self.p.span
        rng = self.rng
        if start > 0 and self.p.loyalty:
            self._loyalty_signup(start)
        for _ in range(self._count(rates[1])):
            self._store_trip(self.w.sample_day(rng, Pattern.STORE, start, end))
        for channel, rate in ((Channel.WEB, rates[2]), (Channel.APP, rates[3])):
            if self.p.account:
                for _ in range(self._count(rate)):
                    self._session(channel, self.w.sample_day(rng, Pattern.ONLINE, start, end))
        for _ in range(self._count(rates[4])):
            self._call(self.w.sample_day(rng, Pattern.SERVICE, start, end), None, 0)
        for _ in range(self._count(rates[5])):
            self._chat(self.w.sample_day(rng, Pattern.SERVICE, start, end), None)
        for _ in range(self._count(rates[6])):
            self._email(self.w.sample_day(rng, Pattern.SERVICE, start, end), None)
        for _ in range(self._count(rates[7])):
            self._mention(self.w.sample_day(rng, Pattern.ONLINE, start, end), "product", None)
        for _ in range(self._count(rates[8])):
            self._sales_visit(self.w.sample_day(rng, Pattern.SERVICE, start, end))
        self._campaigns()

    def _loyalty_signup(self, day: int) -> None:
        # The one store record that names more than the card: the sign-up form.
        phone = self.p.phone if self.rng.random() < 0.5 and day >= self.p.link_day else None
        who = self._who((IdentityKind.LOYALTY_ID, self.p.loyalty),
                        (IdentityKind.EMAIL, self.p.email), (IdentityKind.PHONE, phone))
        self._emit(source="pos", prefix="LS", channel=Channel.STORE, kind="loyalty_signup",
                   when=self.w.at(self.rng, Pattern.STORE, day), unit=self.p.home.code,
                   customer=who, touchpoint="loyalty_signup",
                   attributes={"welcome_offer": self.rng.random() < 0.7})

    def _store_trip(self, day: int) -> None:
        rng, store = self.rng, self.gen.other_store(self.rng, self.p.home)
        when = self.w.at(rng, Pattern.STORE, day)
        load = self.w.load(day, Pattern.STORE)
        bad = 1 - store.quality
        # Queues grow with footfall and are far longer where the store is short-staffed.
        queue = round(rng.expovariate(1 / (1.5 + 8 * bad)) * (0.6 + 0.4 * load), 1)
        out_of_stock = rng.random() < 0.04 + 0.25 * bad
        scanned = self.p.loyalty is not None and rng.random() < 0.85
        who = self._who((IdentityKind.LOYALTY_ID, self._card_as_typed())) if scanned else None
        if rng.random() < (0.45 + 0.2 * bad if out_of_stock else 0.2):
            if who is None:  # a visit without a purchase leaves no trace without the app
                return
            self._emit(source="store-wifi", prefix="SV", channel=Channel.STORE, kind="visit",
                       when=when, unit=store.code, customer=who, touchpoint="store_visit",
                       attributes={"dwell_minutes": round(rng.uniform(4, 45)),
                                   "staff_helped": rng.random() < 0.2 + 0.4 * store.quality,
                                   "no_purchase_reason": rng.choice(
                                       ("just_browsing", "price", "out_of_stock", "queue"))
                                   if not out_of_stock else "out_of_stock"})
            return
        items = 1 + int(rng.expovariate(0.45))
        basket = sum(rng.lognormvariate(2.8, 0.7) for _ in range(items))
        if self.p.persona == "trade":
            basket *= 4
        promo = self.w.load(day, Pattern.STORE) > 1.25 and rng.random() < 0.6
        ref = self._emit(
            source="pos", prefix="ST", channel=Channel.STORE, kind="purchase", when=when,
            unit=store.code, customer=who, touchpoint="checkout", value=_money(basket),
            attributes={"items": items, "basket_value": round(basket, 2),
                        "payment": rng.choices(("contactless", "card", "cash", "app"),
                                               (55, 25, 12, 8))[0],
                        "queue_minutes": queue, "out_of_stock_items": int(out_of_stock),
                        "staff_helped": rng.random() < 0.15 + 0.35 * store.quality,
                        "promotion": promo})
        if rng.random() < 0.03 + 0.12 * bad:
            later = self.w.later(rng, Pattern.STORE, when, rng.randint(1, 20))
            if later.date() <= self.w.until:
                refund = basket * rng.uniform(0.2, 1.0)
                self._emit(source="pos", prefix="RF", channel=Channel.STORE, kind="refund",
                           when=later, unit=store.code, customer=who, touchpoint="returns_desk",
                           value=_money(-refund),
                           attributes={"original_ref": ref, "reason": rng.choices(
                               ("faulty", "damaged", "wrong_size", "changed_mind"),
                               (25 + 40 * bad, 15 + 30 * bad, 25, 35))[0],
                               "days_after_purchase": (later.date() - when.date()).days})

    def _card_as_typed(self) -> str | None:
        card = self.p.loyalty
        if card and self.rng.random() < 0.2:  # keyed in by hand at the till
            return f"{card[:2].lower()} {card[2:6]} {card[6:]}"
        return card

    def _session(self, channel: str, day: int) -> None:
        rng = self.rng
        when = self.w.at(rng, Pattern.ONLINE, day)
        web = channel == Channel.WEB
        load = self.w.load(day, Pattern.ONLINE)
        converted = rng.random() < (0.14 if web else 0.2) * min(load, 2.5) ** 0.5
        pages = 1 + int(rng.expovariate(1 / (9 if converted else 4)))
        self._emit(source="webshop" if web else "app", prefix="WS" if web else "AS",
                   channel=channel, kind="session", when=when, unit=co.WEB if web else co.APP,
                   customer=self._who((IdentityKind.ACCOUNT_ID, self.p.account)),
                   touchpoint="browse",
                   attributes={"pages": pages,
                               "device": ("app" if not web else rng.choices(
                                   ("mobile", "desktop", "tablet"), (60, 32, 8))[0]),
                               "duration_seconds": int(pages * rng.uniform(20, 70)),
                               "search_used": rng.random() < 0.45,
                               "converted": converted,
                               "cart_abandoned": not converted and rng.random() < 0.2})
        if converted:
            self._order(channel, when + timedelta(minutes=rng.randint(2, 25)), day)

    def _order(self, channel: str, when: datetime, day: int) -> None:
        rng = self.rng
        web = channel == Channel.WEB
        items = 1 + int(rng.expovariate(0.6))
        basket = sum(rng.lognormvariate(3.2, 0.8) for _ in range(items))
        collect = rng.random() < 0.25
        bulky = basket > 250 and rng.random() < 0.5
        method = "click_collect" if collect else ("two_person" if bulky else
                 rng.choices(("standard", "next_day"), (75, 25))[0])
        ref = self._emit(
            source="webshop" if web else "app", prefix="WO" if web else "AO", channel=channel,
            kind="order", when=when, unit=co.WEB if web else co.APP, touchpoint="checkout",
            customer=self._who((IdentityKind.ACCOUNT_ID, self.p.account),
                               (IdentityKind.EMAIL, self.p.email),
                               (IdentityKind.LOYALTY_ID, self.p.loyalty)),
            value=_money(basket),
            attributes={"items": items, "basket_value": round(basket, 2),
                        "delivery_method": method,
                        "payment": rng.choices(("card", "paypal", "klarna", "gift_card"),
                                               (60, 25, 10, 5))[0],
                        "promo_code": rng.random() < 0.2 * self.w.load(day, Pattern.ONLINE)})
        if collect:
            self._collect(when, ref)
        else:
            self._delivery(when, ref, method, basket, channel)

    def _collect(self, ordered: datetime, ref: str) -> None:
        rng, store = self.rng, self.p.home
        when = self.w.later(rng, Pattern.STORE, ordered, rng.randint(1, 3))
        if when.date() > self.w.until:
            return
        self._emit(source="pos", prefix="CC", channel=Channel.STORE, kind="click_collect",
                   when=when, unit=store.code, touchpoint="click_collect",
                   customer=self._who((IdentityKind.EMAIL, self.p.email),
                                      (IdentityKind.ACCOUNT_ID, self.p.account)),
                   attributes={"order_ref": ref,
                               "wait_minutes": round(rng.expovariate(
                                   1 / (2 + 10 * (1 - store.quality))), 1),
                               "ready_on_time": rng.random() < 0.6 + 0.38 * store.quality})

    def _delivery(self, ordered: datetime, ref: str, method: str, basket: float,
                  channel: str) -> None:
        rng = self.rng
        carrier = "kestrel_fleet" if method == "two_person" or rng.random() < 0.2 else "parcelwise"
        unit, late_p, damage_p, extra = _CARRIERS[carrier]
        day = (ordered.date() - self.w.start).days
        load = self.w.load(day, Pattern.ONLINE)
        promised = {"next_day": 1, "standard": 3, "two_person": 7}[method]
        # The partner copes badly with peaks: lateness climbs with the season.
        late = rng.random() < late_p * (1 + max(0.0, load - 1) * 1.5)
        actual = promised + (rng.randint(1, extra + 1) if late else -int(rng.random() < 0.2))
        actual = max(actual, 1)
        when = self.w.later(rng, Pattern.STORE, ordered, actual)
        if when.date() > self.w.until:
            return
        damaged = rng.random() < damage_p
        # A late linker gave the shop no phone number until the link day.
        phone = self._phone_as_typed() if day + actual >= self.p.link_day else None
        self._emit(source=carrier, prefix="DL", channel=Channel.DELIVERY, kind="delivery",
                   when=when, unit=unit, touchpoint="delivery",
                   customer=self._who((IdentityKind.EMAIL, self.p.email),
                                      (IdentityKind.PHONE, phone)),
                   attributes={"order_ref": ref, "carrier": carrier, "service": method,
                               "promised_days": promised, "actual_days": actual,
                               "late": actual > promised, "damaged": damaged,
                               "first_attempt": rng.random() < (0.75 if late else 0.93)})
        if actual > promised and rng.random() < 0.4:
            self._contact(when - timedelta(days=rng.randint(0, actual - promised)),
                          "where_is_my_order")
        if damaged:
            refund_at = when + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
            if refund_at.date() <= self.w.until:
                web = channel == Channel.WEB
                self._emit(source="webshop" if web else "app", prefix="WR", channel=channel,
                           kind="refund", when=refund_at, unit=co.WEB if web else co.APP,
                           touchpoint="returns", value=_money(-basket),
                           customer=self._who((IdentityKind.ACCOUNT_ID, self.p.account)),
                           attributes={"original_ref": ref, "reason": "damaged_in_transit"})
            if rng.random() < 0.5:
                self._contact(when + timedelta(hours=rng.randint(1, 30)), "complaint")
        if (actual > promised or damaged) and self.p.handle and rng.random() < 0.25:
            self._mention((when.date() - self.w.start).days, "delivery", "negative")

    def _contact(self, when: datetime, reason: str) -> None:
        """A follow-up by phone or chat about something that went wrong."""
        day = (when.date() - self.w.start).days
        if day >= WINDOW_DAYS:
            return
        if self.p.phone and self.rng.random() < 0.65:
            self._call(day, reason, 0)
        else:
            self._chat(day, reason)

    def _call(self, day: int, reason: str | None, repeat: int) -> None:
        if not self.p.phone:
            return
        rng = self.rng
        reason = reason or rng.choices([r for r, _, _ in _REASONS], _REASON_WEIGHTS)[0]
        team = _REASON_TEAM[reason]
        when = self.w.at(rng, Pattern.SERVICE, day)
        load = self.w.load(day, Pattern.SERVICE)
        # Waiting grows faster than linearly with load: queues are non-linear near capacity.
        wait = int(rng.expovariate(1 / (_TEAM_WAIT[team] * load ** 1.8)))
        abandoned = wait > 600 and rng.random() < 0.5
        # Until the link day the agent takes the call without checking who it is, so the
        # hub knows only a number; afterwards the agent confirms the email or card.
        verified = day >= self.p.link_day and rng.random() < 0.6
        extra = (IdentityKind.EMAIL, self.p.email) if self.p.email else (
            IdentityKind.LOYALTY_ID, self.p.loyalty)
        who = self._who((IdentityKind.PHONE, self._phone_as_typed()),
                        extra if verified else ("", None))
        transfers = 0 if abandoned else rng.choices((0, 1, 2), (78, 18, 4))[0]
        resolved = (not abandoned and rng.random() < (0.78 if team != co.CC_RETURNS else 0.62)
                    - 0.2 * transfers)
        self._emit(source="telephony", prefix="CL", channel=Channel.CALL_CENTRE, kind="call",
                   when=when, unit=team, customer=who, touchpoint="support_call",
                   attributes={"reason": reason, "wait_seconds": wait,
                               "handle_seconds": 0 if abandoned else
                               int(rng.lognormvariate(5.8, 0.5)),
                               "transfers": transfers, "resolved": resolved,
                               "abandoned": abandoned, "repeat_contact": repeat > 0})
        if not resolved and repeat < 2 and rng.random() < 0.55:
            follow = day + rng.randint(0 if abandoned else 1, 5)
            if follow < WINDOW_DAYS:
                self._call(follow, reason, repeat + 1)

    def _chat(self, day: int, reason: str | None) -> None:
        rng = self.rng
        who = self._who((IdentityKind.ACCOUNT_ID, self.p.account)) or self._who(
            (IdentityKind.EMAIL, self.p.email))
        if who is None:
            return
        reason = reason or rng.choices([r for r, _, _ in _REASONS], _REASON_WEIGHTS)[0]
        bot = rng.random() < 0.3
        load = self.w.load(day, Pattern.SERVICE)
        self._emit(source="chat", prefix="CH", channel=Channel.CHAT, kind="chat",
                   when=self.w.at(rng, Pattern.SERVICE, day), unit=_REASON_TEAM[reason],
                   customer=who, touchpoint="support_chat",
                   attributes={"reason": reason, "bot_only": bot,
                               "wait_seconds": 0 if bot else int(rng.expovariate(1 / (40 * load))),
                               "handle_seconds": int(rng.lognormvariate(5.5, 0.6)),
                               "messages": rng.randint(3, 30),
                               "resolved": rng.random() < (0.55 if bot else 0.8)})

    def _email(self, day: int, reason: str | None) -> None:
        if not self.p.email:
            return
        rng = self.rng
        reason = reason or rng.choices([r for r, _, _ in _REASONS], _REASON_WEIGHTS)[0]
        load = self.w.load(day, Pattern.SERVICE)
        self._emit(source="helpdesk", prefix="EM", channel=Channel.EMAIL, kind="email",
                   when=self.w.at(rng, Pattern.ONLINE, day), unit=_REASON_TEAM[reason],
                   customer=self._who((IdentityKind.EMAIL, self._email_as_typed())),
                   touchpoint="support_email",
                   attributes={"reason": reason,
                               "response_hours": round(rng.expovariate(1 / (6 * load ** 2)), 1),
                               "messages": rng.randint(1, 6),
                               "resolved": rng.random() < 0.75})

    def _email_as_typed(self) -> str | None:
        email = self.p.email
        if email and self.rng.random() < 0.15:
            return email.title()  # "Ann.Lee.7@Example.Com": the hub lower-cases it
        return email

    def _mention(self, day: int, topic: str, tone: str | None) -> None:
        if not self.p.handle or day >= WINDOW_DAYS:
            return
        rng = self.rng
        tone = tone or rng.choices(("positive", "neutral", "negative"), (40, 40, 20))[0]
        when = self.w.at(rng, Pattern.ONLINE, day)
        self._emit(source="social-listening", prefix="SM", channel=Channel.SOCIAL,
                   kind="mention", when=when, unit=co.SOCIAL, touchpoint="social",
                   customer=self._who((IdentityKind.SOCIAL_HANDLE, self.p.handle)),
                   attributes={"platform": rng.choice(("instagram", "x", "facebook", "tiktok")),
                               "topic": topic, "tone": tone,
                               "followers": int(rng.lognormvariate(5, 1.5))})
        if tone == "negative" and self.p.email and rng.random() < 0.5:
            # The social team answers in a direct message and asks for the order email:
            # the record that ties a handle to a known customer.
            self._emit(source="social-care", prefix="DM", channel=Channel.SOCIAL,
                       kind="direct_message", when=when + timedelta(hours=rng.randint(1, 20)),
                       unit=co.SOCIAL, touchpoint="social_care",
                       customer=self._who((IdentityKind.SOCIAL_HANDLE, self.p.handle),
                                          (IdentityKind.EMAIL, self.p.email)),
                       attributes={"response_minutes": int(rng.expovariate(1 / 90)),
                                   "resolved": rng.random() < 0.7})

    def _sales_visit(self, day: int) -> None:
        rng = self.rng
        outcome = rng.choices(("order", "quote", "follow_up", "no_interest"), (30, 35, 25, 10))[0]
        amount = rng.lognormvariate(7, 0.8)
        self._emit(source="crm", prefix="SA", channel=Channel.SALES_VISIT, kind="sales_visit",
                   when=self.w.at(rng, Pattern.SERVICE, day), unit=co.SALES,
                   touchpoint="sales_visit",
                   customer=self._who((IdentityKind.CRM_ID, self.p.crm),
                                      (IdentityKind.EMAIL, self.p.email)),
                   value=_money(amount) if outcome == "order" else None,
                   attributes={"rep": rng.choice(REPS), "outcome": outcome,
                               "duration_minutes": rng.choice((30, 45, 60, 90)),
                               "quote_value": round(amount, 2) if outcome == "quote" else None})

    def _campaigns(self) -> None:
        if not (self.p.email and self.p.attributes["marketing_consent"]):
            return
        rng = self.rng
        start, end = self.p.span
        reach = 0.5 * self.gen.size.activity
        for campaign in self.gen.campaigns:
            if not start <= campaign.offset <= end or rng.random() >= reach:
                continue
            push = campaign.kind == "campaign_push"
            if push and not self.p.account:
                continue
            opened = rng.random() < (0.5 if push else 0.32)
            self._emit(source="marketing", prefix="MC", channel=Channel.CAMPAIGN,
                       kind=campaign.kind,
                       when=self.w.at(rng, Pattern.ONLINE, campaign.offset),
                       unit=co.MARKETING, touchpoint="campaign",
                       customer=self._who((IdentityKind.ACCOUNT_ID, self.p.account) if push
                                          else (IdentityKind.EMAIL, self.p.email)),
                       attributes={"campaign": campaign.code, "opened": opened,
                                   "clicked": opened and rng.random() < 0.25,
                                   "unsubscribed": rng.random() < 0.003})
