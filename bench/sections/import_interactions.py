"""Import: ``opencem import interactions`` of N rows against a raw ``COPY`` of the same rows
into the same table (same indexes, constraints and foreign keys), emptied in between."""

from __future__ import annotations

from django.db import connection, transaction

from bench.framework import Context, Figure, section, timer
from bench.sections.data import customers_for, organisation, write_interactions
from opencem.core.importing import ImportOptions, run_import
from opencem.customers.models import Interaction

GOAL = 0.40
COLUMNS = ("id, customer_id, unit_id, channel, kind, occurred_at, touchpoint, attributes, value, "
           "source, external_id, created_at")


def load(context: Context, *, progress: bool = True) -> float:
    """Write the file and import it; returns the seconds the import took."""
    units = organisation()
    path = context.workdir / "interactions.csv"
    if not path.exists():
        write_interactions(path, context.rows, units)
    with timer() as took:
        summary = run_import(ImportOptions(kind="interactions", path=path, progress=progress))
    if summary.rejected or summary.created != context.rows:
        raise RuntimeError(f"the import stored {summary.created} of {context.rows} rows "
                           f"({summary.rejected} rejected): the benchmark data is wrong")
    return took[0]


def raw_copy(context: Context) -> float:
    """Dump the imported rows, empty the table and time COPY of them back in."""
    table = Interaction._meta.db_table
    dump = context.workdir / "interactions.copy"
    with connection.cursor() as cursor:
        with dump.open("wb") as out, cursor.copy(
                f"COPY {table} ({COLUMNS}) TO STDOUT") as copy:
            for chunk in copy:
                out.write(chunk)
        # Other apps' tables point at interactions; in this database they are empty.
        cursor.execute(f"TRUNCATE {table} CASCADE")
    statement = f"COPY {table} ({COLUMNS}) FROM STDIN"
    with (timer() as took, transaction.atomic(), connection.cursor() as cursor,
          dump.open("rb") as source, cursor.copy(statement) as copy):
        while block := source.read(1 << 20):
            copy.write(block)
    return took[0]


@section("import")
def import_section(context: Context) -> list[Figure]:
    seconds = load(context)
    copy_seconds = raw_copy(context)
    context.notes.append(
        f"import: {context.rows:,} rows naming ~{customers_for(context.rows):,} customers in "
        f"{seconds:,.1f} s; raw COPY of the same rows {copy_seconds:,.1f} s")
    return [Figure("import", "opencem import interactions", context.rows / seconds, "rows/s",
                   baseline=context.rows / copy_seconds, goal=GOAL)]
