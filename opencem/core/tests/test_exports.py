from __future__ import annotations

import pytest

from opencem.core.exports import csv_rows, safe_cell


@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+cmd", "'+cmd"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("-12.5", "-12.5"),
    ("plain", "plain"),
    (None, ""),
    (42, "42"),
])
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert safe_cell(value) == expected


def test_csv_rows_quote_and_neutralise():
    out = "".join(csv_rows(["a", "b"], [["=1+1", 'say "hi", ok']]))
    assert out == 'a,b\r\n\'=1+1,"say ""hi"", ok"\r\n'
