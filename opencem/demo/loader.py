"""Loading, detecting and resetting the demo company: the demo app's services."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, reset_queries, transaction
from django.utils import timezone
from tqdm import tqdm

from opencem.accounts.selectors import (
    Scope,
    memberships_of,
    scope_for_user,
    unit_get_by_code,
    unit_list,
)
from opencem.core.errors import ApplicationError
from opencem.customers.bulk import BulkReport, bulk_ingest
from opencem.demo.company import COMPANY_CODE, DEMO_PASSWORD, LOGINS, organisation_create
from opencem.demo.generator import Generator, Size
from opencem.demo.models import DemoLoad

# Reads the whole organisation, to check what a reset would delete.
_EVERYTHING = Scope(user_id=None, unit_ids=None, roles=frozenset(), write_unit_ids=None,
                    admin_unit_ids=None, design_unit_ids=None)


@dataclass(frozen=True)
class LoadResult:
    """What one ``demo_load`` did."""

    load: DemoLoad
    created: int
    existing: int
    seconds: float


@dataclass(frozen=True)
class LoginRow:
    """One line of the logins table."""

    username: str
    role: str
    unit: str
    password: str


@dataclass(frozen=True)
class DemoState:
    """Whether the demo company is in the database, and its latest load record."""

    present: bool
    load: DemoLoad | None

    @property
    def interrupted(self) -> bool:
        return self.present and self.load is not None and self.load.finished_at is None


def demo_state() -> DemoState:
    """Find the demo: the company unit, and what the last ``opencem demo`` recorded."""
    return DemoState(unit_get_by_code(COMPANY_CODE) is not None,
                     DemoLoad.objects.order_by("-id").first())


def demo_load(*, size: Size, seed: int, until: date, batch_size: int = 2000,
              progress: bool = True, resume: DemoLoad | None = None) -> LoadResult:
    """Create the organisation and stream every interaction through the bulk loader.

    With ``resume`` the organisation is already there and the same stream is sent again;
    ingestion is idempotent on ``(source, external_id)``, so what is stored is skipped and
    the rest is added.
    """
    started = time.monotonic()
    if resume is None:
        with transaction.atomic():
            organisation_create(Generator(seed=seed, size=size, until=until).org)
            load = DemoLoad.objects.create(size=size.name, seed=seed, until=until)
    else:
        load = resume
    admin = get_user_model().objects.get(username=LOGINS[0].username)
    scope = scope_for_user(admin)
    generator = Generator(seed=seed, size=size, until=until)
    with tqdm(total=int(size.customers * size.expected), unit=" interactions", file=sys.stderr,
              disable=not progress, mininterval=0.5, dynamic_ncols=True) as bar:
        def on_batch(report: BulkReport, rows: int) -> None:
            # With DEBUG on (the dev settings) Django keeps the text of recent queries, and
            # bulk inserts are large: dropping it after each batch keeps memory flat.
            reset_queries()
            bar.update(rows)
            bar.set_postfix_str(f"created={report.created}", refresh=False)

        report = bulk_ingest(generator.records(), scope=scope, batch_size=batch_size,
                             on_batch=on_batch)
    load.finished_at = timezone.now()
    load.interactions = report.created + report.existing
    load.save(update_fields=["finished_at", "interactions"])
    return LoadResult(load, report.created, report.existing, time.monotonic() - started)


def demo_reset() -> None:
    """Empty the database so the demo can load again.

    A flush rather than deletes by table: other apps hold rows that point at units and
    customers (surveys, feedback, cases) and a flush needs no knowledge of them. It is only
    allowed while the demo company is the only organisation, so it cannot wipe a real one.
    """
    roots = unit_list(scope=_EVERYTHING).filter(parent__isnull=True)
    others = sorted(roots.exclude(code=COMPANY_CODE).values_list("code", flat=True))
    if others:
        raise ApplicationError(
            f"This database holds other organisations ({', '.join(others)}); refusing to "
            "empty it. Point DATABASE_URL at a database of its own for the demo.")
    if connection.in_atomic_block:
        # Inside a transaction (tests, or a caller's atomic block) PostgreSQL refuses to
        # TRUNCATE tables with deferred foreign-key checks still pending; running the checks
        # now clears them. Outside one there is nothing pending and nothing to check.
        connection.check_constraints()
    call_command("flush", interactive=False, verbosity=0)


def logins() -> list[LoginRow]:
    """The demo logins as they stand in the database, in the order of the table."""
    users = {u.username: u for u in get_user_model().objects.filter(
        username__in=[login.username for login in LOGINS])}
    rows: list[LoginRow] = []
    for login in LOGINS:
        user = users.get(login.username)
        if user is None:
            continue
        for membership in memberships_of(user.pk):
            rows.append(LoginRow(login.username, membership.role,
                                 f"{membership.unit.name} ({membership.unit.code})",
                                 DEMO_PASSWORD))
    return rows


def logins_table(rows: list[LoginRow], write: Callable[[str], None]) -> None:
    """Write the logins as an aligned plain-text table."""
    header = LoginRow("username", "role", "unit", "password")
    widths = [max(len(getattr(r, f)) for r in [header, *rows])
              for f in ("username", "role", "unit", "password")]
    for row in [header, *rows]:
        cells = (row.username, row.role, row.unit, row.password)
        write("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
