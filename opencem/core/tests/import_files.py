"""Writing import files and reading their error reports, for the import tests of every app."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, bodies: list[object]) -> Path:
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    return path


def error_rows(path: Path) -> list[list[str]]:
    """The rows of ``path``'s error report (line, field, message), without its header."""
    with path.with_name(path.name + ".errors.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]
