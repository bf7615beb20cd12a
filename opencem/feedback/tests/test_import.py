"""``opencem import feedback``: reviews, posts, complaints and transcripts from other systems."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from itertools import count

import pytest
from django.core.management import CommandError, call_command

from opencem.core.importing import ImportOptions, checkpoint_path, run_import
from opencem.core.models import OutboxEvent
from opencem.core.tests.import_files import error_rows, write_csv, write_jsonl
from opencem.customers.models import Customer, CustomerIdentity
from opencem.feedback import importing
from opencem.feedback.models import FeedbackItem

pytestmark = pytest.mark.django_db

HEADER = ["source", "external_id", "kind", "occurred_at", "unit", "touchpoint", "rating",
          "title", "text", "email", "name", "attr.platform"]
_ids = count(1)


def review(external_id: str, *, unit: str = "STORE-A", email: str = "ann@example.com",
           rating: str = "2", occurred_at: str = "2025-11-03T18:20:00Z", kind: str = "review",
           text: str = "Long queue at the tills.") -> list[str]:
    return ["reviews", external_id, kind, occurred_at, unit, "checkout", rating, "Slow",
            text, email, "Ann", "maps"]


def body(**overrides: object) -> dict[str, object]:
    """A valid feedback item as ``POST /api/v1/feedback`` takes it."""
    item: dict[str, object] = {
        "kind": "complaint", "text": "The parcel arrived broken.", "source": "zendesk",
        "external_id": f"Z-{next(_ids)}", "occurred_at": "2025-10-01T09:30:00+02:00",
        "unit": "STORE-A", "customer": {"email": "bo@example.com"}}
    item.update(overrides)
    return item


def command(*args: str) -> str:
    out = StringIO()
    call_command("import_data", "feedback", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_a_csv_file_of_reviews_is_stored_with_customers_ratings_and_original_times(
        org, tmp_path):
    path = write_csv(tmp_path / "reviews.csv", HEADER, [
        review("R-1"), review("R-2", email="ANN@example.com ", rating="5"),
        review("R-3", email="cy@example.com", unit="STORE-B")])
    printed = command(str(path))
    assert "created:         3" in printed
    first = FeedbackItem.objects.get(external_id="R-1")
    assert (first.kind, first.text, first.title, first.rating, first.rating_max) == (
        "review", "Long queue at the tills.", "Slow", 2, 5)
    assert (first.unit_id, first.touchpoint, first.attributes) == (org.store_a.pk, "checkout",
                                                                   {"platform": "maps"})
    assert first.occurred_at == datetime(2025, 11, 3, 18, 20, tzinfo=UTC)
    ann = CustomerIdentity.objects.get(value="ann@example.com").customer
    assert ann.name == "Ann"
    assert set(FeedbackItem.objects.filter(customer=ann).values_list("external_id", flat=True)) \
        == {"R-1", "R-2"}
    assert Customer.objects.count() == 2
    assert OutboxEvent.objects.filter(topic="feedback.created").count() == 3
    assert not checkpoint_path(path).exists()


def test_a_jsonl_file_takes_api_bodies_with_nested_or_flat_identities(org, tmp_path):
    path = write_jsonl(tmp_path / "complaints.jsonl", [
        body(external_id="Z-1", customer={"email": "bo@example.com", "name": "Bo"}),
        {**body(external_id="Z-2", customer=None), "phone": "07700 900123",
         "email": "bo@example.com", "attr.ticket_group": "returns", "kind": "email"},
    ])
    command(str(path))
    bo = CustomerIdentity.objects.get(value="bo@example.com").customer
    second = FeedbackItem.objects.get(external_id="Z-2")
    assert (second.kind, second.customer_id, second.attributes) == (
        "email", bo.pk, {"ticket_group": "returns"})
    assert set(bo.identities.values_list("kind", "value")) == {
        ("email", "bo@example.com"), ("phone", "+447700900123")}
    assert second.occurred_at == datetime(2025, 10, 1, 7, 30, tzinfo=UTC)


def test_columns_of_another_name_are_read_through_a_mapping(org, tmp_path):
    path = write_csv(tmp_path / "export.csv",
                     ["Review ID", "Type", "Stars", "Comment", "Posted", "Store",
                      "Reviewer e-mail"],
                     [["g-77", "review", "4", "Friendly staff", "2025-09-09 12:00", "STORE-B",
                       "dee@example.com"]])
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"external_id": "Review ID", "rating": "Stars",
                                   "text": "Comment", "occurred_at": "Posted", "kind": "Type"}))
    command(str(path), "--mapping", str(mapping), "--map", "unit=Store",
            "--map", "email=Reviewer e-mail", "--source", "google",
            "--timezone", "Europe/London")
    stored = FeedbackItem.objects.get()
    assert (stored.source, stored.external_id, stored.kind, stored.rating, stored.text,
            stored.unit_id) == ("google", "g-77", "review", 4, "Friendly staff", org.store_b.pk)
    assert stored.occurred_at == datetime(2025, 9, 9, 11, 0, tzinfo=UTC)  # read in BST
    assert stored.customer == CustomerIdentity.objects.get(value="dee@example.com").customer


def test_a_kind_of_feedback_cannot_be_mapped_to_a_field_it_does_not_have(org, tmp_path):
    path = write_csv(tmp_path / "in.csv", HEADER, [review("R-1")])
    with pytest.raises(CommandError, match="cannot map to 'value'"):
        command(str(path), "--map", "value=rating")


def test_bad_rows_are_reported_by_line_field_and_message_while_good_rows_are_stored(
        org, tmp_path):
    path = write_csv(tmp_path / "reviews.csv", HEADER, [
        review("R-1"),
        review("R-2", rating="7"),
        review("R-3", kind="tweet"),
        review("", text="No id"),
        review("R-5", unit="NOWHERE"),
        review("R-6", rating="four"),
        review("R-7", occurred_at="2025-11-03T18:20:00"),
        review("R-8", email="not-an-email"),
        review("R-9"),
    ])
    summary = run_import(ImportOptions(kind="feedback", path=path, progress=False,
                                       batch_size=4))
    assert (summary.read, summary.created, summary.rejected) == (9, 2, 7)
    assert set(FeedbackItem.objects.values_list("external_id", flat=True)) == {"R-1", "R-9"}
    assert error_rows(path) == [
        ["3", "rating", "must be between 0 and 5"],
        ["4", "kind", "must be one of review, social, complaint, email, chat, call, "
                      "web_comment, other"],
        ["5", "external_id", importing.EXTERNAL_ID_NEEDED],
        ["6", "unit", "no unit has the code 'NOWHERE'"],
        ["7", "rating", "Input should be a valid integer"],
        ["8", "occurred_at", "must include a time zone (e.g. 'Z' or '+01:00')"],
        ["9", "customer.identities.0.email", "'not-an-email' is not an email address"],
    ]


@pytest.mark.parametrize("override", [
    {"kind": "survey"},
    {"text": "   "},
    {"rating": 6},
    {"rating": 4.5},
    {"rating": "4"},
    {"rating_max": 0},
    {"occurred_at": "2025-02-30T10:00:00Z"},
    {"occurred_at": "2999-01-01T00:00:00Z"},
    {"channel": "pigeon"},
    {"language": "english"},
    {"touchpoint": "Check Out"},
    {"source": "has space"},
    {"attributes": ["not", "an", "object"]},
    {"text": "a\u0000b"},
    {"surprise": True},
    {"customer": {"name": "No identity"}},
    {"unit": "NOWHERE"},
    {"unit": "STORE-B"},
])
def test_a_row_the_api_rejects_is_rejected_with_the_same_field_and_message(
        org, manager_a, tmp_path, override):
    item = body(**override)
    response = manager_a.api().post_json("/api/v1/feedback", item)
    assert response.status_code in (403, 422), response.content
    expected = {(e["field"], e["message"]) for e in response.json()["error"]["errors"]}
    path = write_jsonl(tmp_path / "in.jsonl", [item])
    summary = run_import(ImportOptions(kind="feedback", path=path, progress=False,
                                       username="manager_a"))
    assert summary.rejected == 1
    assert {(field, message) for _, field, message in error_rows(path)} == expected
    assert FeedbackItem.objects.count() == 0


def test_running_the_same_file_again_stores_nothing_new(org, tmp_path):
    path = write_csv(tmp_path / "reviews.csv", HEADER,
                     [review(f"R-{i}", email=f"c{i % 2}@example.com") for i in range(5)])
    command(str(path), "--batch-size", "2")
    printed = command(str(path), "--batch-size", "2")
    assert "created:         0" in printed
    assert "already present: 5" in printed
    assert (FeedbackItem.objects.count(), Customer.objects.count()) == (5, 2)


def test_an_interrupted_import_resumes_after_the_last_committed_batch(org, tmp_path,
                                                                      monkeypatch):
    path = write_csv(tmp_path / "reviews.csv", HEADER,
                     [review(f"R-{i}") for i in range(5)] + [review("R-5", rating="9")])
    real = importing.feedback_ingest
    calls = {"n": 0}

    def crash_on_third_batch(**kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(**kwargs)

    monkeypatch.setattr(importing, "feedback_ingest", crash_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        command(str(path), "--batch-size", "2")
    assert FeedbackItem.objects.count() == 4
    assert json.loads(checkpoint_path(path).read_text())["rows_done"] == 4
    monkeypatch.setattr(importing, "feedback_ingest", real)
    printed = command(str(path), "--batch-size", "2", "--resume")
    assert "resumed after 4 rows" in printed
    assert "created:         1" in printed
    assert FeedbackItem.objects.count() == 5
    assert [line for line, _, _ in error_rows(path)] == ["7"]
    assert not checkpoint_path(path).exists()


def test_a_store_managers_import_rejects_rows_for_another_store(org, manager_a, tmp_path):
    path = write_csv(tmp_path / "reviews.csv", HEADER,
                     [review("R-1"), review("R-2", unit="STORE-B"), review("R-3")])
    printed = command(str(path), "--user", "manager_a")
    assert "rejected:        1" in printed
    assert error_rows(path) == [["3", "unit", "unit 'STORE-B' is outside your scope"]]
    assert set(FeedbackItem.objects.values_list("unit__code", flat=True)) == {"STORE-A"}


def test_a_user_without_a_writing_role_cannot_import(org, viewer, tmp_path):
    path = write_csv(tmp_path / "reviews.csv", HEADER, [review("R-1")])
    with pytest.raises(CommandError, match="viewer has no role that may write"):
        command(str(path), "--user", "viewer")


def test_reading_in_a_separate_process_stores_and_reports_the_same(org, tmp_path):
    path = write_csv(tmp_path / "reviews.csv", HEADER,
                     [review("R-1"), review("R-2", rating="7"), review("R-3")])
    summary = run_import(ImportOptions(kind="feedback", path=path, progress=False,
                                       parallel=True, batch_size=2))
    assert (summary.read, summary.created, summary.rejected) == (3, 2, 1)
    assert error_rows(path) == [["3", "rating", "must be between 0 and 5"]]
