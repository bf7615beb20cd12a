"""Loading, detecting and resetting the demo company: the demo app's services."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, reset_queries, transaction
from django.utils import timezone
from tqdm import tqdm

from opencem.accounts.selectors import (
    WHOLE_ORGANISATION,
    Scope,
    memberships_of,
    scope_for_user,
    unit_get_by_code,
    unit_list,
)
from opencem.core.errors import ApplicationError
from opencem.customers.bulk import BulkReport, bulk_ingest
from opencem.customers.selectors import interactions_visible
from opencem.demo.company import COMPANY_CODE, DEMO_PASSWORD, LOGINS, organisation_create
from opencem.demo.generator import Generator, Size
from opencem.demo.journey import journey_ensure
from opencem.demo.models import DemoLoad
from opencem.demo.programmes import DESIGNER, programmes_ensure
from opencem.demo.voice import SOURCE, ResponsePlan
from opencem.feedback.services import FeedbackInput, feedback_ingest
from opencem.surveys.responses import Submission, responses_submit

if TYPE_CHECKING:
    from opencem.surveys.models import SurveyVersion

# Reads the whole organisation, to check what a reset would delete.

@dataclass(frozen=True)
class LoadResult:
    """What one ``demo_load`` did: interactions, responses and feedback items it created."""

    load: DemoLoad
    created: int
    existing: int
    seconds: float
    responses: int = 0
    feedback: int = 0


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
    """Create the organisation, stream every interaction through the bulk loader, then set
    up the feedback programmes and store the customers' voice through the feedback services.

    With ``resume`` the organisation is already there and the same streams are sent again;
    interactions, responses and feedback are all idempotent on ``(source, external_id)``, so
    what is stored is skipped and the rest is added.
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
        # The total was an estimate; the bar ends at 100% of what there really was.
        bar.total = bar.n
        bar.refresh()
    # The programmes start after the history is in: triggers act on interactions stored from
    # then on, and the history's invitations are long past.
    designer = get_user_model().objects.get(username=DESIGNER)
    versions = programmes_ensure(
        designer=designer,
        live_since=datetime(*generator.window.start.timetuple()[:3], tzinfo=UTC))
    journey_ensure(designer=designer)
    with tqdm(total=size.customers, unit=" customers' voices", file=sys.stderr,
              disable=not progress, mininterval=0.5, dynamic_ncols=True) as voices:
        def on_customer() -> None:
            voices.update(1)

        voice = voice_load(generator, versions=versions, scope=scope, on_customer=on_customer)
    load.finished_at = timezone.now()
    load.interactions = report.created + report.existing
    load.responses, load.feedback = voice.responses_total, voice.feedback_total
    load.save(update_fields=["finished_at", "interactions", "responses", "feedback"])
    return LoadResult(load, report.created, report.existing, time.monotonic() - started,
                      voice.responses, voice.feedback)


@dataclass
class VoiceReport:
    """Responses and feedback items sent, and how many of them were new."""

    responses: int = 0
    feedback: int = 0
    responses_total: int = 0
    feedback_total: int = 0


def voice_load(generator: Generator, *, versions: dict[str, SurveyVersion], scope: Scope,
               batch_size: int = 500, on_customer: Callable[[], None] | None = None
               ) -> VoiceReport:
    """Store every customer's voice: responses through ``responses_submit`` (checked against
    their survey version), feedback through ``feedback_ingest``, in batches."""
    report = VoiceReport()
    responses: list[ResponsePlan] = []
    feedback: list[FeedbackInput] = []

    def flush_responses() -> None:
        ids = _interaction_ids({p.interaction for p in responses if p.interaction}, scope)
        results = responses_submit(scope=scope, actor=None, items=[Submission(
            version=versions[p.survey], answers=p.answers, complete=p.complete, unit=p.unit,
            customer=p.customer, interaction_id=ids.get(p.interaction) if p.interaction
            else None, touchpoint=p.touchpoint, channel=p.channel, language=p.language,
            started_at=p.started_at, submitted_at=p.submitted_at, source=SOURCE,
            external_id=p.external_id) for p in responses])
        report.responses += sum(r.created for r in results)
        report.responses_total += len(results)
        responses.clear()
        reset_queries()

    def flush_feedback() -> None:
        results = feedback_ingest(items=feedback, scope=scope, actor=None)
        report.feedback += sum(r.created for r in results)
        report.feedback_total += len(results)
        feedback.clear()
        reset_queries()

    for voice in generator.voices():
        responses += voice.responses
        feedback += voice.feedback
        if len(responses) >= batch_size:
            flush_responses()
        if len(feedback) >= batch_size:
            flush_feedback()
        if on_customer is not None:
            on_customer()
    if responses:
        flush_responses()
    if feedback:
        flush_feedback()
    return report


def _interaction_ids(keys: set[tuple[str, str]], scope: Scope) -> dict[tuple[str, str], int]:
    """The stored interaction ids of ``(source, external_id)`` keys."""
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    found: dict[tuple[str, str], int] = {}
    for source, ids in sorted(by_source.items()):
        for start in range(0, len(ids), 500):
            rows = interactions_visible(scope=scope).filter(
                source=source, external_id__in=ids[start : start + 500]
            ).values_list("external_id", "id")
            found.update({(source, e): pk for e, pk in rows})
    return found


def demo_reset() -> None:
    """Empty the database so the demo can load again.

    A flush rather than deletes by table: other apps hold rows that point at units and
    customers (surveys, feedback, cases) and a flush needs no knowledge of them. It is only
    allowed while the demo company is the only organisation, so it cannot wipe a real one.
    """
    roots = unit_list(scope=WHOLE_ORGANISATION).filter(parent__isnull=True)
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
