"""Streaming CSV exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

# A cell starting with one of these is read as a formula by spreadsheet programs; a customer
# could otherwise plant "=HYPERLINK(...)" in a comment and have it run on an analyst's machine.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text, with a leading apostrophe where it would be taken for a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]
                 ) -> StreamingHttpResponse:
    """A CSV download streamed row by row, so exports of millions of rows use little memory."""
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
