"""The voice of Kestrel Lane's customers: survey answers and unsolicited feedback that follow
from what really happened to each of them.

Every contact a customer would have an opinion about gets an ``Experience``: a score (about
-3, awful, to +1.5, delightful) worked out from the facts in its attributes (minutes queued,
days late, whether the call resolved anything, the state of the store) and the themes the
customer would mention. Ratings and the chance of answering at all are drawn from it, so the
poorly run stores, the late delivery partner and the slow returns team come out clearly
worse, busy weeks dip, and comments name the real causes. Relational NPS reflects the last
months of a customer's experiences.

Like the interactions, the voice is a pure function of (seed, size, until): each customer
draws from a random stream of its own, separate from the one that made their interactions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from opencem.customers.choices import IdentityKind
from opencem.customers.services import CustomerInput, InteractionInput
from opencem.demo import company as co
from opencem.demo import phrases as ph
from opencem.demo import unsolicited
from opencem.demo.calendar import WINDOW_DAYS, ZONE, Pattern

if TYPE_CHECKING:
    from opencem.demo.generator import Generator
    from opencem.demo.lives import Person
    from opencem.feedback.services import FeedbackInput

SOURCE = "surveys"
NPS, CSAT, CES = "relational_nps", "transactional_csat", "support_ces"
Theme = tuple[str, bool]


@dataclass(frozen=True)
class TriggerSpec:
    """A trigger the demo sets up; its history was sampled and delayed the same way."""

    survey: str
    name: str
    kinds: tuple[str, ...]
    channels: tuple[str, ...]
    sample_percent: int
    delay_minutes: int
    hidden: dict[str, str]
    answer_rate: float


TRIGGERS = (
    TriggerSpec(CSAT, "After a store visit", ("purchase", "click_collect", "refund"),
                ("store",), 80, 120, {"touchpoint": "kind", "store": "unit"}, 0.25),
    TriggerSpec(CSAT, "After a delivery", ("delivery",), (), 80, 240,
                {"touchpoint": "kind", "order_id": "attributes.order_ref"}, 0.22),
    TriggerSpec(CSAT, "After a call", ("call",), (), 60, 30, {"touchpoint": "kind"}, 0.18),
    TriggerSpec(CES, "After a chat or email", ("chat", "email"), (), 100, 60,
                {"case_id": "external_id"}, 0.22),
)


@dataclass(frozen=True)
class RuleSpec:
    """A contact rule the demo sets up, and its history obeyed."""

    segment: tuple[str, str] | None
    max_invitations: int
    period_days: int
    min_gap_days: int


RULES = (RuleSpec(None, 2, 30, 7), RuleSpec(("segment", "trade"), 1, 30, 7))
# Relational NPS goes to a sample of customers four times a year, mid-month.
NPS_MONTHS = (1, 4, 7, 10)
NPS_SAMPLE = 0.35
NPS_ANSWER_RATE = 0.2
PARTIAL = 0.08  # share of respondents who leave before the end
_PERSONA_MOOD = {"store_loyal": 0.25, "omnichannel": 0.1, "online_first": 0.0,
                 "occasional": -0.3, "trade": 0.0}
_IMPROVE = {ph.WAIT: "staff", ph.STAFF: "staff", ph.STOCK: "range", ph.QUALITY: "range",
            ph.DELIVERY: "delivery", ph.DAMAGE: "delivery", ph.DIGITAL: "website",
            ph.PRICE: "price", ph.REFUND: "staff"}
_IMPROVE_OTHER = ("Longer opening hours", "More parking", "Bring back the catalogue",
                  "Cheaper delivery")
_STORES = {s.code: s for s in co.STORES}


@dataclass(frozen=True)
class Experience:
    """How one contact went for the customer, and what they would say about it."""

    score: float
    themes: tuple[Theme, ...]
    slots: dict[str, str] = field(default_factory=dict)
    context: str = ""  # where it happened, to pick fitting sentences (phrases.STORE, ...)
    weight: float = 1.0  # how much it colours the customer's view of the company


@dataclass(frozen=True)
class ResponsePlan:
    """A survey response to store: answers to the named template's published version."""

    survey: str
    external_id: str
    interaction: tuple[str, str] | None  # (source, external_id) of what it is about
    customer: CustomerInput
    unit: str
    touchpoint: str
    channel: str
    language: str
    answers: dict[str, Any]
    complete: bool
    started_at: datetime
    submitted_at: datetime | None


@dataclass
class Voice:
    """One customer's responses and unsolicited feedback."""

    responses: list[ResponsePlan] = field(default_factory=list)
    feedback: list[FeedbackInput] = field(default_factory=list)


def nps_waves(start: date) -> list[int]:
    """Window offsets of the relational NPS waves."""
    waves = []
    for year in range(start.year, start.year + 3):
        for month in NPS_MONTHS:
            offset = (date(year, month, 12) - start).days
            if 0 <= offset < WINDOW_DAYS:
                waves.append(offset)
    return waves


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _trigger_for(record: InteractionInput) -> TriggerSpec | None:
    for spec in TRIGGERS:
        if record.kind in spec.kinds and (not spec.channels or record.channel in spec.channels):
            return spec
    return None


class VoiceBuilder:
    """Works out one customer's voice from their (time-ordered) interactions."""

    def __init__(self, gen: Generator, person: Person,
                 records: list[InteractionInput]) -> None:
        self.gen, self.p, self.w, self.records = gen, person, gen.window, records
        # Reproducible simulation, not security; a text seed is hashed the same everywhere.
        self.rng = random.Random(f"voice:{gen.seed}:{person.index}")  # noqa: S311
        rng = self.rng
        self.end = datetime.combine(self.w.until + timedelta(days=1), time(), tzinfo=ZONE)
        # Traits of the person: how generous their scores are, how much they write, and
        # the language they write in.
        self.bias = rng.gauss(0, 0.35)
        self.verbosity = rng.uniform(0.35, 0.9)
        roll = rng.random()
        self.language = "fr" if roll < 0.012 else "de" if roll < 0.024 else (
            "es" if roll < 0.035 else "en")
        first = person.name.split()[0]
        self.author = f"{first} {person.name.split()[-1][0]}."
        self.pii_email = person.email or f"{first.lower()}{rng.randrange(10, 99)}@example.net"
        self.pii_phone = (ph.phone_as_written(person.phone) if person.phone
                          else f"07700 900{rng.randrange(1000):03d}")
        self.invitable = person.email is not None and any(
            kind == IdentityKind.EMAIL for r in records if r.customer
            for kind, _ in r.customer.identities)
        self.rule = RULES[1] if person.persona == "trade" else RULES[0]
        self.out = Voice()

    def _day(self, when: datetime) -> int:
        return (when.date() - self.w.start).days

    # -- what each contact was like ----------------------------------------------------------

    def experience(self, r: InteractionInput) -> Experience | None:
        """The customer's view of one contact; None for contacts without one."""
        if r.channel == "store" and r.unit in _STORES:
            if r.kind == "purchase":
                return self._purchase(r)
            if r.kind == "visit":
                reason = r.attributes.get("no_purchase_reason")
                bad = {"out_of_stock": (ph.STOCK, -0.8), "queue": (ph.WAIT, -0.7)}.get(
                    str(reason))
                return Experience(bad[1], ((bad[0], False),), context=ph.STORE) if bad \
                    else None
            if r.kind == "click_collect":
                return self._collect(r)
            if r.kind == "refund":
                return self._store_refund(r)
            return None
        if r.kind == "delivery":
            return self._delivery(r)
        if r.kind in ("call", "chat", "email"):
            return self._support(r)
        if r.kind == "session":
            a = r.attributes
            score = 0.3 if a.get("converted") else (-0.5 if a.get("cart_abandoned") else 0.0)
            return Experience(score, ((ph.DIGITAL, score >= 0),), weight=0.3)
        if r.kind == "mention":
            tone = r.attributes.get("tone")
            return Experience({"positive": 0.5, "negative": -1.0}.get(str(tone), 0.0), (),
                              weight=0.5)
        return None

    def _strain(self, r: InteractionInput, pattern: Pattern) -> float:
        # Busy weeks wear everyone down beyond what the recorded facts show.
        return 0.25 * max(0.0, self.w.load(self._day(r.occurred_at), pattern) - 1.3)

    def _purchase(self, r: InteractionInput) -> Experience:
        q, a = _STORES[r.unit].quality, r.attributes
        queue = float(a.get("queue_minutes", 0))
        out_of_stock, helped = bool(a.get("out_of_stock_items")), bool(a.get("staff_helped"))
        score = (1.6 * (q - 0.75) - min(1.5, 0.12 * max(0.0, queue - 3)) - 0.9 * out_of_stock
                 + 0.35 * helped + 0.15 * bool(a.get("promotion"))
                 - self._strain(r, Pattern.STORE))
        themes: list[Theme] = []
        if queue >= 6:
            themes.append((ph.WAIT, False))
        elif queue < 2 and self.rng.random() < 0.5:
            themes.append((ph.WAIT, True))
        if out_of_stock:
            themes.append((ph.STOCK, False))
        if helped:
            themes.append((ph.STAFF, True))
        elif q < 0.5 and self.rng.random() < 0.6:
            themes.append((ph.STAFF, False))
        if self.rng.random() < 0.3:
            themes.append((self.rng.choice((ph.PRICE, ph.QUALITY)), score > -0.3))
        return Experience(score, tuple(themes), {"town": _STORES[r.unit].town,
                                                 "minutes": str(max(6, round(queue)))},
                          ph.STORE)

    def _collect(self, r: InteractionInput) -> Experience:
        q, a = _STORES[r.unit].quality, r.attributes
        wait, ready = float(a.get("wait_minutes", 0)), bool(a.get("ready_on_time"))
        score = 0.2 + 1.2 * (q - 0.75) - min(1.2, 0.1 * max(0.0, wait - 3)) - 1.0 * (not ready)
        themes: list[Theme] = [(ph.STOCK, ready)]
        if wait >= 6 or wait < 3:
            themes.append((ph.WAIT, wait < 3))
        return Experience(score, tuple(themes), {"town": _STORES[r.unit].town,
                                                 "minutes": str(max(6, round(wait)))},
                          ph.STORE)

    def _store_refund(self, r: InteractionInput) -> Experience:
        q = _STORES[r.unit].quality
        faulty = r.attributes.get("reason") in ("faulty", "damaged")
        score = 0.2 + 1.4 * (q - 0.75) - 0.5 * faulty
        themes: list[Theme] = [(ph.QUALITY, False)] if faulty else []
        themes.append((ph.REFUND, q >= 0.6))
        if self.rng.random() < 0.4:
            themes.append((ph.STAFF, q >= 0.6))
        return Experience(score, tuple(themes), {"town": _STORES[r.unit].town,
                                                 "days": str(self.rng.randint(8, 25))},
                          ph.STORE)

    def _delivery(self, r: InteractionInput) -> Experience:
        a = r.attributes
        partner = a.get("carrier") == "parcelwise"
        late_days = max(0, int(a.get("actual_days", 0)) - int(a.get("promised_days", 0)))
        damaged, first = bool(a.get("damaged")), bool(a.get("first_attempt", True))
        score = ((-0.25 if partner else 0.3) - 0.75 * min(late_days, 3) - 1.8 * damaged
                 - 0.5 * (not first) - self._strain(r, Pattern.ONLINE))
        themes: list[Theme] = []
        if late_days:
            themes.append((ph.DELIVERY, False))
        if damaged:
            themes.append((ph.DAMAGE, False))
        if not late_days and not damaged:
            themes.append((ph.DELIVERY, True))
            if self.rng.random() < 0.2:
                themes.append((ph.DAMAGE, True))
        if self.rng.random() < 0.15:
            themes.append((ph.DIGITAL, score > -0.3))
        return Experience(score, tuple(themes), {
            "partner": "Parcelwise" if partner else "", "days": str(max(late_days, 2)),
            "order": str(a.get("order_ref", ""))})

    def _support(self, r: InteractionInput) -> Experience:
        a, rng = r.attributes, self.rng
        returns = r.unit == co.CC_RETURNS
        resolved, reason = bool(a.get("resolved")), str(a.get("reason", ""))
        slots = {"minutes": "20", "days": "3"}
        if r.kind == "call":
            wait = int(a.get("wait_seconds", 0))
            slow = wait > 300
            slots["minutes"] = str(max(5, round(wait / 60)))
            score = (0.45 - min(2.0, 0.004 * max(0, wait - 90)) + (0.45 if resolved else -1.1)
                     - 0.3 * int(a.get("transfers", 0)) - 0.5 * bool(a.get("repeat_contact"))
                     - (1.0 if a.get("abandoned") else 0.0))
        elif r.kind == "chat":
            wait = int(a.get("wait_seconds", 0))
            slow = wait > 180
            slots["minutes"] = str(max(5, round(wait / 60)))
            score = (0.3 - min(1.5, 0.01 * max(0, wait - 60)) + (0.5 if resolved else -1.2)
                     - (0.4 if a.get("bot_only") and not resolved else 0.0)
                     - 0.03 * max(0, int(a.get("messages", 0)) - 15))
        else:
            hours = float(a.get("response_hours", 0))
            slow = hours > 24
            slots["days"] = str(max(2, round(hours / 24)))
            score = (0.2 - min(1.5, 0.04 * max(0.0, hours - 8)) + (0.5 if resolved else -1.1)
                     - 0.12 * max(0, int(a.get("messages", 0)) - 3))
        # The returns team is short-handed: refunds drag on even when the call goes well.
        score -= 0.35 if returns else 0.0
        themes: list[Theme] = []
        if slow:
            themes.append((ph.WAIT, False))
        elif rng.random() < 0.4:
            themes.append((ph.WAIT, True))
        if reason in ("return_request", "refund_status"):
            themes.append((ph.REFUND, resolved and not returns))
        elif reason == "where_is_my_order":
            themes.append((ph.DELIVERY, False))
        elif reason == "account_access" or (r.kind == "chat" and a.get("bot_only")):
            themes.append((ph.DIGITAL, resolved))
        elif reason == "complaint":
            themes.append((rng.choice((ph.QUALITY, ph.DAMAGE)), False))
        themes.append((ph.STAFF, resolved))
        return Experience(score, tuple(themes), slots,
                          ph.PHONE if r.kind == "call" else ph.WRITING)

    # -- surveys -------------------------------------------------------------------------

    def build(self) -> Voice:
        """Every response (in the order of their invitations) and feedback item of this
        customer."""
        rng, (start, end) = self.rng, self.p.span
        lived = [(r, self.experience(r)) for r in self.records]
        candidates: list[tuple[datetime, str, InteractionInput | None, Experience | None,
                               TriggerSpec | None]] = []
        for record, exp in lived:
            spec = _trigger_for(record)
            if (spec is None or exp is None or record.customer is None or not self.invitable
                    or rng.random() * 100 >= spec.sample_percent):
                continue
            candidates.append((record.occurred_at + timedelta(minutes=spec.delay_minutes),
                               spec.survey, record, exp, spec))
        for offset in nps_waves(self.w.start):
            if start <= offset <= end and self.invitable and rng.random() < NPS_SAMPLE:
                candidates.append((self.w.at(rng, Pattern.ONLINE, offset), NPS, None, None,
                                   None))
        candidates.sort(key=lambda c: (c[0], c[1]))
        invited: list[datetime] = []
        for when, _, about, felt, spec in candidates:
            if not self._may_invite(when, invited):
                continue  # the contact rule held this invitation back
            invited.append(when)
            if about is not None and felt is not None and spec is not None:
                self._transactional(when, spec, about, felt)
            else:
                self._relational(when, lived)
        unsolicited.collect(self, lived)
        return self.out

    def _may_invite(self, when: datetime, invited: list[datetime]) -> bool:
        rule = self.rule
        if invited and when - invited[-1] < timedelta(days=rule.min_gap_days):
            return False
        since = when - timedelta(days=rule.period_days)
        return sum(1 for t in invited if t > since) < rule.max_invitations

    def _answers_at(self, invited: datetime) -> datetime:
        roll = self.rng.random()
        hours = (self.rng.uniform(0.05, 6) if roll < 0.6 else self.rng.uniform(6, 48)
                 if roll < 0.9 else self.rng.uniform(48, 144))
        return invited + timedelta(hours=hours)

    def _answers(self, rate: float, score: float) -> bool:
        # The delighted and the furious answer more often than the merely satisfied.
        return self.rng.random() < rate * (1 + 0.35 * min(abs(score), 2.5))

    def slots(self, extra: dict[str, str]) -> dict[str, str]:
        """Words to fill the phrases with: the contact's own (``extra``) over defaults."""
        rng = self.rng
        return {"town": self.p.home.town, "minutes": "20", "days": "5", "partner": "",
                "item": rng.choice(ph.ITEMS), "staff": rng.choice(ph.STAFF_NAMES),
                "order": f"KL{rng.randrange(1_000_000, 10_000_000)}",
                "email": self.pii_email, "phone": self.pii_phone, **extra}

    def pick(self, themes: tuple[Theme, ...] | list[Theme], tone: int,
             fallback: tuple[str, ...]) -> list[Theme]:
        """The themes a comment of this tone (-1, 0, 1) dwells on: one or two."""
        rng = self.rng
        negative = [t for t in themes if not t[1]]
        positive = [t for t in themes if t[1]]
        if tone < 0:
            chosen = negative or [(rng.choice(fallback), False)]
        elif tone > 0:
            chosen = positive or [(rng.choice(fallback), True)]
        else:
            chosen = negative[:1] + positive[:1]
            rng.shuffle(chosen)
            chosen = chosen or [(rng.choice(fallback), rng.random() < 0.5)]
        return chosen[: 1 + (rng.random() < 0.45)]

    def comment(self, themes: list[Theme], slots: dict[str, str], context: str = "") -> str:
        """A comment in the customer's language; now and then with their contact details."""
        return ph.comment(self.rng, themes, slots, language=self.language, context=context,
                          pii=self.rng.random() < 0.03)

    def _wants_to_write(self, score: float) -> bool:
        return self.rng.random() < min(0.95, self.verbosity * (0.6 + 0.25 * min(abs(score), 2)))

    def _transactional(self, invited: datetime, spec: TriggerSpec, record: InteractionInput,
                       exp: Experience) -> None:
        rng = self.rng
        if not self._answers(spec.answer_rate, exp.score):
            return
        started = self._answers_at(invited)
        if started >= self.end:
            return
        complete = rng.random() >= PARTIAL
        answers: dict[str, Any] = {}
        if spec.survey == CSAT:
            score = _clamp(4.1 + self.bias + exp.score + rng.gauss(0, 0.7), 1, 5)
            answers["csat"], tone = score, (score >= 4) - (score <= 2)
            fallback: tuple[str, ...] = ((ph.STAFF, ph.PRICE, ph.QUALITY)
                                         if record.channel == "store"
                                         else (ph.DIGITAL, ph.PRICE) if record.kind == "delivery"
                                         else (ph.STAFF,))
        else:
            score = _clamp(5.4 + 1.3 * (self.bias + exp.score) + rng.gauss(0, 0.9), 1, 7)
            answers["ces"], tone, fallback = score, (score >= 5) - (score <= 3), (ph.STAFF,)
            if complete:
                resolved = bool(record.attributes.get("resolved"))
                answers["resolved"] = (("yes" if rng.random() < 0.9 else "partly") if resolved
                                       else ("no" if rng.random() < 0.7 else "partly"))
        for hidden_id, source in spec.hidden.items():
            value = (record.unit if source == "unit" else
                     getattr(record, source) if source in ("kind", "external_id") else
                     record.attributes.get(source.removeprefix("attributes.")))
            if value not in (None, ""):
                answers[hidden_id] = value
        if complete and self._wants_to_write(exp.score):
            answers["reason"] = self.comment(self.pick(exp.themes, tone, fallback),
                                             self.slots(exp.slots), exp.context)
        assert record.customer is not None
        self._plan(survey=spec.survey,
                   external_id=f"{spec.survey[:4].upper()}-{record.external_id}",
                   interaction=(record.source, record.external_id),
                   customer=CustomerInput(identities=record.customer.identities),
                   unit=record.unit, touchpoint=record.touchpoint, channel=record.channel,
                   answers=answers, complete=complete, started=started)

    def _plan(self, *, survey: str, external_id: str, interaction: tuple[str, str] | None,
              customer: CustomerInput, unit: str, touchpoint: str, channel: str,
              answers: dict[str, Any], complete: bool, started: datetime) -> None:
        submitted = (started + timedelta(seconds=self.rng.randint(40, 480))) if complete else None
        self.out.responses.append(ResponsePlan(
            survey=survey, external_id=external_id, interaction=interaction, customer=customer,
            unit=unit, touchpoint=touchpoint, channel=channel, language=self.language,
            answers=answers, complete=complete, started_at=started,
            submitted_at=submitted if submitted and submitted < self.end else None))

    def _relational(self, invited: datetime,
                    lived: list[tuple[InteractionInput, Experience | None]]) -> None:
        rng, p = self.rng, self.p
        day = self._day(invited)
        recent = [(day - self._day(r.occurred_at), e) for r, e in lived
                  if e is not None and 0 <= day - self._day(r.occurred_at) < 120]
        weights = [e.weight * (1 - age / 240) for age, e in recent]
        history = (sum(w * e.score for w, (_, e) in zip(weights, recent, strict=True))
                   / sum(weights)) if weights else 0.0
        online = p.persona == "online_first"
        mood = (history + _PERSONA_MOOD[p.persona]
                + (0.0 if online else 1.2 * (p.home.quality - 0.75)))
        if not self._answers(NPS_ANSWER_RATE, mood):
            return
        started = self._answers_at(invited)
        if started >= self.end:
            return
        complete = rng.random() >= PARTIAL
        nps = _clamp(7.9 + 1.7 * (self.bias + mood) + rng.gauss(0, 1.3), 0, 10)
        answers: dict[str, Any] = {"nps": nps}
        ranked = sorted((e for _, e in recent), key=lambda e: e.score)
        themes = [t for e in ranked[:3] for t in e.themes if not t[1]] + [
            t for e in ranked[::-1][:3] for t in e.themes if t[1]]
        if complete:
            if nps <= 8 and rng.random() < 0.8:
                picks = list(dict.fromkeys(_IMPROVE[t] for t, praise in themes if not praise))
                improve: list[Any] = picks[:2] or [rng.choice(list(dict.fromkeys(
                    _IMPROVE.values())))]
                if rng.random() < 0.05:
                    improve.append({"other": rng.choice(_IMPROVE_OTHER)})
                answers["improve"] = improve
            answers["contact_ok"] = rng.random() < 0.4
            if self._wants_to_write(mood):
                tone = (nps >= 9) - (nps <= 6)
                answers["reason"] = self.comment(
                    self.pick(themes, tone, (ph.PRICE, ph.QUALITY, ph.DIGITAL, ph.STAFF)),
                    self.slots({}))
        answers["store"], answers["channel"] = p.home.code, "email"
        wave = invited.strftime("%Y-%m")
        self._plan(survey=NPS, external_id=f"NPS-{wave}-{p.index + 1:07d}", interaction=None,
                   customer=CustomerInput(identities=((str(IdentityKind.EMAIL), str(p.email)),)),
                   unit=co.WEB if online else p.home.code, touchpoint="relationship",
                   channel="", answers=answers, complete=complete, started=started)

