"""The demo customers and their two years of interactions, as a stream of InteractionInput.

Everything is a pure function of (seed, size, until): customer ``i`` draws from its own
``random.Random`` seeded by the seed and ``i``, so the output never depends on the order or
the number of customers generated before it, and the stream needs memory for one customer at
a time (the large size is a million customers).

People are recognised the way a real hub sees them: the tills know a loyalty card, the web
shop an account and an email, the telephony a phone number, the courier an email and a
phone, social listening a handle. Some records carry two identities (an online order with
the loyalty card added, a call where the agent checked the email), and that is what lets
the hub resolve the fragments into one customer. A few customers call from a number the
company only learns later, so the hub first sees them as strangers and merges them after.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

from opencem.customers.choices import IdentityKind
from opencem.customers.services import InteractionInput
from opencem.demo import company as co
from opencem.demo.calendar import WINDOW_DAYS, Window, campaigns
from opencem.demo.company import Organisation, Store
from opencem.demo.lives import HOLDS, PERSONAS, LifeBuilder, Person
from opencem.demo.people import FIRST_NAMES, LAST_NAMES
from opencem.demo.voice import Voice, VoiceBuilder


@dataclass(frozen=True)
class Size:
    """How big a demo is: customers, the slice of the organisation, and how active people are.

    ``activity`` scales every contact rate; it is tuned so that each size lands near its
    intended number of interactions (``expected`` per customer, used for the progress bar).
    """

    name: str
    customers: int
    regions: int
    stores_per_region: int | None
    activity: float
    expected: float


SIZES = {
    "tiny": Size("tiny", 100, 2, 2, 0.45, 17),
    "small": Size("small", 3_000, 5, None, 0.34, 12),
    "medium": Size("medium", 50_000, 5, None, 0.56, 20),
    "large": Size("large", 1_000_000, 5, None, 0.28, 10),
}
# How many customers later the records that reveal a late linker's phone arrive.
LINK_LAG = 300


def _links_phone(record: InteractionInput) -> bool:
    """Whether the record names a phone together with another identity."""
    kinds = {kind for kind, _ in record.customer.identities} if record.customer else set()
    return IdentityKind.PHONE in kinds and len(kinds) > 1


class Generator:
    """Streams the demo's interactions for one (seed, size, until)."""

    def __init__(self, *, seed: int, size: Size, until: date) -> None:
        self.seed, self.size = seed, size
        self.window = Window(until)
        self.org: Organisation = co.organisation(stores_per_region=size.stores_per_region,
                                                 regions=size.regions)
        self.campaigns = campaigns(self.window)
        self._store_weights = [s.traffic for s in self.org.stores]
        self._by_region = {r.code: self.org.stores_in(r.code) for r in self.org.regions}
        self._personas = list(PERSONAS)
        self._persona_weights = [PERSONAS[p][0] for p in self._personas]

    # -- the stream ---------------------------------------------------------------------------

    def records(self) -> Iterator[InteractionInput]:
        """Every interaction, customer by customer, each customer's in time order.

        The records that first tie a late-linking customer's phone to the rest of them are
        held back by ``LINK_LAG`` customers (a bounded buffer), as a reconciliation feed
        would bring them: by then the hub has stored the phone as a customer of its own, so
        it has to merge two existing customers, as it must in real life.
        """
        held: deque[tuple[int, InteractionInput]] = deque()
        for index in range(self.size.customers):
            records, linking = self._customer(index)
            yield from records
            held.extend((index + LINK_LAG, record) for record in linking)
            while held and held[0][0] <= index:
                yield held.popleft()[1]
        for _, record in held:
            yield record

    def customer_records(self, index: int) -> list[InteractionInput]:
        """All interactions of customer ``index`` in time order."""
        records, linking = self._customer(index)
        return sorted([*records, *linking], key=lambda r: (r.occurred_at, r.external_id))

    def voices(self) -> Iterator[Voice]:
        """Every customer's voice (survey responses, reviews, posts, complaints, chats),
        customer by customer, each in time order."""
        for index in range(self.size.customers):
            yield self.customer_voice(index)

    def customer_voice(self, index: int) -> Voice:
        """What customer ``index`` said, following from what happened to them."""
        person, records, linking = self._life(index)
        lived = sorted([*records, *linking], key=lambda r: (r.occurred_at, r.external_id))
        return VoiceBuilder(self, person, lived).build()

    def _customer(self, index: int) -> tuple[list[InteractionInput], list[InteractionInput]]:
        _, records, linking = self._life(index)
        return records, linking

    def _life(self, index: int) -> tuple[Person, list[InteractionInput], list[InteractionInput]]:
        """Customer ``index`` and their interactions, and apart from them the late links. The
        first identified record carries the customer's name and attributes."""
        # Reproducible simulation, not security: a seeded PRNG is exactly what is wanted.
        rng = random.Random(self.seed * 1_000_003 + index)  # noqa: S311
        person = self._person(rng, index)
        builder = LifeBuilder(self, rng, person)
        builder.build()
        records = sorted(builder.out, key=lambda r: (r.occurred_at, r.external_id))
        for i, record in enumerate(records):
            if record.customer is not None:
                records[i] = replace(record, customer=replace(
                    record.customer, name=person.name, attributes=person.attributes))
                break
        if not person.link_day:
            return person, records, []
        # Nothing before the link day names the phone with anything else, so every record
        # that does is a late link.
        late = [r for r in records if _links_phone(r)]
        held = {r.external_id for r in late}
        return person, [r for r in records if r.external_id not in held], late

    # -- people -------------------------------------------------------------------------------

    def _person(self, rng: random.Random, index: int) -> Person:
        persona = rng.choices(self._personas, self._persona_weights)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        home = rng.choices(self.org.stores, self._store_weights)[0]
        # Most customers were already customers two years ago; the rest join along the way,
        # and some drift away before the end.
        start = 0 if rng.random() < 0.6 else rng.randrange(WINDOW_DAYS - 30)
        end = WINDOW_DAYS - 1
        if rng.random() < 0.15:
            end = min(end, start + 60 + rng.randrange(WINDOW_DAYS))
        holds_card, holds_account = HOLDS[persona]
        loyalty = f"KL{index + 1:09d}" if rng.random() < holds_card else None
        account = f"ACC{index + 1:08d}" if rng.random() < holds_account else None
        slug = f"{first}.{last}".lower().replace("'", "")
        domain = ("example.com", "example.net", "example.org")[index % 3]
        email = (f"{slug}.{index + 1}@{domain}"
                 if account or rng.random() < 0.7 else None)
        # A bijection of the index onto 10^8 numbers keeps every phone unique (a shared
        # number would merge two people) while not looking sequential.
        phone = (f"+447{700_000_000 + (index * 7919 + 12_345) % 100_000_000}"
                 if rng.random() < 0.85 else None)
        handle = f"@{slug.replace('.', '_')}_{index + 1}" if rng.random() < 0.2 else None
        crm = f"T{index + 1:07d}" if persona == "trade" else None
        link_day = start + rng.randrange(90, 400) if phone and rng.random() < 0.04 else 0
        tier = ("trade" if persona == "trade" else
                rng.choices(("bronze", "silver", "gold", "platinum"), (50, 30, 15, 5))[0])
        attributes = {
            "segment": persona,
            "tier": tier,
            "home_store": home.code,
            "region": home.region,
            "marketing_consent": rng.random() < 0.65,
            "birth_year_band": rng.choices(("1940s", "1950s", "1960s", "1970s", "1980s",
                                            "1990s", "2000s"), (3, 8, 15, 20, 22, 20, 12))[0],
            "customer_since": str(self.window.day(start) - timedelta(
                days=rng.randrange(30, 3000) if start == 0 else 0)),
        }
        return Person(index, persona, f"{first} {last}", home, (start, end), loyalty,
                       account, email, phone, handle, crm, link_day, attributes)

    def other_store(self, rng: random.Random, home: Store) -> Store:
        """Mostly the home store, sometimes another in the region, rarely anywhere."""
        roll = rng.random()
        if roll < 0.8:
            return home
        if roll < 0.95:
            return rng.choice(self._by_region[home.region])
        return rng.choices(self.org.stores, self._store_weights)[0]

