"""What one widget submission asks of the database: every public submission pays it, so the
statements per table are locked here (the rollups that other apps keep add their own)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opencem.feedback.models import Response
from opencem.surveys.tests.test_public import post_widget, published_survey

pytestmark = pytest.mark.django_db

# A statement's verb and the first table it names: SELECT ... FROM "t", INSERT INTO "t",
# UPDATE "t", DELETE FROM "t".
TABLE = re.compile(r'(?:(SELECT|INSERT|DELETE)\b.*?(?:FROM|INTO)|(UPDATE)) "(\w+)"', re.S)


def _statements(queries: list[dict[str, str]]) -> Counter[str]:
    """``"INSERT feedback_response"``-style keys: the verb and the table it acts on."""
    counted: Counter[str] = Counter()
    for query in queries:
        found = TABLE.match(query["sql"])
        if found:
            counted[f"{found.group(1) or found.group(2)} {found.group(3)}"] += 1
    return counted


def test_a_widget_submission_looks_up_once_and_writes_each_table_once(org):
    survey = published_survey(org, anonymous=True)
    body = {"answers": {"nps": 6, "reason": "Too slow"}, "visitor": "v1"}
    assert post_widget(survey, body).status_code == 201  # caches and connections warm
    with CaptureQueriesContext(connection) as captured:
        assert post_widget(survey, body).status_code == 201
    statements = _statements(captured.captured_queries)
    assert statements["SELECT surveys_surveyversion"] >= 1
    assert statements["SELECT surveys_survey"] == 0  # it comes joined to its live version
    assert statements["SELECT feedback_response"] == 1  # the repeat check
    assert statements["INSERT feedback_response"] == 1
    assert statements["UPDATE feedback_response"] == 0  # stored complete, never revisited
    assert statements["INSERT feedback_feedbackitem"] == 1
    assert statements["INSERT core_outboxevent"] == 1  # three events, one statement
    assert Response.objects.order_by("pk").last().flags == ["repeat"]
