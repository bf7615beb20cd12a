"""Running an import: reading ahead, storing batch by batch, the error report, resuming.

Each row is shaped into the body the API would receive and checked by the kind's reader with
the API's own schemas and rules; a row the API would reject is rejected here with the same
field and message, written to an error report, and the good rows are committed batch by
batch. A checkpoint file records how many rows committed batches covered so that ``resume``
continues after an interruption; idempotency on ``(source, external_id)`` makes a blind
re-run safe too.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from tqdm import tqdm

from opencem.core.importing.contract import (
    FORMATS,
    ImportFailed,
    ImportKind,
    ImportOptions,
    Row,
    RowError,
    RowReader,
    RowWriter,
    kind_get,
)
from opencem.core.importing.files import check_mapping, csv_rows, jsonl_rows

# From this size on, reading and validation run in a process of their own (see _in_process).
PARALLEL_FROM = 16 * 1024 * 1024


@dataclass
class ImportSummary:
    """Totals of one run (of the rows this run read, after any resumed-over rows)."""

    read: int = 0
    created: int = 0
    existing: int = 0
    rejected: int = 0
    skipped: int = 0
    seconds: float = 0.0
    errors_path: Path | None = None
    checkpoint_path: Path | None = None

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary as the command prints it."""
        out = []
        if self.skipped:
            out.append(f"resumed after {self.skipped:,} rows done by an earlier run")
        out += [
            f"rows read:       {self.read:,}",
            f"created:         {self.created:,}",
            f"already present: {self.existing:,}",
            f"rejected:        {self.rejected:,}",
            f"time:            {self.seconds:,.1f} s ({self.rows_per_second:,.0f} rows/s)",
        ]
        if self.rejected and self.errors_path is not None:
            out.append(f"rejected rows are listed in {self.errors_path} (line, field, message); "
                       "they do not fail the import (exit status 0): fix them and import that "
                       "file again, the rows already stored are skipped")
        return out


# -- before the first row ---------------------------------------------------------------------


def _actor(username: str | None) -> User | None:
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if not isinstance(user, User):
        raise ImportFailed(f"no user is called {username!r}")
    return user


def _format_of(options: ImportOptions) -> str:
    fmt = (options.format or options.path.suffix.lstrip(".")).lower()
    fmt = {"ndjson": "jsonl", "json": "jsonl"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ImportFailed(f"cannot tell the format of {options.path.name}: name it .csv or "
                           ".jsonl, or pass --format csv|jsonl")
    return fmt


def _check_params(kind: ImportKind, options: ImportOptions) -> None:
    own = {o.dest for o in kind.options}
    for name in options.params:
        if name not in own:
            raise ImportFailed(f"--{name.replace('_', '-')} does not apply to an import of "
                               f"{kind.name}")


def checkpoint_path(path: Path) -> Path:
    """Where the progress of an import of ``path`` is recorded."""
    return path.with_name(path.name + ".progress")


def _read_checkpoint(options: ImportOptions, fmt: str) -> int:
    where = checkpoint_path(options.path)
    if not options.resume or not where.exists():
        return 0
    try:
        state = json.loads(where.read_text(encoding="utf-8"))
        done = int(state["rows_done"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImportFailed(f"cannot read the checkpoint {where}: {exc}") from exc
    if state.get("kind") != options.kind or state.get("format") != fmt:
        raise ImportFailed(f"{where} records an import of {state.get('kind')} "
                           f"({state.get('format')}); delete it to start over")
    if state.get("params", {}) != dict(options.params):
        raise ImportFailed(f"{where} records an import with other options "
                           f"({state.get('params')}); delete it to start over")
    return done


def _write_checkpoint(options: ImportOptions, fmt: str, rows_done: int, line: int) -> None:
    where = checkpoint_path(options.path)
    temporary = where.with_name(where.name + ".tmp")
    temporary.write_text(json.dumps({"kind": options.kind, "format": fmt,
                                     "params": dict(options.params),
                                     "rows_done": rows_done, "last_line": line}),
                         encoding="utf-8")
    # Replacing in one step means a crash leaves the old checkpoint or the new, never half.
    os.replace(temporary, where)


# -- the run ----------------------------------------------------------------------------------


@contextmanager
def sparing_collector() -> Iterator[None]:
    """Fewer runs of the cyclic garbage collector while an import runs.

    An import makes millions of short-lived objects, which reference counting frees; each
    run of the collector would still walk every object the process holds, and the loader's
    caches grow with the file, so collections grow costlier as the import goes on (about a
    third of the reading at a million rows). Objects from before the import are set aside
    and collections are rarer; cycles are still collected.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()



def run_import(options: ImportOptions) -> ImportSummary:
    """Import ``options.path``; rejected rows go to the error report, never abort the run."""
    kind = kind_get(options.kind)
    _check_params(kind, options)
    if options.batch_size < 1:
        raise ImportFailed("--batch-size must be at least 1")
    fmt = _format_of(options)
    if options.timezone:
        try:
            ZoneInfo(options.timezone)  # refused now, not after the first batch
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ImportFailed(f"unknown time zone {options.timezone!r}") from exc
    actor = _actor(options.username)
    if not os.access(options.path, os.R_OK) or not options.path.is_file():
        raise ImportFailed(f"cannot open {options.path}: not a readable file")
    reader, writer = kind.start(options=options, actor=actor)
    check_mapping(kind.name, reader, options.mapping)
    skip = _read_checkpoint(options, fmt)
    errors_path = options.errors_path or options.path.with_name(options.path.name + ".errors.csv")
    summary = ImportSummary(skipped=skip, checkpoint_path=checkpoint_path(options.path),
                            errors_path=errors_path)
    started = time.monotonic()
    size = options.path.stat().st_size
    parallel = options.parallel if options.parallel is not None else (
        size >= PARALLEL_FROM and "DJANGO_SETTINGS_MODULE" in os.environ)
    job = _Job(reader, options, fmt, skip)
    with sparing_collector(), \
            errors_path.open("a" if skip else "w", newline="", encoding="utf-8") as out, \
            tqdm(total=size, unit="B", unit_scale=True, file=sys.stderr,
                 disable=not options.progress, mininterval=0.5, dynamic_ncols=True,
                 desc=options.path.name) as bar:
        report = csv.writer(out)
        if not skip:
            report.writerow(["line", "field", "message"])
        for prepared in (_in_process if parallel else _in_thread)(job):
            _commit(writer, prepared=prepared, summary=summary, report=report)
            # The report reaches the disk before the checkpoint moves past its rows.
            out.flush()
            _write_checkpoint(options, fmt, prepared.rows_done, prepared.lines[-1])
            bar.update(prepared.position - bar.n)
            bar.set_postfix_str(f"rows={summary.read:,}", refresh=False)
        bar.update(size - bar.n)
    summary.seconds = time.monotonic() - started
    # The whole file is in: nothing is left to resume.
    checkpoint_path(options.path).unlink(missing_ok=True)
    return summary


@dataclass(frozen=True)
class _Job:
    """What the reading needs (it pickles, for the reading process)."""

    reader: RowReader
    options: ImportOptions
    fmt: str
    skip: int
    until: int | None = None  # the rows of the file to stop after (None: all)


@dataclass
class _Prepared:
    """A batch read and checked by the kind's reader, ready for the database."""

    lines: list[int]
    good: list[int]
    payload: Any
    errors: dict[int, list[RowError]]
    rows_done: int
    position: int


def read_batches(job: _Job) -> Iterator[_Prepared]:
    """Batches of the file after ``job.skip`` rows (up to ``job.until``), with their errors
    and the payload of their good rows. Touches no database, so it can run beside the
    writing."""
    options = job.options
    zone = ZoneInfo(options.timezone) if options.timezone else None
    with options.path.open("rb") as handle:
        # utf-8-sig: spreadsheets often start CSV files with a byte-order mark.
        stream = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        rows_of = csv_rows if job.fmt == "csv" else jsonl_rows
        done = 0
        batch: list[Row] = []

        def checked() -> _Prepared:
            prepared = job.reader.prepare(batch, zone)
            return _Prepared([r.line for r in batch], prepared.good, prepared.payload,
                             prepared.errors, done, handle.tell())

        try:
            for row in rows_of(job.reader, stream, options.mapping, options.source):
                done += 1
                if done <= job.skip:
                    continue
                batch.append(row)
                if len(batch) >= options.batch_size:
                    yield checked()
                    batch = []
                if done == job.until:
                    break
        except UnicodeDecodeError as exc:
            raise ImportFailed(f"{options.path} is not UTF-8 text: {exc}") from exc
        if batch:
            yield checked()


END = "end"


def _in_thread(job: _Job) -> Iterator[_Prepared]:
    """Read and validate in a thread, one batch ahead of the writing: the database works in
    its own process, so its share overlaps with the reading."""
    return _ahead(lambda: read_batches(job))


def _ahead(source: Callable[[], Iterator[_Prepared]],
           stopping: Callable[[], None] = lambda: None) -> Iterator[_Prepared]:
    """The batches of ``source()``, produced in a thread up to two batches ahead.

    ``stopping`` runs when the consumer stops, before the thread is waited for: it may have
    to end what the thread is blocked on."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: object) -> bool:
        # Gives up once the consumer has stopped (it failed or was interrupted).
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source():
                if not offer(item):
                    return
            offer(END)
        except BaseException as exc:  # handed over, to be raised in the consuming thread
            offer(exc)

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) != END:
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _Prepared)
            yield item
    finally:
        stop.set()
        stopping()
        worker.join(timeout=5)


def _in_process(job: _Job) -> Iterator[_Prepared]:
    """Read and validate in a process of its own, for big files: parsing and validation are
    Python work that a thread would share one interpreter lock with the writing for. The
    pipe holds the reader about one batch ahead; a thread here takes each batch off the pipe
    while the writing waits for the database. Python and Django take the process a moment to
    start, so the first batch is read here meanwhile."""
    first = job.skip + job.options.batch_size
    reader = subprocess.Popen(
        [sys.executable, "-m", "opencem.core.management.import_reader"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert reader.stdin is not None
    stdout = reader.stdout
    assert stdout is not None

    def received() -> Iterator[_Prepared]:
        while True:
            try:
                # The pickles come from the child this function started, never from outside.
                item = pickle.load(stdout)  # noqa: S301
            except EOFError:
                raise ImportFailed("the reading process stopped unexpectedly "
                                   f"(exit status {reader.wait()})") from None
            if item == END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _Prepared)
            yield item

    def end_reader() -> None:
        # Ending the child ends the receiving thread's read too (end of file).
        if reader.poll() is None:
            reader.terminate()
        reader.wait()

    try:
        pickle.dump(replace(job, skip=first), reader.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        reader.stdin.close()
        yield from read_batches(replace(job, until=first))
        yield from _ahead(received, end_reader)
    finally:
        end_reader()
        stdout.close()


def _commit(writer: RowWriter, *, prepared: _Prepared, summary: ImportSummary,
            report: Any) -> None:
    lines, good, errors = prepared.lines, prepared.good, prepared.errors
    outcome = writer.store(prepared.payload)
    for error in outcome.errors:
        position = good[error.index]
        errors.setdefault(position, []).append(RowError(position, error.field, error.message))
    summary.read += len(lines)
    summary.created += outcome.created
    summary.existing += outcome.existing
    summary.rejected += len(errors)
    for position in sorted(errors):
        for error in errors[position]:
            report.writerow([lines[position], error.field, error.message])
