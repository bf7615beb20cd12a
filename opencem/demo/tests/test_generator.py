"""The generator alone, without a database: determinism and the shape of the data."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from opencem.customers.choices import Channel
from opencem.customers.services import InteractionInput
from opencem.demo.calendar import WINDOW_DAYS, ZONE, black_friday
from opencem.demo.generator import SIZES, Generator

UNTIL = date(2026, 6, 30)


def _digest(records: list[InteractionInput]) -> str:
    return hashlib.sha256(repr(records).encode()).hexdigest()


def _records(seed: int = 7, customers: int = 200) -> list[InteractionInput]:
    size = replace(SIZES["tiny"], customers=customers)
    return list(Generator(seed=seed, size=size, until=UNTIL).records())


def test_the_same_seed_and_day_give_the_same_records():
    assert _digest(_records()) == _digest(_records())


def test_another_seed_gives_other_records():
    assert _digest(_records(seed=7)) != _digest(_records(seed=8))


def test_a_customer_does_not_depend_on_the_ones_before_it():
    tiny = Generator(seed=3, size=SIZES["tiny"], until=UNTIL)
    small = Generator(seed=3, size=replace(SIZES["tiny"], customers=5000), until=UNTIL)
    assert tiny.customer_records(42) == small.customer_records(42)


def test_every_record_lies_in_the_two_years_up_to_until():
    records = _records()
    first = datetime.combine(UNTIL - timedelta(days=WINDOW_DAYS - 1), time(), tzinfo=ZONE)
    last = datetime.combine(UNTIL + timedelta(days=1), time(), tzinfo=ZONE)
    assert all(first <= r.occurred_at < last for r in records)


def test_external_ids_are_unique_per_source():
    records = _records()
    keys = Counter((r.source, r.external_id) for r in records)
    assert keys.most_common(1)[0][1] == 1


def test_some_records_name_two_identities_so_the_hub_can_join_them():
    records = _records()
    joining = [r for r in records if r.customer and len({k for k, _ in r.customer.identities}) > 1]
    assert len(joining) > 50


def test_values_are_negative_only_for_refunds():
    for record in _records():
        if record.value is not None and record.value < 0:
            assert record.kind == "refund"


def test_every_channel_appears_in_a_larger_sample():
    channels = {r.channel for r in _records(customers=1500)}
    assert channels >= set(Channel.values) - {Channel.OTHER}


def test_the_delivery_partner_is_late_far_more_often_than_the_own_fleet():
    deliveries = [r for r in _records(customers=1500) if r.kind == "delivery"]
    def late_share(carrier: str) -> float:
        mine = [r for r in deliveries if r.attributes["carrier"] == carrier]
        return sum(r.attributes["late"] for r in mine) / len(mine)
    assert late_share("parcelwise") > 2 * late_share("kestrel_fleet")


def test_poor_stores_have_longer_queues_than_good_ones():
    purchases = [r for r in _records(customers=1500) if r.kind == "purchase"]
    def mean_queue(store: str) -> float:
        mine = [r.attributes["queue_minutes"] for r in purchases if r.unit == store]
        return sum(mine) / len(mine)
    assert mean_queue("STORE-004") > 1.5 * mean_queue("STORE-001")


def test_stores_are_busier_at_weekends_and_the_call_centre_on_weekdays():
    records = _records(customers=1500)
    def per_day(kind: str, weekend: bool) -> float:
        hits = [r for r in records if r.kind == kind and (r.occurred_at.weekday() >= 5) == weekend]
        return len(hits) / (2 if weekend else 5)
    assert per_day("purchase", weekend=True) > per_day("purchase", weekend=False)
    assert per_day("call", weekend=False) > per_day("call", weekend=True)


def test_the_run_up_to_christmas_is_busier_than_february():
    records = _records(customers=1500)
    def count(month: int) -> int:
        return sum(1 for r in records if r.kind == "purchase" and r.occurred_at.month == month)
    assert count(12) > 1.5 * count(2)


def test_black_friday_is_the_fourth_friday_of_november():
    assert black_friday(2025) == date(2025, 11, 28)
    assert black_friday(2026) == date(2026, 11, 27)
