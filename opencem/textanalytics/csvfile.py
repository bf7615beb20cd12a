"""``opencem analyze --in FILE.csv``: the pipeline over any CSV, streamed, with no database.

Rows are read, analysed and written a batch at a time, so memory stays flat whatever the
file's size; the progress bar follows the bytes read.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Never

from tqdm import tqdm

from opencem.core.exports import safe_cell
from opencem.textanalytics.nlp.pipeline import Analyzer, TextResult

OUTPUT_COLUMNS = ("sentiment", "sentiment_score", "emotions", "themes", "pillars",
                  "redacted_text", "effort", "language")
BATCH_ROWS = 256
# Customer comments can be long transcripts; the csv module refuses fields over 128 kB.
csv.field_size_limit(16 * 1024 * 1024)


class AnalyzeError(Exception):
    """A problem with the file or the options (not with one row)."""


class _Counting(io.RawIOBase):
    """A binary file that tells a progress bar how many bytes were read."""

    def __init__(self, raw: IO[bytes], bar: tqdm[Never]) -> None:
        self._raw = raw
        self._bar = bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._bar.update(n)
        return n


@dataclass(frozen=True)
class Summary:
    """What a run did."""

    rows: int
    seconds: float


def _batches(reader: Iterator[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    batch: list[dict[str, str]] = []
    for row in reader:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _cells(result: TextResult) -> dict[str, str]:
    return {"sentiment": result.sentiment, "sentiment_score": f"{result.score:.3f}",
            "emotions": ";".join(result.emotions), "themes": ";".join(result.themes),
            "pillars": ";".join(result.pillars),
            "redacted_text": safe_cell(result.redacted_text),
            "effort": ";".join(result.effort), "language": result.language}


def analyze_csv(*, source: Path, target: Path, text_column: str = "text",
                analyzer: Analyzer | None = None, progress: bool = True,
                batch_rows: int = BATCH_ROWS) -> Summary:
    """Analyse ``text_column`` of every row of ``source`` into ``target``: the input columns
    followed by ``OUTPUT_COLUMNS`` (lists joined by ``;``)."""
    import time  # noqa: PLC0415

    if not source.is_file():
        raise AnalyzeError(f"{source}: no such file")
    started = time.monotonic()
    rows = 0
    with (source.open("rb") as raw,
          tqdm(total=source.stat().st_size, unit="B", unit_scale=True, disable=not progress,
               file=sys.stderr, desc="analysing") as bar):
        text = io.TextIOWrapper(io.BufferedReader(_Counting(raw, bar)), encoding="utf-8-sig",
                                newline="")
        reader = csv.DictReader(text)
        columns = list(reader.fieldnames or [])
        if text_column not in columns:
            raise AnalyzeError(f"{source}: no column {text_column!r} "
                               f"(columns: {', '.join(columns) or 'none'})")
        clashes = [c for c in OUTPUT_COLUMNS if c in columns]
        if clashes:
            raise AnalyzeError(f"{source}: the input already has {', '.join(clashes)}; "
                               "rename those columns first")
        analyzer = analyzer or Analyzer(themes=_starter())
        with target.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=[*columns, *OUTPUT_COLUMNS],
                                    extrasaction="ignore")
            writer.writeheader()
            for batch in _batches(reader, batch_rows):
                results = analyzer.analyze([row.get(text_column) or "" for row in batch])
                for row, result in zip(batch, results, strict=True):
                    writer.writerow({**row, **_cells(result)})
                rows += len(batch)
    return Summary(rows, time.monotonic() - started)


def _starter() -> list:  # type: ignore[type-arg]
    from opencem.textanalytics.nlp.starter import starter_themes  # noqa: PLC0415

    return starter_themes()
