"""Responses answered in one go against those answered page by page."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.apps import apps

from opencem.core.errors import ApplicationError
from opencem.core.models import OutboxEvent
from opencem.feedback.models import FeedbackItem, Response
from opencem.feedback.services import (
    RespondentContext,
    ResponseUpdate,
    response_open,
    response_submit,
    response_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def context(admin, org):
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": "Web NPS", "unit": "WEB",
                                                "template": "relational_nps"}).json()
    version = api.post_json(f"/api/v1/surveys/{created['id']}/publish", {}).json()
    assert version["number"] == 1
    survey = created["id"]
    # Feedback sits below surveys, so its tests look the version up by name, not by import.
    version_id = apps.get_model("surveys", "SurveyVersion").objects.get(survey_id=survey).pk
    return RespondentContext(survey_id=survey, version_id=version_id, unit_id=org.web.pk,
                             language="en", source="widget", channel="web",
                             respondent_key="k" * 64)


UPDATE = ResponseUpdate(answers={"nps": 3, "reason": "Slow <b>site</b>"}, nps=3,
                        comments=(("reason", "Slow <b>site</b>"),), complete=True,
                        language="en")


def _stored(response_id):
    row = Response.objects.values("answers", "nps", "completed", "flags", "language",
                                  "source", "channel", "unit_id").get(pk=response_id)
    topics = [e.topic for e in OutboxEvent.objects.order_by("id")
              if e.payload.get("response_id") == response_id]
    comments = list(FeedbackItem.objects.filter(response_id=response_id)
                    .values_list("question_id", "text", "rating", "rating_max"))
    return row, topics, comments


def test_a_response_submitted_in_one_go_is_stored_like_one_opened_then_completed(context):
    stepwise = response_open(context=replace(context, respondent_key="a" * 64))
    response_update(response_id=stepwise, update=UPDATE)
    at_once = response_submit(context=context, update=UPDATE)
    assert at_once.completed_now
    assert _stored(at_once.response_id) == _stored(stepwise)
    row, topics, comments = _stored(at_once.response_id)
    assert row["completed"]
    assert row["flags"] == []
    assert topics == ["response.created", "response.completed", "feedback.created"]
    assert comments == [("reason", "Slow <b>site</b>", 3, 10)]


def test_a_second_answer_of_the_same_respondent_within_a_day_is_flagged(context):
    first = response_submit(context=context, update=UPDATE)
    second = response_submit(context=context, update=UPDATE)
    assert (first.flags, second.flags) == ((), ("repeat",))
    other = response_submit(context=replace(context, respondent_key="x" * 64), update=UPDATE)
    assert other.flags == ()


def test_a_bad_language_is_refused_and_nothing_is_stored(context):
    with pytest.raises(ApplicationError, match="language"):
        response_submit(context=context, update=ResponseUpdate(
            answers={"nps": 3}, nps=3, complete=True, language="english!"))
    assert Response.objects.count() == 0
    assert OutboxEvent.objects.count() == 0
