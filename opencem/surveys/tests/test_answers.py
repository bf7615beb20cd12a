from __future__ import annotations

import pytest

from opencem.core.errors import ApplicationError
from opencem.surveys.answers import metric_values, validate_answers
from opencem.surveys.templates_library import template_definition

NPS_SURVEY = template_definition("relational_nps")
CES_SURVEY = template_definition("support_ces")


def _fields(exc: ApplicationError) -> dict[str, str]:
    return {e.as_dict()["field"]: e.message for e in exc.errors}


def test_a_complete_valid_response_is_cleaned_and_kept():
    answers = validate_answers(NPS_SURVEY, {
        "nps": 6, "reason": "  Queue too long  ", "improve": ["staff", {"other": "parking"}],
        "store": "STORE-001"}, complete=True)
    assert answers == {"nps": 6, "reason": "Queue too long",
                       "improve": ["staff", {"other": "parking"}], "store": "STORE-001"}
    assert metric_values(NPS_SURVEY, answers) == {"nps": 6, "csat": None, "ces": None}


@pytest.mark.parametrize("score", [-1, 11, 10.5, "10", True, None, [9]])
def test_scores_out_of_range_or_of_the_wrong_type_are_refused(score):
    with pytest.raises(ApplicationError) as caught:
        validate_answers(NPS_SURVEY, {"nps": score}, complete=True)
    assert "answers.nps" in _fields(caught.value)


def test_answers_to_unknown_questions_are_refused():
    with pytest.raises(ApplicationError) as caught:
        validate_answers(NPS_SURVEY, {"nps": 9, "favourite_colour": "blue"}, complete=True)
    assert _fields(caught.value) == {
        "answers.favourite_colour": "is not a question of this survey version"}


def test_missing_required_answers_block_completion_but_not_a_partial_save():
    with pytest.raises(ApplicationError) as caught:
        validate_answers(CES_SURVEY, {"reason": "slow"}, complete=True)
    assert set(_fields(caught.value)) == {"answers.ces", "answers.resolved"}
    assert validate_answers(CES_SURVEY, {"reason": "slow"}, complete=False) == {"reason": "slow"}


def test_a_question_hidden_by_display_logic_cannot_be_answered():
    with pytest.raises(ApplicationError) as caught:
        validate_answers(NPS_SURVEY, {"nps": 10, "improve": ["price"]}, complete=True)
    assert "not shown" in _fields(caught.value)["answers.improve"]


@pytest.mark.parametrize(("answer", "message"), [
    (["nope"], "not one of"),
    (["staff", "staff"], "twice"),
    ([{"other": ""}], "needs text"),
    ([{"other": "a"}, {"other": "b"}], "one 'other'"),
    ("staff", "list"),
])
def test_bad_choice_answers_are_refused(answer, message):
    with pytest.raises(ApplicationError) as caught:
        validate_answers(NPS_SURVEY, {"nps": 3, "improve": answer}, complete=True)
    assert message in _fields(caught.value)["answers.improve"]


def test_over_long_text_and_nul_bytes_are_refused():
    for text, message in [("x" * 2001, "at most 2000"), ("a\x00b", "NUL")]:
        with pytest.raises(ApplicationError) as caught:
            validate_answers(NPS_SURVEY, {"nps": 3, "reason": text}, complete=True)
        assert message in _fields(caught.value)["answers.reason"]


def test_answers_must_be_an_object():
    with pytest.raises(ApplicationError, match="JSON object"):
        validate_answers(NPS_SURVEY, [9], complete=True)
