from __future__ import annotations

import pytest
from pydantic import ValidationError

from opencem.surveys.definition import SurveyDefinition, localise, pipe
from opencem.surveys.templates_library import TEMPLATES, template_definition


def _survey(*questions, **extra):
    return {"title": {"en": "T"}, "questions": list(questions), **extra}


NPS = {"id": "nps", "type": "nps", "text": {"en": "Recommend us?"}, "required": True}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_is_a_valid_definition_with_a_reason_question(name):
    definition = template_definition(name)
    assert definition.question("reason") is not None


def test_fixed_scales_are_enforced_whatever_the_author_wrote():
    definition = SurveyDefinition.model_validate(_survey({**NPS, "min": 1, "max": 5}))
    question = definition.first_of("nps")
    assert (question.min, question.max) == (0, 10)


@pytest.mark.parametrize(("data", "message"), [
    (_survey(NPS, NPS), "repeated: nps"),
    (_survey({**NPS, "show_if": {"conditions": [{"question": "later", "op": "answered"}]}},
             {"id": "later", "type": "short_text", "text": {"en": "x"}}), "not an earlier"),
    (_survey({**NPS, "text": {"de": "Empfehlen?"}}), "default language"),
    (_survey({**NPS, "surprise": 1}), "Extra inputs"),
    (_survey({"id": "Bad Id", "type": "short_text", "text": {"en": "x"}}), "pattern"),
    (_survey({"id": "c", "type": "single_choice", "text": {"en": "x"},
              "choices": [{"id": "a", "label": {"en": "A"}}, {"id": "a", "label": {"en": "A"}}]}),
     "unique"),
    ({"title": {"en": "T"}, "questions": []}, "at least 1"),
])
def test_incoherent_definitions_are_refused(data, message):
    with pytest.raises(ValidationError, match=message):
        SurveyDefinition.model_validate(data)


CHANNEL = {"id": "channel", "type": "single_choice", "text": {"en": "Where?"},
           "choices": [{"id": "store", "label": {"en": "Store"}},
                       {"id": "web", "label": {"en": "Web"}}]}
FOLLOW = {"id": "why", "type": "long_text", "text": {"en": "Why?"}}


@pytest.mark.parametrize(("condition", "message"), [
    ({"question": "channel", "op": "eq", "value": "app"}, "'app', which is not one of its"),
    ({"question": "channel", "op": "in", "value": ["store", "phone"]}, "'phone'"),
    ({"question": "channel", "op": "in", "value": "store"}, "needs a list"),
    ({"question": "nps", "op": "lte", "value": 11}, "not on its 0–10 scale"),
    ({"question": "nps", "op": "eq", "value": "six"}, "'six'"),
])
def test_display_logic_on_an_answer_the_question_cannot_be_given_is_refused(condition,
                                                                           message):
    data = _survey(NPS, CHANNEL, {**FOLLOW, "show_if": {"conditions": [condition]}})
    with pytest.raises(ValidationError, match=message):
        SurveyDefinition.model_validate(data)


@pytest.mark.parametrize("condition", [
    {"question": "channel", "op": "eq", "value": "web"},
    {"question": "channel", "op": "not_in", "value": ["store"]},
    {"question": "nps", "op": "lte", "value": 6},
    {"question": "channel", "op": "answered"},
])
def test_display_logic_on_answers_the_question_can_be_given_is_accepted(condition):
    data = _survey(NPS, CHANNEL, {**FOLLOW, "show_if": {"conditions": [condition]}})
    assert SurveyDefinition.model_validate(data).question("why").show_if is not None


def test_removing_a_choice_that_later_display_logic_uses_is_refused():
    data = _survey(NPS, CHANNEL, {**FOLLOW, "show_if": {"conditions": [
        {"question": "channel", "op": "eq", "value": "web"}]}})
    definition = SurveyDefinition.model_validate(data)
    without_web = definition.model_dump(mode="json", exclude_none=True)
    without_web["questions"][1]["choices"] = without_web["questions"][1]["choices"][:1]
    with pytest.raises(ValidationError, match="'web', which is not one of its choices"):
        SurveyDefinition.model_validate(without_web)


def test_text_falls_back_from_regional_to_base_to_default_language():
    text = {"en": "Hello", "de": "Hallo"}
    assert localise(text, "de-AT", "en") == "Hallo"
    assert localise(text, "fr", "en") == "Hello"


def test_piping_fills_known_placeholders_and_blanks_the_rest():
    out = pipe("Hi {{customer.name}}, {{attributes.tier}} member at {{hidden.store}}{{hidden.x}}",
               customer_name="Ann", attributes={"tier": "gold"}, hidden={"store": "Leeds"})
    assert out == "Hi Ann, gold member at Leeds"
