"""Writes of several tables in one SQL statement (PostgreSQL's data-modifying ``WITH``).

A hot write path such as a survey submission touches half a dozen tables; as separate
statements inside a transaction that is a dozen round trips, each paid in the web process and
in the database. As one statement it is a single round trip that PostgreSQL runs atomically
even outside a transaction, so nothing can be half written. Rows are still built from the
models (defaults, ``auto_now`` and field preparation come from Django), so a field added
later gets its default here as it would through the ORM.

The statements travel with server-side binding (``fetch``): their text is the same from one
request to the next and only the values change, so PostgreSQL parses and plans each of them
once per connection when prepared statements are on (``DATABASE_PREPARED_STATEMENTS``).

Only PostgreSQL runs data-modifying ``WITH`` clauses; callers keep an ORM path for the rest
(``supports_one_statement``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils import timezone
from django.utils.asyncio import async_unsafe

Params = list[Any]
_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class Expr:
    """An SQL expression standing in for a column's value, e.g. the id of a row that an
    earlier part of the same statement inserts: ``Expr('(SELECT "id" FROM "response")')``.
    Written with ``%s`` placeholders for ``params``."""

    sql: str
    params: tuple[Any, ...] = ()


def supports_one_statement() -> bool:
    """Whether the default database runs data-modifying ``WITH`` clauses (PostgreSQL)."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


# A column's default made anew for every row (a callable such as ``dict``), by the field.
_MADE = object()


@dataclass(frozen=True)
class _Column:
    field: models.Field[Any, Any]
    attname: str
    stamped: bool  # auto_now or auto_now_add: the ORM sets it to the current time
    default: Any  # the field's default when it is a constant (most are), else _MADE


def _constant_default(f: models.Field[Any, Any]) -> Any:
    if (f.has_default() and callable(f.default)) or f.db_default is not models.NOT_PROVIDED:
        return _MADE
    return f.get_default()


@lru_cache(maxsize=64)
def _columns(model: type[models.Model]) -> tuple[_Column, ...]:
    """The columns a new row of ``model`` is inserted with: all but an automatic key."""
    columns = []
    for f in model._meta.concrete_fields:
        if isinstance(f, models.AutoField):
            continue
        stamped = bool(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
        columns.append(_Column(f, f.attname, stamped, _constant_default(f)))
    return tuple(columns)


# Values that need no preparation for the database: Django's preparation of them is the
# identity (a time zone-aware datetime included), and psycopg and sqlite3 take them as they
# are. Anything else (JSON, naive datetimes, decimals, ...) goes through the field.
_AS_THEY_ARE = frozenset({int, str, bool, type(None)})


@lru_cache(maxsize=256)
def _insert_text(vendor: str, model: type[models.Model],
                 rows: tuple[tuple[str | None, ...], ...], returning: tuple[str, ...]) -> str:
    """The text of an insert of rows whose cells are ``%s`` (None) or an expression."""
    qn = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(qn(c.field.column) for c in _columns(model))
    values = ", ".join("(" + ", ".join("%s" if cell is None else cell for cell in row) + ")"
                       for row in rows)
    # Table and column names come from the model, never from input.
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES {values}"  # noqa: S608
    if returning:
        sql += f" RETURNING {', '.join(qn(c) for c in returning)}"
    return sql


def insert_sql(model: type[models.Model], rows: Sequence[Mapping[str, Any]], *,
               returning: Sequence[str] = (), now: datetime | None = None
               ) -> tuple[str, Params]:
    """``INSERT INTO <model's table> (...) VALUES (...), ... [RETURNING ...]`` for ``rows``.

    Each row maps attribute names (``survey_id``, not ``survey``) to values or ``Expr``.
    The values are the ORM's: a field left out takes its default, an ``auto_now`` or
    ``auto_now_add`` field the current time, and each value is prepared by its field. Rows
    are inserted in the order given, so serial ids follow it. ``now``: the current time
    for the ``auto_now`` and ``auto_now_add`` fields (read here when not given).
    """
    db = connections[DEFAULT_DB_ALIAS]
    columns = _columns(model)
    now = now or timezone.now()
    shapes: list[tuple[str | None, ...]] = []
    params: Params = []
    for row in rows:
        shape: list[str | None] = []
        for column in columns:
            if column.stamped:
                shape.append(None)
                params.append(now)
                continue
            value = row.get(column.attname, column.default)
            if value is _MADE:
                value = column.field.get_default()
            kind = type(value)
            if kind is Expr:
                shape.append(value.sql)
                params.extend(value.params)
                continue
            shape.append(None)
            if kind in _AS_THEY_ARE or (kind is datetime and value.tzinfo is not None):
                params.append(value)
            else:
                params.append(column.field.get_db_prep_save(value, db))
        shapes.append(tuple(shape))
    return _insert_text(db.vendor, model, tuple(shapes), tuple(returning)), params


# At most this many values in one insert of ``insert_objects`` (PostgreSQL takes 65,535
# parameters a statement, SQLite 32,766).
MAX_PARAMS = 30_000


def insert_objects(objs: Sequence[_M]) -> list[_M]:
    """Insert new model instances, as ``bulk_create`` does for plain rows (no conflict
    handling, no many-to-many), each with one prepared statement per few thousand values
    instead of the ORM's insert compiled anew: each instance gets its id and its
    ``auto_now`` and ``auto_now_add`` fields, and is saved as far as Django can tell.
    Call it inside a transaction when there are many."""
    if not objs:
        return []
    model = type(objs[0])
    columns = _columns(model)
    pk = model._meta.pk
    if (not isinstance(pk, models.AutoField)
            or any(type(o) is not model or o.pk is not None for o in objs)):
        raise TypeError("insert_objects takes new instances of one model with an automatic "
                        "key")
    now = timezone.now()
    per = max(1, MAX_PARAMS // max(1, len(columns)))
    for start in range(0, len(objs), per):
        part = objs[start:start + per]
        for o in part:
            # What bulk_create checks: no unsaved related instance; a related instance
            # saved since it was set gives its id.
            o._prepare_related_fields_for_save(  # type: ignore[attr-defined]
                operation_name="insert_objects")
        rows = [{c.attname: getattr(o, c.attname) for c in columns if not c.stamped}
                for o in part]
        ids = fetch(*insert_sql(model, rows, returning=(pk.column,), now=now))
        for o, (new_id,) in zip(part, ids, strict=True):
            o.pk = new_id
            o._state.adding = False
            o._state.db = DEFAULT_DB_ALIAS
            for c in columns:
                if c.stamped:
                    setattr(o, c.attname, now)
    return list(objs)


@lru_cache(maxsize=256)
def _native(sql: str) -> str:
    """``sql`` with PostgreSQL's own placeholders: the n-th ``%s`` becomes ``$n``."""
    pieces = sql.split("%s")
    return pieces[0] + "".join(f"${i}{piece}" for i, piece in enumerate(pieces[1:], 1))


@async_unsafe
def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement written with ``%s`` placeholders (and no other ``%``); its rows.

    On PostgreSQL the values travel apart from the text (server-side binding), so a statement
    run again and again is parsed and planned once per connection when prepared statements
    are on, and the text is never scanned for placeholders on our side. Elsewhere it runs
    through Django's cursor. Either way Django's execute wrappers and query log see it.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    # What ``connection.cursor()`` does, with psycopg's cursor for native placeholders.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw = psycopg.RawCursor(db.connection)
    cursor = _LoggedCursor(raw, db) if db.queries_logged else CursorWrapper(raw, db)
    with cursor:
        cursor.execute(_native(sql), params)
        return list(cursor.fetchall())


class _LoggedCursor(CursorDebugWrapper):
    """Django's logging cursor, logging the statement as sent: psycopg keeps no text of a
    prepared statement for Django to read back afterwards."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


@lru_cache(maxsize=256)
def _statement_text(parts: tuple[tuple[str, str], ...], result: str) -> str:
    qn = connections[DEFAULT_DB_ALIAS].ops.quote_name
    clauses = ", ".join(f"{qn(name)} AS ({sql})" for name, sql in parts)
    # The names are the parts' own (code, not input).
    touched = ", ".join(f"(SELECT count(*) FROM {qn(name)})"  # noqa: S608
                        for name, _ in parts)
    return f"WITH {clauses} SELECT {touched}, {result}"


@dataclass
class OneStatement:
    """Parts of one statement: each a named data-modifying (or reading) query that later
    parts may read (``SELECT id FROM <name>``), run in the order they were added.

    Parts are written with ``%s`` placeholders and no other ``%``; a data-modifying part
    needs a ``RETURNING`` clause (``RETURNING 1`` will do).
    """

    parts: list[tuple[str, str]] = field(default_factory=list)
    params: Params = field(default_factory=list)

    def add(self, name: str, sql: str, params: Sequence[Any] = ()) -> None:
        self.parts.append((name, sql))
        self.params.extend(params)

    def run(self, *, result: str) -> tuple[Any, ...]:
        """Run every part; returns the row ``result`` (a select list over the parts) gives.

        PostgreSQL runs the parts of a ``WITH`` whenever it first reads them, and those
        nobody reads at the end in an order of its own. The final select therefore reads
        every part in turn, so they run in the order they were added: writers that share a
        counter row take its lock in the same order and cannot deadlock each other.
        """
        rows = fetch(_statement_text(tuple(self.parts), result), self.params)
        return tuple(rows[0][len(self.parts):])
