"""Bulk import of interactions or customers from CSV or JSON Lines files.

Each row is shaped into the body the API would receive, validated with the API's own schemas,
then stored through ``bulk.BulkLoader`` with the rules of ``interactions_ingest`` /
``customer_upsert``; a row the API would reject is rejected here with the same field and
message, written to an error report, and the good rows are committed batch by batch. A
checkpoint file records how many rows committed batches covered so that ``resume`` continues
after an interruption; idempotency on ``(source, external_id)`` makes a blind re-run safe too.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from pydantic import TypeAdapter, ValidationError
from tqdm import tqdm

from opencem.accounts.selectors import Scope, scope_for_user
from opencem.customers.bulk import BatchOutcome, BulkLoader, Checked, RowError, check_rows
from opencem.customers.choices import IdentityKind
from opencem.customers.schemas import CustomerRef, CustomerUpsertIn, InteractionIn
from opencem.customers.services import InteractionInput

Kind = Literal["interactions", "customers"]
KINDS: tuple[Kind, ...] = ("interactions", "customers")
FORMATS = ("csv", "jsonl")
DEFAULT_BATCH = 5000
# From this size on, reading and validation run in a process of their own (see _in_process).
PARALLEL_FROM = 16 * 1024 * 1024

IDENTITY_FIELDS = tuple(IdentityKind.values)
INTERACTION_FIELDS = ("source", "external_id", "channel", "kind", "occurred_at", "unit",
                      "touchpoint", "value")
CUSTOMER_FIELDS = ("unit",)
ATTR = "attr."

WHOLE_ORGANISATION = Scope(user_id=None, unit_ids=None, roles=frozenset(), write_unit_ids=None,
                           admin_unit_ids=None, design_unit_ids=None)


class ImportFailed(Exception):
    """A fatal problem (unreadable file, bad mapping): nothing more can be imported."""


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how; see ``opencem import --help``."""

    kind: Kind
    path: Path
    format: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    timezone: str | None = None
    batch_size: int = DEFAULT_BATCH
    errors_path: Path | None = None
    resume: bool = False
    username: str | None = None
    progress: bool = True
    parallel: bool | None = None  # None: decided by the file's size


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


@dataclass(frozen=True)
class _Row:
    line: int
    body: dict[str, Any]
    problem: str | None = None  # a line that is not even a JSON object


# -- mapping and shaping rows ---------------------------------------------------------------


def load_mapping(pairs: Sequence[str], mapping_file: Path | None) -> dict[str, str]:
    """``field=column`` pairs (the command's ``--map``) over a JSON file of the same."""
    mapping: dict[str, str] = {}
    if mapping_file is not None:
        try:
            loaded = json.loads(mapping_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ImportFailed(f"cannot read mapping file {mapping_file}: {exc}") from exc
        if not isinstance(loaded, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
            raise ImportFailed(f"{mapping_file} must be a JSON object of field: column")
        mapping.update(loaded)
    for pair in pairs:
        target, sep, column = pair.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise ImportFailed(f"--map {pair!r}: write it as field=column")
        mapping[target.strip()] = column.strip()
    return mapping


def _known_fields(kind: Kind) -> tuple[str, ...]:
    own = INTERACTION_FIELDS if kind == "interactions" else CUSTOMER_FIELDS
    return (*own, *IDENTITY_FIELDS, "name")


def _check_mapping(kind: Kind, mapping: dict[str, str]) -> None:
    known = _known_fields(kind)
    for target in mapping:
        if target not in known and not (target.startswith(ATTR) and len(target) > len(ATTR)):
            raise ImportFailed(f"cannot map to {target!r}: {kind} rows have "
                               f"{', '.join(known)} and attr.<name>")


def _place(kind: Kind, body: dict[str, Any], target: str, value: Any) -> None:
    """Put a flat field where the API body has it."""
    if target.startswith(ATTR):
        body.setdefault("attributes", {})[target[len(ATTR):]] = value
    elif kind == "interactions" and (target in IDENTITY_FIELDS or target == "name"):
        body.setdefault("customer", {})[target] = value
    else:
        body[target] = value


def _column_plan(kind: Kind, header: list[str], mapping: dict[str, str]
                 ) -> list[tuple[int, str]]:
    """(column index, target field) for every column that feeds a field."""
    index = {name: i for i, name in enumerate(header)}
    plan: dict[str, int] = {}
    for target in _known_fields(kind):
        if target in index:
            plan[target] = index[target]
    for name, i in index.items():
        if name.startswith(ATTR) and len(name) > len(ATTR):
            plan[name] = i
    for target, column in mapping.items():
        if column not in index:
            raise ImportFailed(f"--map {target}={column}: the file has no column {column!r} "
                               f"(it has {', '.join(header)})")
        # A column mapped elsewhere no longer feeds the field of its own name.
        plan = {t: i for t, i in plan.items() if i != index[column] or t == target}
        plan[target] = index[column]
    return sorted(((i, t) for t, i in plan.items()), key=lambda p: p[0])


def _csv_rows(kind: Kind, stream: io.TextIOWrapper, mapping: dict[str, str],
              source: str | None) -> Iterator[_Row]:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ImportFailed(f"the header is not valid CSV: {exc}") from exc
    plan = _column_plan(kind, [h.strip() for h in header], mapping)
    # The plan split by where each field goes in the API body, worked out once per file.
    nested = kind == "interactions"
    top = [(i, t) for i, t in plan if not t.startswith(ATTR) and not (nested and _is_flat(kind, t))]
    person = [(i, t) for i, t in plan if nested and _is_flat(kind, t)]
    attrs = [(i, t[len(ATTR):]) for i, t in plan if t.startswith(ATTR)]
    width = max((i for i, _ in plan), default=-1) + 1
    fill = source if nested else None
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFailed(f"line {line}: not valid CSV ({exc})") from exc
        if cells:
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            # An empty cell is a value not given, as a key left out of a JSON body.
            body: dict[str, Any] = {t: cells[i] for i, t in top if cells[i]}
            if person and (customer := {t: cells[i] for i, t in person if cells[i]}):
                body["customer"] = customer
            if attrs and (attributes := {t: cells[i] for i, t in attrs if cells[i]}):
                body["attributes"] = attributes
            if fill and not body.get("source"):
                body["source"] = fill
            yield _Row(line, body)
        line = reader.line_num + 1


def _jsonl_rows(kind: Kind, stream: io.TextIOWrapper, mapping: dict[str, str],
                source: str | None) -> Iterator[_Row]:
    renames = {**{t: t for t in (*IDENTITY_FIELDS, "name")}, **mapping}
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except ValueError as exc:
            yield _Row(line, {}, f"is not valid JSON: {exc}")
            continue
        if not isinstance(raw, dict):
            yield _Row(line, {}, "must be a JSON object")
            continue
        body = dict(raw)
        for target, key in renames.items():
            if key in body and (target != key or _is_flat(kind, target)):
                _place(kind, body, target, body.pop(key))
        for key in [k for k in body if k.startswith(ATTR) and len(k) > len(ATTR)]:
            _place(kind, body, key, body.pop(key))
        if source and not body.get("source") and kind == "interactions":
            body["source"] = source
        yield _Row(line, body)


def _is_flat(kind: Kind, target: str) -> bool:
    """Whether a same-named top-level key has to move (into ``customer``) to fit the API."""
    return kind == "interactions" and (target in IDENTITY_FIELDS or target == "name")


# -- validation -----------------------------------------------------------------------------


# The importer validates with the API's schemas through subclasses that change two things,
# neither of which changes a rule or a message: django-ninja's wrapper, which validates every
# input twice so that ORM objects can stand in for dicts (rows are plain dicts), is reduced to
# one pass; and ``pairs`` reads the identity kinds from a tuple, where the API's reads Django's
# ``IdentityKind.values``, rebuilt on every access (about half the cost of a row).


def _once(cls: Any, values: Any, handler: Callable[[Any], Any], info: Any) -> Any:
    return handler(values)


def _pairs(self: Any) -> tuple[tuple[str, str], ...]:
    named = [(k, getattr(self, k)) for k in IDENTITY_FIELDS if getattr(self, k)]
    return tuple(named + [(i.kind.value, i.value) for i in self.identities])


class _RowCustomer(CustomerRef):
    _run_root_validator = classmethod(_once)  # type: ignore[assignment]  # see above
    pairs = _pairs


class _RowCustomerUpsert(CustomerUpsertIn):
    _run_root_validator = classmethod(_once)  # type: ignore[assignment]  # see above
    pairs = _pairs


class _RowInteraction(InteractionIn):
    _run_root_validator = classmethod(_once)  # type: ignore[assignment]  # see above
    customer: _RowCustomer | None = None


_INTERACTIONS = TypeAdapter(list[_RowInteraction])
_CUSTOMERS = TypeAdapter(list[_RowCustomerUpsert])


def _validate(kind: Kind, rows: list[_Row]) -> tuple[list[Any | None], dict[int, list[RowError]]]:
    """Validate a batch with one schema call; on failure, find the bad rows and validate the
    rest again, so every row gets the API's messages and good rows pay no per-row cost."""
    errors: dict[int, list[RowError]] = {}
    for i, row in enumerate(rows):
        if row.problem is not None:
            errors[i] = [RowError(i, "", row.problem)]
    adapter: TypeAdapter[Any] = _INTERACTIONS if kind == "interactions" else _CUSTOMERS
    pending = [i for i in range(len(rows)) if i not in errors]
    while pending:
        try:
            models = adapter.validate_python([rows[i].body for i in pending])
        except ValidationError as exc:
            bad: set[int] = set()
            for e in exc.errors():
                position = pending[int(e["loc"][0])]
                bad.add(position)
                loc = ".".join(str(p) for p in e["loc"][1:])
                errors.setdefault(position, []).append(RowError(position, loc, str(e["msg"])))
            pending = [i for i in pending if i not in bad]
            continue
        out: list[Any | None] = [None] * len(rows)
        for i, model in zip(pending, models, strict=True):
            out[i] = model
        return out, errors
    return [None] * len(rows), errors


def _with_zone(item: InteractionInput, zone: ZoneInfo | None) -> InteractionInput:
    if zone is None or item.occurred_at.tzinfo is not None:
        return item
    # A naive time is read in the zone the operator named (DST rules included).
    return dataclasses.replace(item, occurred_at=item.occurred_at.replace(tzinfo=zone))


# -- the run --------------------------------------------------------------------------------


def _scope_for(username: str | None) -> tuple[Scope, User | None]:
    if username is None:
        return WHOLE_ORGANISATION, None
    user = get_user_model().objects.filter(username=username).first()
    if not isinstance(user, User):
        raise ImportFailed(f"no user is called {username!r}")
    scope = scope_for_user(user)
    if not scope.can_write:
        raise ImportFailed(f"{username} has no role that may write customer data")
    return scope, user


def _format_of(options: ImportOptions) -> str:
    fmt = (options.format or options.path.suffix.lstrip(".")).lower()
    fmt = {"ndjson": "jsonl", "json": "jsonl"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ImportFailed(f"cannot tell the format of {options.path.name}: name it .csv or "
                           ".jsonl, or pass --format csv|jsonl")
    return fmt


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
    return done


def _write_checkpoint(options: ImportOptions, fmt: str, rows_done: int, line: int) -> None:
    where = checkpoint_path(options.path)
    temporary = where.with_name(where.name + ".tmp")
    temporary.write_text(json.dumps({"kind": options.kind, "format": fmt,
                                     "rows_done": rows_done, "last_line": line}),
                         encoding="utf-8")
    # Replacing in one step means a crash leaves the old checkpoint or the new, never half.
    os.replace(temporary, where)


def run_import(options: ImportOptions) -> ImportSummary:
    """Import ``options.path``; rejected rows go to the error report, never abort the run."""
    if options.kind not in KINDS:
        raise ImportFailed(f"import what? {' or '.join(KINDS)}")
    if options.batch_size < 1:
        raise ImportFailed("--batch-size must be at least 1")
    fmt = _format_of(options)
    _check_mapping(options.kind, options.mapping)
    if options.timezone:
        try:
            ZoneInfo(options.timezone)  # refused now, not after the first batch
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ImportFailed(f"unknown time zone {options.timezone!r}") from exc
    scope, actor = _scope_for(options.username)
    if not os.access(options.path, os.R_OK) or not options.path.is_file():
        raise ImportFailed(f"cannot open {options.path}: not a readable file")
    skip = _read_checkpoint(options, fmt)
    errors_path = options.errors_path or options.path.with_name(options.path.name + ".errors.csv")
    summary = ImportSummary(skipped=skip, checkpoint_path=checkpoint_path(options.path),
                            errors_path=errors_path)
    loader = BulkLoader(scope=scope, actor=actor)
    started = time.monotonic()
    size = options.path.stat().st_size
    parallel = options.parallel if options.parallel is not None else (
        size >= PARALLEL_FROM and "DJANGO_SETTINGS_MODULE" in os.environ)
    with errors_path.open("a" if skip else "w", newline="", encoding="utf-8") as out, \
            tqdm(total=size, unit="B", unit_scale=True, file=sys.stderr,
                 disable=not options.progress, mininterval=0.5, dynamic_ncols=True,
                 desc=options.path.name) as bar:
        report = csv.writer(out)
        if not skip:
            report.writerow(["line", "field", "message"])
        batches = (_in_process if parallel else _in_thread)(options, fmt, skip)
        for prepared in batches:
            _commit(options, loader=loader, prepared=prepared, summary=summary, report=report)
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


@dataclass
class _Prepared:
    """A batch read and checked against the schemas, ready for the database."""

    lines: list[int]
    inputs: list[Any]
    checked: Checked | None
    good: list[int]
    errors: dict[int, list[RowError]]
    rows_done: int
    position: int


def _read_batches(options: ImportOptions, fmt: str, skip: int) -> Iterator[_Prepared]:
    """Batches of the file after ``skip`` rows, with their schema errors and the inputs of
    their good rows. Touches no database, so it can run beside the writing."""
    zone = ZoneInfo(options.timezone) if options.timezone else None
    with options.path.open("rb") as handle:
        # utf-8-sig: spreadsheets often start CSV files with a byte-order mark.
        stream = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        reader = _csv_rows if fmt == "csv" else _jsonl_rows
        done = 0
        batch: list[_Row] = []
        try:
            for row in reader(options.kind, stream, options.mapping, options.source):
                done += 1
                if done <= skip:
                    continue
                batch.append(row)
                if len(batch) >= options.batch_size:
                    yield _checked(options, batch, zone, done, handle.tell())
                    batch = []
        except UnicodeDecodeError as exc:
            raise ImportFailed(f"{options.path} is not UTF-8 text: {exc}") from exc
        if batch:
            yield _checked(options, batch, zone, done, handle.tell())


def _checked(options: ImportOptions, batch: list[_Row], zone: ZoneInfo | None, done: int,
             position: int) -> _Prepared:
    models, errors = _validate(options.kind, batch)
    good = [i for i, m in enumerate(models) if m is not None]
    inputs: list[Any]
    checked = None
    if options.kind == "interactions":
        inputs = [_with_zone(models[i].to_input(), zone) for i in good]  # type: ignore[union-attr]
        checked = check_rows(inputs)
    else:
        inputs = [(models[i].to_input(), models[i].unit) for i in good]  # type: ignore[union-attr]
    return _Prepared([r.line for r in batch], inputs, checked, good, errors, done, position)


_END = "end"


def _in_thread(options: ImportOptions, fmt: str, skip: int) -> Iterator[_Prepared]:
    """Read and validate in a thread, one batch ahead of the writing: the database works in
    its own process, so its share overlaps with the reading."""
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
            for item in _read_batches(options, fmt, skip):
                if not offer(item):
                    return
            offer(_END)
        except BaseException as exc:  # handed over, to be raised in the consuming thread
            offer(exc)

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) != _END:
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _Prepared)
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def _in_process(options: ImportOptions, fmt: str, skip: int) -> Iterator[_Prepared]:
    """Read and validate in a process of its own, for big files: parsing and validation are
    Python work that a thread would share one interpreter lock with the writing for. The
    pipe holds the reader about one batch ahead."""
    payload = {**dataclasses.asdict(options), "path": str(options.path),
               "errors_path": None if options.errors_path is None else str(options.errors_path)}
    reader = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
        [sys.executable, "-m", "opencem.customers.management.import_reader",
         json.dumps(payload), fmt, str(skip)], stdout=subprocess.PIPE)
    assert reader.stdout is not None
    try:
        while True:
            try:
                # The pickles come from the child this function started, never from outside.
                item = pickle.load(reader.stdout)  # noqa: S301
            except EOFError:
                raise ImportFailed("the reading process stopped unexpectedly "
                                   f"(exit status {reader.wait()})") from None
            if item == _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _Prepared)
            yield item
    finally:
        reader.stdout.close()
        if reader.poll() is None:
            reader.terminate()
        reader.wait()


def _commit(options: ImportOptions, *, loader: BulkLoader, prepared: _Prepared,
            summary: ImportSummary, report: Any) -> None:
    lines, good, errors = prepared.lines, prepared.good, prepared.errors
    outcome: BatchOutcome
    if options.kind == "interactions":
        outcome = loader.ingest(prepared.inputs, skip_invalid=True, checked=prepared.checked)
    else:
        outcome = loader.upsert_customers(prepared.inputs)
    for error in outcome.errors:
        position = good[error.index]
        errors.setdefault(position, []).append(dataclasses.replace(error, index=position))
    summary.read += len(lines)
    summary.created += outcome.created
    summary.existing += outcome.existing
    summary.rejected += len(errors)
    for position in sorted(errors):
        for error in errors[position]:
            report.writerow([lines[position], error.field, error.message])
