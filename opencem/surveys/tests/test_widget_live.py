"""The widget answers a survey as its process remembers it, and never lets that memory store a
response against a version that is no longer live: publishing, closing the link and archiving
take effect at the very next submission.

Like a web request, these run outside any transaction (``transaction=True``): that is where a
process remembers what it has looked up.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opencem.conftest import Org
from opencem.feedback.models import Response
from opencem.surveys.distribution import SYSTEM_SCOPE
from opencem.surveys.models import Survey
from opencem.surveys.selectors import open_version
from opencem.surveys.services import survey_publish, survey_save_draft, survey_update
from opencem.surveys.tests.test_public import definition, post_widget, published_survey

pytestmark = pytest.mark.django_db(transaction=True)


def _remembered(org: Org) -> Survey:
    """A survey open to anyone that the widget has answered once, so the process remembers
    it."""
    survey = published_survey(org, anonymous=True)
    assert post_widget(survey, {"answers": {"nps": 9}, "visitor": "first"}).status_code == 201
    return survey


def _rollups_match_the_responses() -> None:
    # Surveys sit below metrics, so the check goes through the command, not an import.
    call_command("rollups", "verify", stdout=io.StringIO())


def _publish(survey: Survey, data: dict[str, Any]) -> int:
    survey_save_draft(survey=survey, definition=data, scope=SYSTEM_SCOPE)
    return int(survey_publish(survey=survey, scope=SYSTEM_SCOPE, actor=None).pk)


def test_a_remembered_survey_is_looked_up_once(org):
    survey = published_survey(org, name="Looked up once", anonymous=True)
    assert open_version(survey.slug) is not None
    with CaptureQueriesContext(connection) as captured:
        again = open_version(survey.slug)
    assert again is not None
    assert captured.captured_queries == []


def test_what_is_read_inside_a_transaction_is_not_remembered(org):
    # A row read inside a transaction may vanish with its rollback and its id be given to
    # another, so nothing read there is kept.
    survey = published_survey(org, name="Read in a transaction", anonymous=True)
    with transaction.atomic():
        assert open_version(survey.slug) is not None
    with CaptureQueriesContext(connection) as captured:
        assert open_version(survey.slug) is not None
    assert len(captured.captured_queries) == 2  # the survey, and its definition


def test_a_version_published_since_takes_the_next_answer_and_checks_it(org):
    survey = _remembered(org)
    stricter = definition()
    stricter["questions"][1] = {**stricter["questions"][1], "max_length": 10}
    version_id = _publish(survey, stricter)

    refused = post_widget(survey, {"answers": {"nps": 5, "reason": "x" * 50}})
    assert refused.status_code == 422  # fine for the remembered version, not the live one
    assert [".".join(map(str, e["loc"])) for e in refused.json()["error"]["errors"]] \
        == ["answers.reason"]
    assert Response.objects.count() == 1

    assert post_widget(survey, {"answers": {"nps": 5, "reason": "Slow"}}).status_code == 201
    assert Response.objects.order_by("pk").last().survey_version_id == version_id
    _rollups_match_the_responses()


def test_closing_the_link_refuses_the_next_answer_and_stores_nothing(org):
    survey = _remembered(org)
    survey_update(survey=survey, scope=SYSTEM_SCOPE, anonymous_link=False)
    assert post_widget(survey, {"answers": {"nps": 3}}).status_code == 404
    assert post_widget(survey, {"answers": {"nps": 3}, "website": "spam"}).status_code == 404
    assert post_widget(survey, {"answers": {"nps": 30}}).status_code == 404
    assert Response.objects.count() == 1
    survey_update(survey=survey, scope=SYSTEM_SCOPE, anonymous_link=True)
    assert post_widget(survey, {"answers": {"nps": 3}}).status_code == 201
    assert Response.objects.count() == 2


def test_an_archived_survey_refuses_the_next_answer(org):
    survey = _remembered(org)
    Survey.objects.filter(pk=survey.pk).update(archived_at=timezone.now())
    assert post_widget(survey, {"answers": {"nps": 3}}).status_code == 404
    assert Response.objects.count() == 1
    _rollups_match_the_responses()
