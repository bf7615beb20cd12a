"""The analyst explorer, its CSV and XLSX exports, and the printable summary."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from django.test import Client

from opencem.conftest import Org, Persona
from opencem.dashboards.exports import xlsx_bytes
from opencem.dashboards.tests.factories import MARCH, make_survey, respond

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","click")'


def signed_in(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def stores(org: Org) -> Org:
    _, version = make_survey(org.company, name="Store survey")
    respond(version, org.store_a, count=12, nps=10, csat=5, channel="store",
            attributes={"tier": FORMULA})
    respond(version, org.store_a, count=6, nps=6, csat=2, channel="web",
            attributes={"tier": "gold"})
    respond(version, org.store_b, count=20, nps=0, csat=1, channel="store",
            attributes={"tier": "gold"})
    return org


def csv_rows(response: object) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body)))


def xlsx_cells(data: bytes) -> tuple[str, str, str]:
    """The sheet's XML, the shared strings and the styles of a workbook."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return (book.read("xl/worksheets/sheet1.xml").decode(),
                book.read("xl/sharedStrings.xml").decode(),
                book.read("xl/styles.xml").decode())


def test_the_explorer_shows_a_metric_by_two_dimensions_with_a_chart(
        stores: Org, admin: Persona) -> None:
    html = signed_in(admin).get(
        f"/dashboards/explorer/?metric=nps&group_by=unit&then_by=channel&{MARCH}"
    ).content.decode()
    assert "NPS by unit and channel" in html
    assert 'data-chart="explorer-chart-data"' in html
    table = html[html.index('id="explorer-table"'):]
    assert "Store A (STORE-A)" in table
    assert "Store" in table
    assert "Web" in table
    assert "-100.0" in table  # Store B, in store: 20 detractors


def test_the_explorer_opens_with_a_question_to_start_from(stores: Org, admin: Persona) -> None:
    response = signed_in(admin).get("/dashboards/explorer/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="month" selected>' in html
    assert "errorlist" not in html


def test_the_explorer_refuses_an_impossible_question_naming_the_field(
        stores: Org, admin: Persona) -> None:
    response = signed_in(admin).get(
        f"/dashboards/explorer/?metric=nps&group_by=attribute&{MARCH}")
    assert response.status_code == 422
    assert "is required to group by attribute" in response.content.decode()


def test_a_managers_explorer_and_exports_hold_their_store_only(
        stores: Org, manager_a: Persona) -> None:
    client = signed_in(manager_a)
    query = f"metric=nps&group_by=unit&{MARCH}"
    html = client.get(f"/dashboards/explorer/?{query}").content.decode()
    assert "Store A" in html
    assert "Store B" not in html
    rows = csv_rows(client.get(f"/dashboards/explorer/export.csv?{query}"))
    assert [row[0] for row in rows[1:]] == ["Store A (STORE-A)"]
    sheet, strings, _ = xlsx_cells(
        client.get(f"/dashboards/explorer/export.xlsx?{query}").content)
    assert "STORE-A" in strings
    assert "STORE-B" not in strings + sheet


def test_a_manager_gets_no_export_of_another_store(stores: Org, manager_a: Persona) -> None:
    client = signed_in(manager_a)
    for ext in ("csv", "xlsx"):
        response = client.get(f"/dashboards/explorer/export.{ext}?metric=nps&unit=STORE-B")
        assert response.status_code == 422
        assert response["Content-Type"].startswith("text/html")


def test_exports_hold_the_table_with_suppressed_groups_as_a_note(
        stores: Org, admin: Persona) -> None:
    _, version = make_survey(stores.company, name="Small one")
    respond(version, stores.web, count=2, nps=9)
    rows = csv_rows(signed_in(admin).get(
        f"/dashboards/explorer/export.csv?metric=nps&group_by=unit&{MARCH}"))
    header, *body = rows
    assert header[:6] == ["unit", "NPS", "n", "95% low", "95% high", "small sample"]
    web = next(row for row in body if row[0] == "Web shop (WEB)")
    assert web[1] == ""
    assert web[3] == ""
    assert web[4] == ""
    assert web[6] == "fewer than 5 responses"


def test_csv_export_neutralises_formulas(stores: Org, admin: Persona) -> None:
    rows = csv_rows(signed_in(admin).get(
        f"/dashboards/explorer/export.csv?metric=nps&group_by=attribute&attribute=tier&{MARCH}"))
    tiers = [row[0] for row in rows[1:]]
    assert "'" + FORMULA in tiers
    assert FORMULA not in tiers


def test_xlsx_export_stores_formulas_as_quoted_text(stores: Org, admin: Persona) -> None:
    response = signed_in(admin).get(
        f"/dashboards/explorer/export.xlsx?metric=nps&group_by=attribute&attribute=tier&{MARCH}")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet, strings, styles = xlsx_cells(response.content)
    assert "<f>" not in sheet  # no cell is a formula
    assert "HYPERLINK" in strings  # the text is there, as a string
    assert 'quotePrefix="1"' in styles


def test_xlsx_writes_numbers_as_numbers_and_text_never_as_a_formula() -> None:
    sheet, strings, _ = xlsx_cells(xlsx_bytes(["name", "value"],
                                              [["=1+1", 12.5], ["@SUM(A1)", None]]))
    assert "<f>" not in sheet
    assert "=1+1" in strings
    assert "@SUM(A1)" in strings
    assert re.search(r'<c r="B2"[^>]*><v>12.5</v></c>', sheet)


def test_the_printable_summary_is_laid_out_for_paper(stores: Org, admin: Persona) -> None:
    html = signed_in(admin).get(f"/dashboards/summary/?{MARCH}").content.decode()
    assert "Executive summary: Acme Retail" in html
    assert "Print or save as PDF" in html
    assert "CES" in html
    assert "League table" in html
    assert "dashboards/dashboards.css" in html  # the sheet with the print rules
