"""The benchmark's organisation and its deterministic interaction file."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opencem.accounts.choices import UnitKind
from opencem.accounts.selectors import unit_get_by_code
from opencem.accounts.services import unit_create

COMPANY = "BENCH"
STORES = [f"STORE-{i:02d}" for i in range(1, 11)]
CHANNELS = [("store", "purchase"), ("store", "return"), ("web", "order"), ("app", "order"),
            ("call_centre", "call"), ("delivery", "delivery"), ("email", "campaign_open")]
HEADER = ["source", "external_id", "channel", "kind", "occurred_at", "unit", "touchpoint",
          "value", "email", "attr.basket"]
START = datetime(2025, 1, 1, tzinfo=UTC)
SECONDS = 365 * 24 * 3600


def organisation() -> list[str]:
    """A company with two regions of stores and a web shop; returns the unit codes rows use."""
    if unit_get_by_code(COMPANY) is None:
        company = unit_create(code=COMPANY, name="Bench Retail", kind=UnitKind.COMPANY)
        regions = [unit_create(code=f"REGION-{r}", name=f"Region {r}", kind=UnitKind.REGION,
                               parent=company) for r in (1, 2)]
        for i, code in enumerate(STORES):
            unit_create(code=code, name=f"Store {code[-2:]}", parent=regions[i % 2])
        unit_create(code="WEB", name="Web shop", kind=UnitKind.CHANNEL, parent=company)
    return [*STORES, "WEB"]


def customers_for(rows: int) -> int:
    """About ten interactions per customer: 1M rows name ~100k people."""
    return max(1, rows // 10)


def write_interactions(path: Path, rows: int, units: list[str], seed: int = 42) -> None:
    """``rows`` valid interactions whose customer emails repeat, the same for the same seed."""
    rng = random.Random(seed)
    people = customers_for(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            channel, kind = CHANNELS[rng.randrange(len(CHANNELS))]
            person = rng.randrange(people)
            # People mostly shop at their home store and now and then at another.
            store = person % 10 if rng.random() < 0.85 else rng.randrange(10)
            unit = "WEB" if channel in ("web", "app", "email") else units[store]
            at = START + timedelta(seconds=rng.randrange(SECONDS))
            value = f"{rng.randrange(100, 50000) / 100:.2f}" if kind != "call" else ""
            writer.writerow(["bench", f"B-{i:08d}", channel, kind,
                             at.isoformat().replace("+00:00", "Z"), unit,
                             "checkout" if kind == "purchase" else "", value,
                             f"customer{person}@example.com", str(rng.randrange(1, 9))])
