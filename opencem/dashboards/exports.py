"""The explorer's table as CSV and XLSX, safe to open in a spreadsheet.

Both hold exactly the rows of the page. Text cells that a spreadsheet would read as a formula
(a customer attribute "=HYPERLINK(…)", say) are neutralised: the CSV prefixes them with an
apostrophe (``core.exports``); the XLSX stores every text as a string cell, never a formula,
and marks those cells "quote prefix" (a spreadsheet's own way of saying "this is text", so
that editing the cell does not turn it into a formula either).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import xlsxwriter
from django.http import HttpResponse, StreamingHttpResponse

from opencem.core.exports import csv_response, safe_cell

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_csv(filename: str, header: list[str], rows: Sequence[Sequence[object]]
              ) -> StreamingHttpResponse:
    """The table as a CSV download (formulas neutralised)."""
    return csv_response(filename, header, rows)


def xlsx_bytes(header: list[str], rows: Sequence[Sequence[object]], *,
               sheet: str = "Explorer") -> bytes:
    """The table as an XLSX workbook with one sheet: numbers as numbers, text as text."""
    buffer = io.BytesIO()
    # Never guess: a string stays a string, whatever it looks like.
    workbook = xlsxwriter.Workbook(buffer, {
        "in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False})
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    as_text = workbook.add_format({"quote_prefix": True})
    for col, name in enumerate(header):
        worksheet.write_string(0, col, name, bold)
    for row_number, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                worksheet.write_string(row_number, col, "yes" if value else "no")
            elif isinstance(value, int | float):
                worksheet.write_number(row_number, col, value)
            else:
                text = str(value)
                if safe_cell(text) != text:
                    # What a spreadsheet would take for a formula stays text, shown as typed.
                    worksheet.write_string(row_number, col, text, as_text)
                else:
                    worksheet.write_string(row_number, col, text)
    worksheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()


def table_xlsx(filename: str, header: list[str], rows: Sequence[Sequence[object]]
               ) -> HttpResponse:
    """The table as an XLSX download."""
    response = HttpResponse(xlsx_bytes(header, rows), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
