"""Reading an import file: CSV or JSON Lines rows shaped into the bodies the API takes.

Columns named like a field of the kind map to it by themselves; ``--map field=column`` (or a
mapping file) reads a field from a column of another name. Flat identity columns (``email``,
``phone``, …) and ``name`` go into the body's ``customer``; prefixed columns (``attr.tier``,
``question:nps``) into the object they name. An empty CSV cell is a value not given, as a key
left out of a JSON body.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opencem.core.importing.contract import ImportFailed, Row, RowReader, RowShape

Columns = list[tuple[int, str]]  # (column index, target field)


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


def check_mapping(kind: str, reader: RowReader, mapping: dict[str, str]) -> None:
    """Refuse a mapping to a field the kind's rows do not have, before any row is read."""
    shape = reader.shape
    for target in mapping:
        if target not in shape.known and shape.nested_of(target) is None:
            raise ImportFailed(f"cannot map to {target!r}: {kind} rows have "
                               f"{shape.describe()}")
        _check_target(reader, target)


def _check_target(reader: RowReader, target: str) -> None:
    problem = reader.check_target(target)
    if problem is not None:
        raise ImportFailed(f"cannot map to {target!r}: {problem}")


def _column_plan(reader: RowReader, header: list[str], mapping: dict[str, str]) -> Columns:
    """(column index, target field) for every column that feeds a field."""
    shape = reader.shape
    index = {name: i for i, name in enumerate(header)}
    plan: dict[str, int] = {}
    for target in shape.known:
        if target in index:
            plan[target] = index[target]
    for name, i in index.items():
        if shape.nested_of(name) is not None:
            _check_target(reader, name)
            plan[name] = i
    for target, column in mapping.items():
        if column not in index:
            raise ImportFailed(f"--map {target}={column}: the file has no column {column!r} "
                               f"(it has {', '.join(header)})")
        # A column mapped elsewhere no longer feeds the field of its own name.
        plan = {t: i for t, i in plan.items() if i != index[column] or t == target}
        plan[target] = index[column]
    return sorted(((i, t) for t, i in plan.items()), key=lambda p: p[0])


def _split(shape: RowShape, plan: Columns) -> tuple[Columns, Columns, dict[str, Columns]]:
    """The plan split by where each field goes in the API body (the top, ``customer``, the
    nested objects by key), worked out once per file."""
    nested: dict[str, Columns] = {}
    for i, t in plan:
        if t not in shape.known and (found := shape.nested_of(t)) is not None:
            nested.setdefault(found[0].key, []).append((i, found[1]))
    return ([(i, t) for i, t in plan if t in shape.fields],
            [(i, t) for i, t in plan if t in shape.person], nested)


def csv_rows(reader: RowReader, stream: io.TextIOWrapper, mapping: dict[str, str],
             source: str | None) -> Iterator[Row]:
    """The CSV file's rows as API bodies, with their line numbers."""
    cells_of = csv.reader(stream)
    try:
        header = next(cells_of)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ImportFailed(f"the header is not valid CSV: {exc}") from exc
    shape = reader.shape
    plan = _column_plan(reader, [h.strip() for h in header], mapping)
    top, person, nested = _split(shape, plan)
    width = max((i for i, _ in plan), default=-1) + 1
    fill = source if shape.takes_source else None
    # Kinds whose schema reads text as it is skip the per-row call.
    adjust = None if type(reader).adjust is RowReader.adjust else reader.adjust
    line = cells_of.line_num + 1
    while True:
        try:
            cells = next(cells_of)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFailed(f"line {line}: not valid CSV ({exc})") from exc
        if cells:
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            body: dict[str, Any] = {t: cells[i] for i, t in top if cells[i]}
            if person and (customer := {t: cells[i] for i, t in person if cells[i]}):
                body["customer"] = customer
            for key, columns in nested.items():
                if values := {name: cells[i] for i, name in columns if cells[i]}:
                    body[key] = values
            if fill and not body.get("source"):
                body["source"] = fill
            yield Row(line, adjust(body) if adjust else body)
        line = cells_of.line_num + 1


def jsonl_rows(reader: RowReader, stream: io.TextIOWrapper, mapping: dict[str, str],
               source: str | None) -> Iterator[Row]:
    """The JSON Lines file's objects as API bodies: taken as they are, with flat identities,
    prefixed keys and mapped keys moved where the API has them."""
    shape = reader.shape
    renames = {**{t: t for t in shape.person}, **mapping}
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except ValueError as exc:
            yield Row(line, {}, f"is not valid JSON: {exc}")
            continue
        if not isinstance(raw, dict):
            yield Row(line, {}, "must be a JSON object")
            continue
        body = dict(raw)
        for target, key in renames.items():
            if key in body and (target != key or target in shape.person):
                _place(shape, body, target, key)
        for key in [k for k in body if k not in shape.known and shape.nested_of(k)]:
            _place(shape, body, key, key)
        if source and shape.takes_source and not body.get("source"):
            body["source"] = source
        yield Row(line, body)


def _place(shape: RowShape, body: dict[str, Any], target: str, key: str) -> None:
    """Move ``body[key]`` to where the API body has ``target``. Into an object the row gives
    as something else (``"attributes": [1]``) nothing is moved: the schema names both."""
    found = shape.nested_of(target) if target not in shape.known else None
    if found is not None:
        container, name = found[0].key, found[1]
    elif target in shape.person:
        container, name = "customer", target
    else:
        body[target] = body.pop(key)
        return
    holder = body.get(container)
    if holder is None:  # absent, or null as a JSON body may leave it
        holder = body[container] = {}
    if isinstance(holder, dict):
        holder[name] = body.pop(key)
