"""A response answered in one go is stored by one statement on PostgreSQL and through the ORM
elsewhere: both store exactly the same rows, and both refuse it when its version is no longer
the one to answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opencem.core.models import OutboxEvent
from opencem.feedback import services
from opencem.feedback.models import FeedbackItem, Response
from opencem.feedback.services import (
    RespondentContext,
    ResponseUpdate,
    VersionChanged,
    response_submit,
)

pytestmark = pytest.mark.django_db

UPDATE = ResponseUpdate(answers={"nps": 3, "reason": "Slow <b>site</b>", "store": "7"}, nps=3,
                        comments=(("reason", "Slow <b>site</b>"),), complete=True,
                        language="en")
STAMPS = ("id", "created_at", "updated_at", "started_at", "submitted_at", "occurred_at")


@pytest.fixture
def context(admin, org) -> RespondentContext:
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": "Web NPS", "unit": "WEB",
                                                "template": "relational_nps"}).json()
    api.post_json(f"/api/v1/surveys/{created['id']}/publish", {})
    # Feedback sits below surveys, so its tests look the version up by name, not by import.
    version_id = apps.get_model("surveys", "SurveyVersion").objects.get(
        survey_id=created["id"]).pk
    return RespondentContext(survey_id=created["id"], version_id=version_id,
                             unit_id=org.web.pk, language="en", source="widget",
                             channel="web", respondent_key="k" * 64)


def _stored(response_id: int) -> dict[str, Any]:
    """Everything a submission wrote, without the ids and times that differ between two."""
    response = Response.objects.values().get(pk=response_id)
    assert response["started_at"] == response["submitted_at"]
    items = list(FeedbackItem.objects.filter(response_id=response_id).order_by("pk").values())
    item_ids = {item["id"]: f"item {n}" for n, item in enumerate(items)}
    events = []
    for event in OutboxEvent.objects.filter(payload__response_id=response_id).order_by("pk"):
        payload = dict(event.payload)
        del payload["response_id"]
        if "feedback_id" in payload:
            payload["feedback_id"] = item_ids[payload["feedback_id"]]
        events.append((event.topic, payload, event.attempts, event.dispatched_at))
    return {
        "response": {k: v for k, v in response.items() if k not in STAMPS},
        "items": [{k: v for k, v in item.items() if k not in (*STAMPS, "response_id")}
                  for item in items],
        "events": events,
    }


def test_one_statement_stores_exactly_what_the_orm_stores(context, monkeypatch):
    with monkeypatch.context() as orm_only:
        orm_only.setattr(services, "supports_one_statement", lambda: False)
        through_orm = response_submit(context=context, update=UPDATE)
    at_once = response_submit(context=context, update=UPDATE)
    assert at_once.flags == ("repeat",)  # the same respondent, twice within a day
    orm_rows, statement_rows = _stored(through_orm.response_id), _stored(at_once.response_id)
    assert statement_rows["response"]["flags"] == ["repeat"]
    statement_rows["response"]["flags"] = []
    assert statement_rows == orm_rows
    assert [topic for topic, *_ in orm_rows["events"]] == [
        "response.created", "response.completed", "feedback.created"]


def test_a_refused_version_check_stores_nothing_and_the_transaction_goes_on(context):
    with pytest.raises(VersionChanged) as refused:
        response_submit(context=context, update=UPDATE,
                        version_check=("SELECT 1 WHERE 1 = 0", []))
    assert refused.value.status == 409
    assert Response.objects.count() == FeedbackItem.objects.count() == 0
    assert OutboxEvent.objects.count() == 0
    # The caller's transaction (this test's) is still usable.
    assert response_submit(context=context, update=UPDATE).response_id


def test_a_passing_version_check_stores_the_version_it_gives(context):
    stored = response_submit(context=context, update=UPDATE,
                             version_check=("SELECT %s", [context.version_id]))
    assert Response.objects.get(pk=stored.response_id).survey_version_id == context.version_id


def test_postgresql_writes_a_submission_in_one_statement(context):
    if connection.vendor != "postgresql":
        pytest.skip("data-modifying WITH clauses are PostgreSQL's")
    with CaptureQueriesContext(connection) as captured:
        response_submit(context=context, update=UPDATE)
    writes = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    assert len(writes) == 1
    for table in ("feedback_response", "feedback_feedbackitem", "core_outboxevent",
                  "metrics_pendingrollup"):
        assert f'INSERT INTO "{table}"' in writes[0]


def test_the_repeat_check_finds_a_respondent_by_key_even_when_statistics_are_stale(
        context, monkeypatch):
    """A new survey's statistics say it has no responses: a plan through the survey's own
    indexes would then read every response it got since, on every submission."""
    if connection.vendor != "postgresql":
        pytest.skip("the plans of PostgreSQL")
    import psycopg  # noqa: PLC0415 (PostgreSQL only)

    template = Response.objects.get(pk=response_submit(context=context, update=UPDATE)
                                    .response_id)

    def answered(survey_id: int, count: int) -> None:
        Response.objects.bulk_create([
            Response(survey_id=survey_id, survey_version_id=template.survey_version_id,
                     unit_id=template.unit_id, answers={}, completed=True,
                     started_at=template.started_at, submitted_at=template.submitted_at,
                     source="widget", respondent_key=f"{survey_id}-{n:060d}")
            for n in range(count)])

    older = Response.objects.values_list("survey_id", flat=True).get(pk=_other_survey(context))
    answered(older, 5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_response")  # while the new survey has one response
    answered(context.survey_id, 3000)

    def plan_of_the_check() -> str:
        captured: list[tuple[str, Any]] = []

        def keep(execute, sql, params, many, ctx):
            captured.append((sql, params))
            return execute(sql, params, many, ctx)

        with connection.execute_wrapper(keep):
            response_submit(context=context, update=UPDATE)
        sql, params = next((s, p) for s, p in captured if "respondent_key" in s.split(
            "INSERT")[0])
        # The one statement comes with PostgreSQL's own placeholders, the ORM's with %s.
        cursor = (psycopg.RawCursor(connection.connection) if "$1" in sql
                  else connection.cursor())
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall()).split("CTE response")[0]

    for plan in (plan_of_the_check(), _through_orm(monkeypatch, plan_of_the_check)):
        assert "response_by_respondent_key" in plan
        assert "response_by_survey" not in plan
        assert "Seq Scan" not in plan


def _other_survey(context: RespondentContext) -> int:
    """A response to another survey (copied from one of the context's, then re-pointed)."""
    survey = apps.get_model("surveys", "Survey")
    first = survey.objects.get(pk=context.survey_id)
    first.pk = None
    first.slug = f"{first.slug}-older"
    first.save()
    stored = response_submit(context=context, update=UPDATE).response_id
    Response.objects.filter(pk=stored).update(survey_id=first.pk)
    return stored


def _through_orm(monkeypatch, run):
    with monkeypatch.context() as orm_only:
        orm_only.setattr(services, "supports_one_statement", lambda: False)
        return run()
