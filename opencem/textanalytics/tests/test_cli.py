"""``opencem analyze --in FILE.csv``: any CSV, streamed, with no database."""

from __future__ import annotations

import csv

import pytest
from django.core.management import CommandError, call_command

from opencem.textanalytics.csvfile import OUTPUT_COLUMNS, analyze_csv


def _write(path, rows, columns=("id", "comment")):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def test_a_csv_is_analysed_into_its_columns_plus_the_results(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source, [("1", "The parcel arrived damaged, call me on 07700 900123"),
                    ("2", "=1+2 friendly staff, thank you"), ("3", "")])
    # No database fixture: touching the database here would fail the test.
    call_command("analyze", "--in", str(source), "--out", str(target),
                 "--text-column", "comment", "--no-progress")
    with target.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "comment", *OUTPUT_COLUMNS]
    assert rows[0]["comment"] == "The parcel arrived damaged, call me on 07700 900123"
    assert rows[0]["redacted_text"] == "The parcel arrived damaged, call me on [PHONE]"
    assert rows[0]["sentiment"] == "negative"
    assert -1 <= float(rows[0]["sentiment_score"]) < 0
    assert "delivery.damage" in rows[0]["themes"].split(";")
    assert rows[1]["sentiment"] == "positive"
    assert rows[1]["redacted_text"].startswith("'=1+2")  # no formula in a spreadsheet
    assert (rows[2]["sentiment"], rows[2]["themes"]) == ("neutral", "")


def test_rows_stream_through_in_batches(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source, [(str(i), f"Order {i} was late") for i in range(7)])
    summary = analyze_csv(source=source, target=target, text_column="comment", progress=False,
                          batch_rows=3)
    assert summary.rows == 7
    with target.open(encoding="utf-8") as f:
        assert [r["id"] for r in csv.DictReader(f)] == [str(i) for i in range(7)]


def test_a_missing_text_column_or_file_is_a_clear_error(tmp_path):
    source = tmp_path / "in.csv"
    _write(source, [("1", "hello")])
    with pytest.raises(CommandError, match="no column 'text'"):
        call_command("analyze", "--in", str(source), "--out", str(tmp_path / "o.csv"),
                     "--no-progress")
    with pytest.raises(CommandError, match="no such file"):
        call_command("analyze", "--in", str(tmp_path / "nope.csv"),
                     "--out", str(tmp_path / "o.csv"))
    with pytest.raises(CommandError, match="--pending"):
        call_command("analyze")
