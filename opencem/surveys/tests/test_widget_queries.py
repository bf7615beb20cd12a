"""What one widget submission asks of the database: every public submission pays it, so the
statements are locked here.

The widget runs outside any transaction, as a web request does, so these tests do too
(``transaction=True``): that is where the process remembers a survey it has looked up.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opencem.core.models import OutboxEvent
from opencem.feedback.models import FeedbackItem, Response
from opencem.surveys.tests.test_public import post_widget, published_survey

pytestmark = pytest.mark.django_db(transaction=True)

# A statement's verb and the first table it names: SELECT ... FROM "t", INSERT INTO "t",
# UPDATE "t", DELETE FROM "t".
TABLE = re.compile(r'(?:(SELECT|INSERT|DELETE)\b.*?(?:FROM|INTO)|(UPDATE)) "(\w+)"', re.S)
WRITTEN = ("feedback_response", "feedback_feedbackitem", "core_outboxevent")
# Through the ORM a submission adds to the rollups in its transaction; in one statement it
# leaves its counts pending for the relay instead.
ROLLUPS = ("metrics_dailyrollup", "metrics_monthlyrollup", "metrics_dailyunitrollup",
           "metrics_monthlyunitrollup")


def _statements(queries: list[dict[str, str]]) -> Counter[str]:
    """``"INSERT feedback_response"``-style keys: the verb and the table it acts on."""
    counted: Counter[str] = Counter()
    for query in queries:
        found = TABLE.match(query["sql"])
        if found:
            counted[f"{found.group(1) or found.group(2)} {found.group(3)}"] += 1
    return counted


@pytest.fixture(autouse=True)
def _relay_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    # The outbox relay runs once the submission has committed (in-process here, where Celery
    # is eager); these tests count the submission's own statements.
    monkeypatch.setattr("opencem.core.relay._send_wake", lambda: None)


def _second_submission(org: object) -> list[dict[str, str]]:
    """The statements of a visitor's second answer (the first warms the process's memory)."""
    survey = published_survey(org, anonymous=True)  # type: ignore[arg-type]
    body = {"answers": {"nps": 6, "reason": "Too slow"}, "visitor": "v1"}
    assert post_widget(survey, body).status_code == 201
    with CaptureQueriesContext(connection) as captured:
        assert post_widget(survey, body).status_code == 201
    assert Response.objects.order_by("pk").last().flags == ["repeat"]
    return captured.captured_queries


@pytest.mark.postgres
def test_on_postgresql_a_submission_is_one_statement_that_writes_every_table(org):
    if connection.vendor != "postgresql":
        pytest.skip("data-modifying WITH clauses are PostgreSQL's")
    queries = _second_submission(org)
    assert len(queries) == 1  # no look-up, no BEGIN and COMMIT: one statement is atomic
    sql = queries[0]["sql"]
    for table in (*WRITTEN, "metrics_pendingrollup"):
        assert f'INSERT INTO "{table}"' in sql
    assert Response.objects.count() == 2
    assert FeedbackItem.objects.count() == 2
    assert OutboxEvent.objects.count() == 6
    # No rollup row that every submission shares: the counts wait for the relay. Surveys
    # sit below metrics, so the models are looked up by name, not by import.
    for table in ROLLUPS:
        assert f'INSERT INTO "{table}"' not in sql
    assert apps.get_model("metrics", "PendingRollup").objects.count() == 2
    assert not apps.get_model("metrics", "DailyRollup").objects.exists()


def test_elsewhere_a_submission_checks_the_survey_once_and_writes_each_table_once(org):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL writes it all in one statement (the test above)")
    statements = _statements(_second_submission(org))
    assert statements["SELECT surveys_survey"] == 1  # is the remembered version still live?
    assert statements["SELECT surveys_surveyversion"] == 0  # its questions are remembered
    assert statements["SELECT feedback_response"] == 1  # the repeat check
    assert statements["UPDATE feedback_response"] == 0  # stored complete, never revisited
    assert statements["INSERT core_outboxevent"] == 1  # three events, one statement
    for table in (*WRITTEN, *ROLLUPS):
        assert statements[f"INSERT {table}"] == 1
