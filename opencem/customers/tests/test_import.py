from __future__ import annotations

import csv
import gc
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from opencem.core.importing import ImportFailed, ImportOptions, checkpoint_path, run_import
from opencem.customers import bulk
from opencem.customers.models import Customer, CustomerIdentity, CustomerUnit, Interaction
from opencem.customers.tests.factories import interaction_body

pytestmark = pytest.mark.django_db

HEADER = ["source", "external_id", "channel", "kind", "occurred_at", "unit", "value", "email",
          "name", "attr.basket"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, bodies: list[object]) -> Path:
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    return path


def row(i: int, *, unit: str = "STORE-A", email: str = "ann@example.com",
        occurred_at: str = "2026-03-01T10:00:00Z", kind: str = "purchase") -> list[str]:
    return ["pos", f"T-{i}", "store", kind, occurred_at, unit, "12.50", email, "Ann", "3"]


def run(path: Path, kind: str = "interactions", **options: object):  # type: ignore[no-untyped-def]
    return run_import(ImportOptions(kind=kind, path=path, progress=False,  # type: ignore[arg-type]
                                    **options))  # type: ignore[arg-type]


def error_rows(path: Path) -> list[list[str]]:
    with path.with_name(path.name + ".errors.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def test_a_csv_file_of_interactions_is_stored_with_customers_and_attributes(org, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(1), row(2, email="bo@example.com"), row(3)])
    summary = run(path)
    assert (summary.read, summary.created, summary.existing, summary.rejected) == (3, 3, 0, 0)
    first = Interaction.objects.get(external_id="T-1")
    assert (first.value, first.attributes, first.unit_id) == (Decimal("12.50"), {"basket": "3"},
                                                              org.store_a.pk)
    assert first.occurred_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert first.customer is not None
    assert first.customer.name == "Ann"
    assert Customer.objects.count() == 2
    assert not checkpoint_path(path).exists()


def test_a_jsonl_file_takes_api_bodies_with_nested_customer_and_flat_identities(org, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [
        interaction_body(external_id="J-1", customer={"email": "ann@example.com",
                                                      "attributes": {"tier": "gold"}}),
        {**interaction_body(external_id="J-2", email=None), "phone": "+447700900123",
         "attr.coupon": "SPRING"},
    ])
    summary = run(path)
    assert (summary.created, summary.rejected) == (2, 0)
    ann = CustomerIdentity.objects.get(value="ann@example.com").customer
    assert ann.attributes == {"tier": "gold"}
    second = Interaction.objects.get(external_id="J-2")
    assert second.attributes == {"items": 2, "coupon": "SPRING"}
    assert CustomerIdentity.objects.get(kind="phone").customer_id == second.customer_id


def test_tabs_backslashes_quotes_and_line_breaks_are_stored_as_given(org, tmp_path):
    odd = "T\t1\\x\nend \\N"
    note = 'say "hi"\n\tback\\slash, ünïcode \\.'
    path = write_jsonl(tmp_path / "in.jsonl", [
        interaction_body(external_id=odd, value="12.5", attributes={"note": note, "n": 1}),
        interaction_body(external_id="T\\2", attributes={"note": note})])
    assert run(path).created == 2
    stored = Interaction.objects.get(external_id=odd)
    assert (stored.attributes, stored.value) == ({"note": note, "n": 1}, Decimal("12.50"))
    assert Interaction.objects.get(external_id="T\\2").attributes == {"note": note}


def test_columns_can_be_mapped_by_option_and_by_mapping_file(org, tmp_path):
    header = ["txn", "when", "store", "channel", "kind", "mail", "card"]
    path = write_csv(tmp_path / "pos.csv", [
        ["A1", "2026-03-01T10:00:00+01:00", "STORE-B", "store", "purchase", "ann@example.com",
         "ab 123"]], header=header)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"external_id": "txn", "occurred_at": "when", "unit": "store"}))
    call_command("import_data", "interactions", str(path), "--mapping", str(mapping),
                 "--map", "email=mail", "--map", "loyalty_id=card", "--source", "till",
                 "--no-progress")
    stored = Interaction.objects.get()
    assert (stored.source, stored.external_id, stored.unit_id) == ("till", "A1", org.store_b.pk)
    assert stored.occurred_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert set(CustomerIdentity.objects.values_list("kind", "value")) == {
        ("email", "ann@example.com"), ("loyalty_id", "AB123")}


def test_a_mapping_to_a_missing_column_stops_the_import_before_any_row(org, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(1)])
    with pytest.raises(CommandError, match="no column 'txn'"):
        call_command("import_data", "interactions", str(path), "--map", "external_id=txn",
                     "--no-progress")
    with pytest.raises(CommandError, match="cannot map to 'colour'"):
        call_command("import_data", "interactions", str(path), "--map", "colour=name",
                     "--no-progress")
    assert Interaction.objects.count() == 0


def test_bad_rows_are_reported_by_line_and_field_while_good_rows_are_stored(org, tmp_path):
    path = write_csv(tmp_path / "in.csv", [
        row(1),
        row(2, unit="NOWHERE"),
        row(3, email="not-an-email"),
        ["pos", "T-4", "store", "purchase", "2026-03-01T10:00:00Z", "STORE-A", "1", "x@y.com",
         "Multi\nline name", "1"],
        row(5, occurred_at="2026-02-30T10:00:00Z"),
        row(6),
    ])
    summary = run(path, batch_size=2)
    assert (summary.read, summary.created, summary.rejected) == (6, 3, 3)
    assert set(Interaction.objects.values_list("external_id", flat=True)) == {"T-1", "T-4", "T-6"}
    assert [(line, field) for line, field, _ in error_rows(path)] == [
        ("3", "unit"), ("4", "customer.identities.0.email"), ("7", "occurred_at")]
    assert error_rows(path)[0][2] == "no unit has the code 'NOWHERE'"


@pytest.mark.parametrize("override", [
    {"occurred_at": "2026-02-30T10:00:00Z"},
    {"occurred_at": "2026-03-01T10:00:00"},
    {"occurred_at": "2999-01-01T00:00:00Z"},
    {"channel": "pigeon"},
    {"kind": "Big Purchase!"},
    {"value": "lots"},
    {"value": 1.234},
    {"attributes": ["not", "an", "object"]},
    {"external_id": "T\u00001"},
    {"surprise": True},
    {"customer": {"email": "not-an-email"}},
    {"customer": {"name": "No identity"}},
    {"unit": "NOWHERE"},
    {"unit": "STORE-B"},
])
def test_a_row_the_api_rejects_is_rejected_with_the_same_field_and_message(
        org, manager_a, tmp_path, override):
    body = interaction_body(**override)
    response = manager_a.api().post_json("/api/v1/interactions", body)
    assert response.status_code in (403, 422)
    expected = {(e["field"], e["message"]) for e in response.json()["error"]["errors"]}
    path = write_jsonl(tmp_path / "in.jsonl", [body])
    summary = run(path, username="manager_a")
    assert summary.rejected == 1
    assert {(field, message) for _, field, message in error_rows(path)} == expected
    assert Interaction.objects.count() == 0


def test_naive_timestamps_are_rejected_unless_a_time_zone_is_named(org, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(1, occurred_at="2026-07-01T10:00:00")])
    assert run(path).rejected == 1
    summary = run(path, timezone="Europe/London")
    assert (summary.created, summary.rejected) == (1, 0)
    assert Interaction.objects.get().occurred_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("parallel", [False, True], ids=["reading thread", "reading process"])
def test_an_interrupted_import_resumes_after_the_last_committed_batch(org, tmp_path, monkeypatch,
                                                                      parallel):
    path = write_csv(tmp_path / "in.csv", [row(i, email=f"c{i}@example.com") for i in range(7)]
                     + [row(7, unit="NOWHERE")])
    real = bulk.BulkLoader.ingest_staged
    calls = {"n": 0}

    def crash_on_third_batch(self, staged):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, staged)

    monkeypatch.setattr(bulk.BulkLoader, "ingest_staged", crash_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        run(path, batch_size=3, parallel=parallel)
    assert Interaction.objects.count() == 6
    assert json.loads(checkpoint_path(path).read_text())["rows_done"] == 6
    monkeypatch.setattr(bulk.BulkLoader, "ingest_staged", real)
    summary = run(path, batch_size=3, resume=True, parallel=parallel)
    assert (summary.skipped, summary.read, summary.created, summary.rejected) == (6, 2, 1, 1)
    assert Interaction.objects.count() == 7
    assert [line for line, _, _ in error_rows(path)] == ["9"]
    assert not checkpoint_path(path).exists()


def test_running_the_same_file_again_stores_nothing_new(org, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(i, email=f"c{i % 2}@example.com")
                                           for i in range(5)])
    first = run(path, batch_size=2)
    again = run(path, batch_size=2)
    assert (first.created, first.existing) == (5, 0)
    assert (again.created, again.existing) == (0, 5)
    assert (Interaction.objects.count(), Customer.objects.count()) == (5, 2)


def test_a_users_scope_rejects_rows_for_units_outside_it(org, manager_a, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(1), row(2, unit="STORE-B")])
    summary = run(path, username="manager_a")
    assert (summary.created, summary.rejected) == (1, 1)
    assert error_rows(path) == [["3", "unit", "unit 'STORE-B' is outside your scope"]]


def test_an_unknown_user_or_a_file_of_unknown_format_is_fatal(org, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(1)])
    with pytest.raises(ImportFailed, match="no user"):
        run(path, username="nobody")
    with pytest.raises(ImportFailed, match="format"):
        run(path.rename(tmp_path / "in.txt"))


def test_customers_are_upserted_with_names_attributes_and_units(org, tmp_path):
    path = write_csv(tmp_path / "people.csv", [
        ["ann@example.com", "", "Ann", "gold", "STORE-A"],
        ["ANN@example.com", "+447700900123", "", "", ""],
        ["bo@example.com", "", "Bo", "", "NOWHERE"],
        ["", "", "Nobody", "", ""],
        ["cy@example.com", "", "Cy", "", ""],
    ], header=["email", "phone", "name", "attr.tier", "unit"])
    summary = run(path, kind="customers")
    assert (summary.read, summary.created, summary.existing, summary.rejected) == (5, 2, 1, 2)
    ann = CustomerIdentity.objects.get(value="ann@example.com").customer
    assert (ann.name, ann.attributes) == ("Ann", {"tier": "gold"})
    assert set(ann.identities.values_list("kind", flat=True)) == {"email", "phone"}
    assert CustomerUnit.objects.filter(customer=ann, unit=org.store_a).exists()
    assert [(line, field) for line, field, _ in error_rows(path)] == [("4", "unit"), ("5", "")]


def test_a_customer_import_by_a_store_manager_needs_their_unit(org, manager_a, admin, tmp_path):
    path = write_csv(tmp_path / "people.csv", [["ann@example.com", ""], ["bo@example.com",
                                                                          "STORE-A"]],
                     header=["email", "unit"])
    summary = run(path, kind="customers", username="manager_a")
    assert (summary.created, summary.rejected) == (1, 1)
    response = manager_a.api().post_json("/api/v1/customers", {"email": "ann@example.com"})
    assert error_rows(path) == [["2", "unit", response.json()["error"]["errors"][0]["message"]]]


def test_reading_in_a_separate_process_stores_and_reports_the_same(org, tmp_path):
    # The first batch is read while the process starts; it reads the others.
    path = write_csv(tmp_path / "in.csv", [
        row(1), row(2, unit="NOWHERE"), row(3), row(4, email="not-an-email"), row(5)])
    summary = run(path, parallel=True, batch_size=2)
    assert (summary.read, summary.created, summary.rejected) == (5, 3, 2)
    assert error_rows(path) == [["3", "unit", "no unit has the code 'NOWHERE'"],
                                ["5", "customer.identities.0.email",
                                 "'not-an-email' is not an email address"]]
    assert set(Interaction.objects.values_list("external_id", flat=True)) == {"T-1", "T-3",
                                                                              "T-5"}


def test_an_import_leaves_the_garbage_collector_as_it_found_it(org, tmp_path):
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    run(write_csv(tmp_path / "in.csv", [row(1), row(2)]))
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
