from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections

from opencem.accounts.selectors import WHOLE_ORGANISATION, scope_for_user
from opencem.core.errors import ApplicationError
from opencem.customers import hooks
from opencem.customers.bulk import BulkLoader, BulkReport, bulk_ingest
from opencem.customers.models import (
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerUnit,
    Interaction,
)
from opencem.customers.services import CustomerInput, InteractionInput, customer_upsert

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def record(external_id: str, *identities: tuple[str, str], unit: str = "STORE-A",
           name: str | None = None, **overrides: object) -> InteractionInput:
    customer = CustomerInput(identities=identities, name=name) if identities else None
    fields: dict[str, object] = {"source": "pos", "external_id": external_id, "channel": "store",
                                 "kind": "purchase", "occurred_at": AT, "unit": unit,
                                 "customer": customer, "value": Decimal("9.99"),
                                 "attributes": {"items": 2}}
    fields.update(overrides)
    return InteractionInput(**fields)  # type: ignore[arg-type]


def test_rows_that_share_identities_become_one_customer(org):
    report = bulk_ingest([
        record("T-1", ("email", "ann@example.com")),
        record("T-2", ("email", "ANN@example.com "), ("phone", "+44 7700 900123")),
        record("T-3", ("phone", "07700900123")),
        record("T-4", ("email", "bo@example.com")),
    ], scope=WHOLE_ORGANISATION)
    assert (report.created, report.existing) == (4, 0)
    assert Customer.objects.count() == 2
    ann = CustomerIdentity.objects.get(kind="email", value="ann@example.com").customer_id
    assert set(Interaction.objects.filter(customer_id=ann).values_list("external_id", flat=True)
               ) == {"T-1", "T-2", "T-3"}
    assert CustomerIdentity.objects.get(kind="phone", value="+447700900123").customer_id == ann


def test_a_row_naming_two_existing_customers_merges_the_younger_into_the_older(org):
    older = customer_upsert(data=CustomerInput(identities=(("email", "ann@example.com"),),
                                               name="Ann"), scope=WHOLE_ORGANISATION).customer
    younger = customer_upsert(data=CustomerInput(identities=(("phone", "+447700900123"),)),
                              scope=WHOLE_ORGANISATION).customer
    bulk_ingest([record("T-0", ("phone", "+447700900123"))], scope=WHOLE_ORGANISATION)
    bulk_ingest([record("T-1", ("email", "ann@example.com"), ("phone", "+447700900123"))],
                scope=WHOLE_ORGANISATION)
    younger.refresh_from_db()
    assert younger.merged_into_id == older.pk
    assert CustomerMerge.objects.filter(survivor=older, absorbed=younger).exists()
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {older.pk}
    assert CustomerUnit.objects.filter(customer=older, unit=org.store_a).exists()


def test_customers_are_linked_to_the_units_of_their_interactions(org):
    bulk_ingest([record("T-1", ("email", "ann@example.com")),
                 record("T-2", ("email", "ann@example.com"), unit="WEB", channel="web"),
                 record("T-3", ("email", "ann@example.com"))], scope=WHOLE_ORGANISATION,
                batch_size=2)
    ann = CustomerIdentity.objects.get(value="ann@example.com").customer_id
    assert set(CustomerUnit.objects.filter(customer_id=ann).values_list("unit_id", flat=True)
               ) == {org.store_a.pk, org.web.pk}


def test_a_second_run_of_the_same_rows_creates_nothing(org):
    rows = [record(f"T-{i}", ("email", f"c{i % 3}@example.com")) for i in range(10)]
    first = bulk_ingest(rows, scope=WHOLE_ORGANISATION, batch_size=4)
    again = bulk_ingest(rows, scope=WHOLE_ORGANISATION, batch_size=4)
    assert (first.created, first.existing, first.batches) == (10, 0, 3)
    assert (again.created, again.existing) == (0, 10)
    assert Interaction.objects.count() == 10
    assert Customer.objects.count() == 3
    assert CustomerUnit.objects.count() == 3


def test_stored_records_come_back_unchanged_and_their_customer_data_is_not_applied(org):
    bulk_ingest([record("T-1", ("email", "ann@example.com"))], scope=WHOLE_ORGANISATION)
    report = bulk_ingest([record("T-1", ("email", "other@example.com"), name="Other",
                                 kind="refund")], scope=WHOLE_ORGANISATION)
    assert (report.created, report.existing) == (0, 1)
    stored = Interaction.objects.get()
    assert stored.kind == "purchase"
    assert not CustomerIdentity.objects.filter(value="other@example.com").exists()


def test_a_stored_record_among_new_ones_of_a_later_batch_still_comes_back_unchanged(org):
    loader = BulkLoader(scope=WHOLE_ORGANISATION)
    loader.ingest([record("T-1", ("email", "ann@example.com"))])
    outcome = loader.ingest([record("T-2", ("email", "bo@example.com")),
                             record("T-1", ("email", "other@example.com"), name="Other")])
    assert (outcome.created, outcome.existing) == (1, 1)
    assert not CustomerIdentity.objects.filter(value="other@example.com").exists()
    assert Customer.objects.count() == 2
    assert set(Interaction.objects.values_list("external_id", flat=True)) == {"T-1", "T-2"}


def test_a_key_stored_by_another_writer_after_the_look_up_makes_the_batch_run_again(
        org, monkeypatch):
    bulk_ingest([record("T-1")], scope=WHOLE_ORGANISATION)
    loader = BulkLoader(scope=WHOLE_ORGANISATION)
    real = loader._stored_units
    looked_up: list[object] = []

    def missing_at_first(keys):  # type: ignore[no-untyped-def]
        looked_up.append(keys)
        return {} if len(looked_up) == 1 else real(keys)

    monkeypatch.setattr(loader, "_stored_units", missing_at_first)
    outcome = loader.ingest([record("T-1"), record("T-2")])
    assert (outcome.created, outcome.existing) == (1, 1)
    assert len(looked_up) == 2
    assert Interaction.objects.count() == 2


def test_the_same_record_twice_in_one_batch_is_stored_once(org):
    report = bulk_ingest([record("T-1", ("email", "ann@example.com")),
                          record("T-1", ("email", "ann@example.com"))], scope=WHOLE_ORGANISATION)
    assert (report.created, report.existing) == (1, 1)
    assert Interaction.objects.count() == 1


def test_stored_rows_keep_every_field(org):
    bulk_ingest([record("T-1", ("email", "ann@example.com"), touchpoint="checkout",
                        attributes={"items": 2, "tags": ["a", "b"]})], scope=WHOLE_ORGANISATION)
    stored = Interaction.objects.get()
    assert (stored.unit_id, stored.channel, stored.kind, stored.occurred_at, stored.touchpoint,
            stored.value, stored.attributes) == (
        org.store_a.pk, "store", "purchase", AT, "checkout", Decimal("9.99"),
        {"items": 2, "tags": ["a", "b"]})
    assert stored.created_at is not None


def test_a_bad_row_rejects_its_batch_naming_it_while_earlier_batches_stay(org):
    rows = [record("T-1", ("email", "ann@example.com")), record("T-2"),
            record("T-3", ("email", "bo@example.com")), record("T-4", unit="NOWHERE")]
    with pytest.raises(ApplicationError) as caught:
        bulk_ingest(rows, scope=WHOLE_ORGANISATION, batch_size=2)
    assert caught.value.errors[0].loc == ("items", 1, "unit")
    assert "NOWHERE" in caught.value.message
    assert set(Interaction.objects.values_list("external_id", flat=True)) == {"T-1", "T-2"}
    assert not CustomerIdentity.objects.filter(value="bo@example.com").exists()


def test_a_key_scoped_to_one_store_cannot_load_rows_for_another(org, manager_a):
    with pytest.raises(ApplicationError) as caught:
        bulk_ingest([record("T-1", unit="STORE-B")], scope=scope_for_user(manager_a.user))
    assert caught.value.status == 403
    assert Interaction.objects.count() == 0


def test_the_loader_can_skip_bad_rows_and_store_the_rest(org, manager_a):
    bulk_ingest([record("T-9", unit="STORE-B")], scope=WHOLE_ORGANISATION)
    loader = BulkLoader(scope=scope_for_user(manager_a.user))
    outcome = loader.ingest([record("T-1"), record("T-2", unit="STORE-B"),
                             record("T-3", kind="Bad Kind"), record("T-9")], skip_invalid=True)
    assert (outcome.created, outcome.existing) == (1, 0)
    assert [(e.index, e.field) for e in outcome.errors] == [
        (1, "unit"), (2, "kind"), (3, "external_id")]
    assert outcome.errors[0].message == "unit 'STORE-B' is outside your scope"
    assert set(Interaction.objects.values_list("external_id", flat=True)) == {"T-1", "T-9"}


def test_new_interactions_reach_the_ingest_hooks_once_committed(
        org, django_capture_on_commit_callbacks, monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(hooks, "_ingest_hooks", {"tests.bulk": seen.extend})
    with django_capture_on_commit_callbacks(execute=True):
        bulk_ingest([record("T-1"), record("T-2")], scope=WHOLE_ORGANISATION)
        bulk_ingest([record("T-1"), record("T-3")], scope=WHOLE_ORGANISATION)
    assert sorted(seen) == sorted(Interaction.objects.values_list("id", flat=True))
    assert len(seen) == 3


@pytest.mark.postgres
def test_two_loads_of_the_same_new_rows_at_once_store_each_row_and_person_once(
        transactional_db, org):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database: run with PostgreSQL")
    # Rows without a customer meet only at the unique key, which COPY runs into.
    rows = [record(f"T-{i}", *([("email", f"c{i % 7}@example.com")] if i % 3 else []))
            for i in range(300)]
    start = threading.Barrier(2)

    def load(_: int) -> BulkReport:
        try:
            start.wait()
            return bulk_ingest(rows, scope=WHOLE_ORGANISATION, batch_size=20)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(load, range(2)))
    assert Interaction.objects.count() == 300
    assert sum(r.created for r in reports) == 300
    assert sum(r.existing for r in reports) == 300
    assert CustomerIdentity.objects.count() == 7
    assert Customer.objects.filter(merged_into__isnull=True).count() == 7
