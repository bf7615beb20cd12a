"""``opencem import responses``: answers collected elsewhere, recorded against a version here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from opencem.core.importing import ImportOptions, checkpoint_path, run_import
from opencem.core.models import OutboxEvent
from opencem.core.tests.import_files import error_rows, write_csv, write_jsonl
from opencem.customers.models import Customer, CustomerIdentity
from opencem.feedback.models import FeedbackItem, Response
from opencem.surveys import importing
from opencem.surveys.templates_library import TEMPLATES

pytestmark = pytest.mark.django_db

HEADER = ["external_id", "submitted_at", "unit", "email", "name", "question:nps",
          "question:reason", "question:improve", "question:contact_ok", "question:store"]


def make_survey(admin, *, name: str = "Relationship NPS", unit: str = "ACME") -> dict:
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": name, "unit": unit,
                                                "template": "relational_nps"}).json()
    api.post_json(f"/api/v1/surveys/{created['id']}/publish", {})
    return created


@pytest.fixture
def survey(admin):
    return make_survey(admin)


def answered(external_id: str, *, nps: str = "4", improve: str = "Prices;delivery",
             unit: str = "STORE-A", email: str = "ann@example.com",
             submitted_at: str = "2024-05-02T08:15:00Z", reason: str = "Too dear") -> list[str]:
    return [external_id, submitted_at, unit, email, "Ann", nps, reason, improve, "yes",
            "Leeds"]


def command(*args: str) -> str:
    out = StringIO()
    call_command("import_data", "responses", *args, "--no-progress", stdout=out)
    return out.getvalue()


def run(path, survey, **options):  # type: ignore[no-untyped-def]
    return run_import(ImportOptions(kind="responses", path=path, progress=False,
                                    params={"survey": str(survey["id"])}, **options))


def test_a_csv_export_is_recorded_with_its_original_times_customers_and_comments(
        org, survey, tmp_path):
    path = write_csv(tmp_path / "history.csv", HEADER, [
        answered("old-1"),
        answered("old-2", nps="10", improve="", reason="", email="bo@example.com",
                 unit="STORE-B", submitted_at="2024-06-30T23:59:00+02:00"),
    ])
    printed = command(str(path), "--survey", survey["slug"], "--source", "oldplatform")
    assert "created:         2" in printed
    first = Response.objects.get(external_id="old-1")
    assert (first.survey_id, first.survey_version.number, first.source) == (
        survey["id"], 1, "oldplatform")
    assert first.answers == {"nps": 4, "reason": "Too dear", "improve": ["price", "delivery"],
                             "contact_ok": True, "store": "Leeds"}
    assert (first.nps, first.completed, first.unit_id) == (4, True, org.store_a.pk)
    assert first.submitted_at == first.started_at == datetime(2024, 5, 2, 8, 15, tzinfo=UTC)
    assert first.customer == CustomerIdentity.objects.get(value="ann@example.com").customer
    assert first.customer.name == "Ann"
    second = Response.objects.get(external_id="old-2")
    assert second.submitted_at == datetime(2024, 6, 30, 21, 59, tzinfo=UTC)
    assert (second.nps, second.unit_id) == (10, org.store_b.pk)
    comment = FeedbackItem.objects.get()
    assert (comment.response_id, comment.text, comment.occurred_at) == (
        first.pk, "Too dear", first.submitted_at)
    assert OutboxEvent.objects.filter(topic="response.completed").count() == 2


def test_a_jsonl_file_takes_answers_as_the_api_does(org, survey, tmp_path):
    path = write_jsonl(tmp_path / "history.jsonl", [
        {"external_id": "j-1", "submitted_at": "2025-01-10T10:00:00Z",
         "started_at": "2025-01-10T09:58:30Z", "answers": {"nps": 9, "reason": "Quick"},
         "customer": {"crm_id": "c-42", "name": "Cy"}, "channel": "web", "language": "de"},
        {"external_id": "j-2", "submitted_at": "2025-01-11T10:00:00Z", "question:nps": 6,
         "question:improve": [{"other": "Parking"}], "crm_id": "C-42", "unit": "WEB"},
        {"external_id": "j-3", "complete": False, "started_at": "2025-01-12T10:00:00Z",
         "answers": {"nps": 3}},
    ])
    command(str(path), "--survey", str(survey["id"]))
    first, second, third = Response.objects.order_by("external_id")
    assert (first.started_at, first.channel, first.language, first.source) == (
        datetime(2025, 1, 10, 9, 58, 30, tzinfo=UTC), "web", "de", "import")
    assert second.answers == {"nps": 6, "improve": [{"other": "Parking"}]}
    assert first.customer_id == second.customer_id
    assert Customer.objects.get().name == "Cy"
    assert (second.unit_id, first.unit_id) == (org.web.pk, org.company.pk)  # the survey's unit
    assert (third.completed, third.submitted_at) == (False, None)


def test_columns_of_another_platform_are_mapped_to_questions_of_the_chosen_version(
        org, admin, survey, tmp_path):
    definition = json.loads(json.dumps(TEMPLATES["relational_nps"]))
    definition["questions"].insert(1, {"id": "visit_again", "type": "consent",
                                       "text": {"en": "Will you come again?"}})
    api = admin.api()
    api.put(f"/api/v1/surveys/{survey['id']}/draft", {"definition": definition},
            content_type="application/json")
    api.post_json(f"/api/v1/surveys/{survey['id']}/publish", {})
    path = write_csv(tmp_path / "export.csv",
                     ["Response ID", "Recorded Date", "Q1 - Likelihood", "Q2 - Why", "Store",
                      "Mail", "Q3"],
                     [["R_1", "2023-12-01 09:00:00", "8", "OK", "STORE-A", "ann@example.com",
                       "no"]])
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"external_id": "Response ID", "submitted_at": "Recorded Date",
                                   "question:nps": "Q1 - Likelihood"}))
    options = ["--survey", survey["slug"], "--mapping", str(mapping), "--map", "unit=Store",
               "--map", "email=Mail", "--map", "question:reason=Q2 - Why", "--timezone",
               "Europe/Berlin"]
    with pytest.raises(CommandError, match="version 1 of survey 'relationship-nps' has no "
                                           "question 'visit_again'"):
        command(str(path), *options, "--version", "1", "--map", "question:visit_again=Q3")
    command(str(path), *options, "--version", "1")
    stored = Response.objects.get()
    assert (stored.survey_version.number, stored.answers) == (1, {"nps": 8, "reason": "OK"})
    assert stored.submitted_at == datetime(2023, 12, 1, 8, 0, tzinfo=UTC)
    Response.objects.all().delete()
    FeedbackItem.objects.all().delete()
    command(str(path), *options, "--map", "question:visit_again=Q3")  # the live version, 2
    latest = Response.objects.get()
    assert (latest.survey_version.number, latest.answers["visit_again"]) == (2, False)


def test_bad_rows_are_reported_with_the_question_and_reason_while_good_rows_are_stored(
        org, survey, tmp_path):
    path = write_csv(tmp_path / "history.csv", HEADER, [
        answered("r-1"),
        answered("r-2", nps="11", improve=""),
        answered("r-3", nps="ten", improve=""),
        answered("r-4", improve="Prices;Parking"),
        answered("r-5", nps="9"),
        answered("r-6", nps="", improve=""),
        answered("r-7", submitted_at=""),
        answered("", reason="no id"),
        answered("r-9", unit="NOWHERE"),
        answered("r-10", improve="", reason=""),
    ])
    summary = run(path, survey, batch_size=4)
    assert (summary.read, summary.created, summary.rejected) == (10, 2, 8)
    assert set(Response.objects.values_list("external_id", flat=True)) == {"r-1", "r-10"}
    assert error_rows(path) == [
        ["3", "answers.nps", "must be between 0 and 10"],
        ["4", "answers.nps", "must be a whole number (not text, a decimal or true/false)"],
        ["5", "answers.improve", "holds 'Parking', which is not one of delivery, price, range, "
                                 "staff, website"],
        ["6", "answers.improve", "is not shown for these answers, so it cannot be answered"],
        ["7", "answers.nps", "is required"],
        ["8", "submitted_at", "is required for an import of a completed response"],
        ["9", "external_id", importing.EXTERNAL_ID_NEEDED],
        ["10", "unit", "no unit has the code 'NOWHERE'"],
    ]


@pytest.mark.parametrize("override", [
    {"answers": {"nps": 11}},
    {"answers": {"nps": "10"}},
    {"answers": {"nps": True}},
    {"answers": {"nps": 10.5}},
    {"answers": {"reason": "no score"}},
    {"answers": {"nps": 9, "shoe": "42"}},
    {"answers": {"nps": 4, "improve": ["price", "price"]}},
    {"answers": {"nps": 9, "reason": "a\u0000b"}},
    {"answers": "nine"},
    {"submitted_at": "2999-01-01T00:00:00Z"},
    {"started_at": "2025-01-02T00:00:00Z"},
    {"channel": "pigeon"},
    {"customer": {"email": "not-an-email"}},
    {"unit": "NOWHERE"},
    {"unit": "STORE-B"},
    {"surprise": True},
])
def test_a_row_the_api_rejects_is_rejected_with_the_same_field_and_message(
        org, admin, manager_a, tmp_path, override):
    survey = make_survey(admin, name="Store A NPS", unit="STORE-A")
    item = {"external_id": "x-1", "submitted_at": "2025-01-01T12:00:00Z", "answers": {"nps": 9},
            "customer": {"email": "ann@example.com"}, **override}
    response = manager_a.api().post_json("/api/v1/responses", {**item, "survey": survey["id"]})
    assert response.status_code in (403, 422), response.content
    expected = {(e["field"], e["message"]) for e in response.json()["error"]["errors"]}
    path = write_jsonl(tmp_path / "in.jsonl", [item])
    summary = run(path, survey, username="manager_a")
    assert summary.rejected == 1
    assert {(field, message) for _, field, message in error_rows(path)} == expected
    assert Response.objects.count() == 0


def test_running_the_same_file_again_stores_nothing_new(org, survey, tmp_path):
    path = write_csv(tmp_path / "history.csv", HEADER,
                     [answered(f"r-{i}", email=f"c{i % 2}@example.com") for i in range(5)])
    command(str(path), "--survey", survey["slug"], "--batch-size", "2")
    printed = command(str(path), "--survey", survey["slug"], "--batch-size", "2")
    assert "created:         0" in printed
    assert "already present: 5" in printed
    assert (Response.objects.count(), FeedbackItem.objects.count(), Customer.objects.count()) \
        == (5, 5, 2)


def test_an_interrupted_import_resumes_after_the_last_committed_batch(org, survey, tmp_path,
                                                                      monkeypatch):
    path = write_csv(tmp_path / "history.csv", HEADER,
                     [answered(f"r-{i}") for i in range(5)]
                     + [answered("r-5", nps="12", improve="")])
    real = importing.responses_record
    calls = {"n": 0}

    def crash_on_third_batch(**kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(**kwargs)

    monkeypatch.setattr(importing, "responses_record", crash_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        command(str(path), "--survey", survey["slug"], "--batch-size", "2")
    assert Response.objects.count() == 4
    assert json.loads(checkpoint_path(path).read_text())["rows_done"] == 4
    monkeypatch.setattr(importing, "responses_record", real)
    with pytest.raises(CommandError, match="other options"):
        command(str(path), "--survey", survey["slug"], "--version", "1", "--resume")
    printed = command(str(path), "--survey", survey["slug"], "--batch-size", "2", "--resume")
    assert "resumed after 4 rows" in printed
    assert "created:         1" in printed
    assert Response.objects.count() == 5
    assert error_rows(path) == [["7", "answers.nps", "must be between 0 and 10"]]
    assert not checkpoint_path(path).exists()


def test_a_store_managers_import_rejects_rows_for_another_store(org, admin, manager_a,
                                                                 tmp_path):
    own = make_survey(admin, name="Store A NPS", unit="STORE-A")
    path = write_csv(tmp_path / "history.csv", HEADER,
                     [answered("r-1"), answered("r-2", unit="STORE-B")])
    printed = command(str(path), "--survey", own["slug"], "--user", "manager_a")
    assert "rejected:        1" in printed
    assert error_rows(path) == [["3", "unit", "unit 'STORE-B' is outside your scope"]]
    assert list(Response.objects.values_list("external_id", flat=True)) == ["r-1"]


def test_a_survey_outside_the_users_scope_cannot_be_imported_into(org, survey, manager_a,
                                                                   tmp_path):
    path = write_csv(tmp_path / "history.csv", HEADER, [answered("r-1")])
    with pytest.raises(CommandError, match="manager_a has no survey with that id or slug"):
        command(str(path), "--survey", survey["slug"], "--user", "manager_a")
    assert Response.objects.count() == 0


@pytest.mark.parametrize(("options", "message"), [
    ([], "needs --survey"),
    (["--survey", "no-such-survey"], "has no survey with that id or slug"),
    (["--survey", "relationship-nps", "--version", "2"], "has no published version 2"),
    (["--survey", "relationship-nps", "--version", "latest"], "write the version's number"),
    (["--survey", "relationship-nps", "--map", "question:shoe=name"], "has no question 'shoe'"),
])
def test_a_run_that_cannot_work_stops_before_any_row(org, survey, tmp_path, options, message):
    path = write_csv(tmp_path / "history.csv", HEADER, [answered("r-1")])
    with pytest.raises(CommandError, match=message):
        command(str(path), *options)
    assert Response.objects.count() == 0


def test_a_column_naming_an_unknown_question_stops_the_import(org, survey, tmp_path):
    path = write_csv(tmp_path / "history.csv", [*HEADER, "question:shoe"],
                     [[*answered("r-1"), "42"]])
    with pytest.raises(CommandError, match="has no question 'shoe'"):
        command(str(path), "--survey", survey["slug"])


def test_the_survey_option_belongs_to_responses_only(org, survey, tmp_path):
    path = write_csv(tmp_path / "people.csv", ["email"], [["ann@example.com"]])
    with pytest.raises(CommandError, match="--survey does not apply to an import of customers"):
        call_command("import_data", "customers", str(path), "--survey", survey["slug"],
                     "--no-progress")


def test_reading_in_a_separate_process_stores_and_reports_the_same(org, survey, tmp_path):
    path = write_csv(tmp_path / "history.csv", HEADER,
                     [answered("r-1"), answered("r-2", nps="11", improve=""),
                      answered("r-3")])
    summary = run(path, survey, parallel=True, batch_size=2)
    assert (summary.read, summary.created, summary.rejected) == (3, 2, 1)
    assert error_rows(path) == [["3", "answers.nps", "must be between 0 and 10"]]
