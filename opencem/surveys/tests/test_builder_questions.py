"""The builder's questions and the preview with Django's test client: adding every type,
editing texts, options, scales and display logic, refusing bad edits without changing
anything, reordering (with and without htmx), removing, and previewing without storing."""

from __future__ import annotations

from typing import Any

import pytest

from opencem.feedback.models import Response
from opencem.surveys.distribution import SYSTEM_SCOPE
from opencem.surveys.models import Survey, SurveyVersion
from opencem.surveys.services import survey_create, survey_publish, survey_save_draft
from opencem.surveys.templates_library import TEMPLATES
from opencem.surveys.tests.test_builder import html, latest, make_survey, signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def ids(survey: Survey) -> list[str]:
    return [q["id"] for q in latest(survey).definition["questions"]]


def question(survey: Survey, question_id: str) -> dict[str, Any]:
    return next(q for q in latest(survey).definition["questions"] if q["id"] == question_id)


def unchanged(survey: Survey, before: SurveyVersion) -> bool:
    after = latest(survey)
    return (after.pk, after.definition) == (before.pk, before.definition)


# Adding -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "data", "expected"), [
    ("nps", {"text_en": "Recommend us?", "low_label_en": "Never", "high_label_en": "Surely",
             "style": "number", "required": "on"},
     {"type": "nps", "required": True, "low_label": {"en": "Never"},
      "high_label": {"en": "Surely"}}),
    ("csat", {"text_en": "Satisfied?", "style": "stars"}, {"type": "csat", "style": "stars"}),
    ("ces", {"text_en": "Easy?", "style": "number"}, {"type": "ces"}),
    ("rating", {"text_en": "Rate the fitting room", "style": "number", "min": "1",
                "max": "10"}, {"type": "rating", "min": 1, "max": 10}),
    ("single_choice", {"text_en": "Which store?", "choices_en": "north: North\nSouth side"},
     {"type": "single_choice", "choices": [{"id": "north", "label": {"en": "North"}},
                                           {"id": "south_side", "label": {"en": "South side"}}]}),
    ("multiple_choice", {"text_en": "What did you buy?", "choices_en": "food: Food\ntoys: Toys",
                         "choices_de": "food: Essen", "allow_other": "on", "randomize": "on",
                         "max_selected": "2"},
     {"type": "multiple_choice", "allow_other": True, "randomize": True, "max_selected": 2,
      "choices": [{"id": "food", "label": {"en": "Food", "de": "Essen"}},
                  {"id": "toys", "label": {"en": "Toys"}}]}),
    ("short_text", {"text_en": "Your town?", "max_length": "80"},
     {"type": "short_text", "max_length": 80}),
    ("long_text", {"text_en": "Anything else?", "text_de": "Sonst noch etwas?",
                   "help_en": "No personal data, please.", "max_length": "5000"},
     {"type": "long_text", "text": {"en": "Anything else?", "de": "Sonst noch etwas?"},
      "help": {"en": "No personal data, please."}}),
    ("hidden", {"required": "on"}, {"type": "hidden", "required": True}),
    ("consent", {"text_en": "You may call me."}, {"type": "consent",
                                                  "text": {"en": "You may call me."}}),
])
def test_a_designer_adds_a_question_of_every_type(org, admin, kind, data, expected):
    survey = make_survey(org)
    response = signed_in(admin).post(f"/surveys/{survey.pk}/add-question/?type={kind}",
                                     {"id": "added", **data})
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == f"/surveys/{survey.pk}/#question-added"
    assert ids(survey)[-1] == "added"
    stored = question(survey, "added")
    assert {k: stored.get(k) for k in expected} == expected


def test_the_add_form_suggests_a_free_id_and_offers_every_language(org, admin):
    survey = make_survey(org)  # the CSAT template already has a question "csat"
    page = html(signed_in(admin).get(f"/surveys/{survey.pk}/add-question/?type=csat"))
    assert 'value="csat_2"' in page
    for code in ("en", "de", "fr"):
        assert f'name="text_{code}"' in page


def test_an_unknown_question_type_or_question_is_not_found(org, admin):
    survey = make_survey(org)
    client = signed_in(admin)
    assert client.get(f"/surveys/{survey.pk}/add-question/?type=video").status_code == 404
    assert client.get(f"/surveys/{survey.pk}/questions/nope/").status_code == 404
    assert client.post(f"/surveys/{survey.pk}/questions/nope/move/",
                       {"direction": "up"}).status_code == 404


# Editing ----------------------------------------------------------------------------------------

def edit_form(client: Any, survey: Survey, question_id: str) -> dict[str, Any]:
    """What the edit page would post unchanged: its form's initial values."""
    form = client.get(f"/surveys/{survey.pk}/questions/{question_id}/").context["form"]
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    return data


def test_editing_changes_texts_options_and_display_logic(org, admin):
    survey = make_survey(org, template="relational_nps")
    client = signed_in(admin)
    data = edit_form(client, survey, "improve")
    assert data["cond_0_question"] == "nps"
    assert (data["cond_0_op"], data["cond_0_value"]) == ("lte", "8")
    data.update({"text_de": "Was sollen wir zuerst verbessern?",
                 "choices_en": data["choices_en"] + "\nparking: Parking",
                 "choices_de": "price: Preise", "required": "on", "match": "any",
                 "cond_0_op": "lte", "cond_0_value": "6",
                 "cond_1_question": "reason", "cond_1_op": "answered"})
    response = client.post(f"/surveys/{survey.pk}/questions/improve/", data)
    assert response.status_code == 302, response.context["form"].errors
    stored = question(survey, "improve")
    assert stored["text"]["de"] == "Was sollen wir zuerst verbessern?"
    assert stored["required"] is True
    assert stored["choices"][0] == {"id": "price", "label": {"en": "Prices", "de": "Preise"}}
    assert stored["choices"][-1] == {"id": "parking", "label": {"en": "Parking"}}
    assert stored["show_if"] == {"match": "any", "conditions": [
        {"question": "nps", "op": "lte", "value": 6},
        {"question": "reason", "op": "answered"}]}
    assert "Shown when nps is at most 6 or reason is answered" in html(
        client.get(f"/surveys/{survey.pk}/"))


def test_editing_scale_labels_and_conditions_on_choices_and_consent(org, admin):
    survey = make_survey(org, template="relational_nps")
    client = signed_in(admin)
    data = edit_form(client, survey, "nps")
    data.update({"low_label_en": "No way", "high_label_de": "Auf jeden Fall"})
    assert client.post(f"/surveys/{survey.pk}/questions/nps/", data).status_code == 302
    assert question(survey, "nps")["low_label"] == {"en": "No way"}
    assert question(survey, "nps")["high_label"] == {"en": "Extremely likely",
                                                     "de": "Auf jeden Fall"}
    client.post(f"/surveys/{survey.pk}/add-question/?type=short_text", {
        "id": "why_price", "text_en": "What about prices?", "max_length": "200",
        "cond_0_question": "improve", "cond_0_op": "in", "cond_0_value": "price, range"})
    # A saved condition leaves a row free for the next one.
    data = edit_form(client, survey, "why_price")
    data.update({"cond_1_question": "contact_ok", "cond_1_op": "eq", "cond_1_value": "yes"})
    assert client.post(f"/surveys/{survey.pk}/questions/why_price/", data).status_code == 302
    assert question(survey, "why_price")["show_if"]["conditions"] == [
        {"question": "improve", "op": "in", "value": ["price", "range"]},
        {"question": "contact_ok", "op": "eq", "value": True}]


def test_removing_every_condition_shows_the_question_always(org, admin):
    survey = make_survey(org, template="relational_nps")
    client = signed_in(admin)
    data = edit_form(client, survey, "improve")
    data["cond_0_question"] = ""
    data.pop("cond_0_value")
    assert client.post(f"/surveys/{survey.pk}/questions/improve/", data).status_code == 302
    assert "show_if" not in question(survey, "improve")


BAD_EDITS = [
    ("csat", {"text_en": ""}, "text_en", "This field is required."),
    ("reason", {"max_length": "0"}, "max_length", "greater than or equal to 1"),
    ("reason", {"cond_0_question": "store"}, "cond_0_question", "Select a valid choice"),
    ("reason", {"cond_0_question": "csat", "cond_0_op": "lte", "cond_0_value": "lots"},
     "cond_0_value", "give a whole number"),
    ("reason", {"cond_0_question": "", "cond_0_value": "3"}, "cond_0_question",
     "Choose the question"),
    ("reason", {"cond_0_question": "csat", "cond_0_op": "eq", "cond_0_value": ""},
     "cond_0_value", "Give the value"),
]


@pytest.mark.parametrize("case", BAD_EDITS)
def test_a_bad_edit_names_the_field_and_changes_nothing(org, admin, case):
    question_id, changes, field, message = case
    survey = make_survey(org, published=True)
    before = latest(survey)
    client = signed_in(admin)
    data = {**edit_form(client, survey, question_id), **changes}
    response = client.post(f"/surveys/{survey.pk}/questions/{question_id}/", data)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in html(response)
    assert unchanged(survey, before)
    assert SurveyVersion.objects.filter(survey=survey).count() == 1  # no empty draft either


BAD_NEW_QUESTIONS = [
    ("rating", {"id": "fit", "text_en": "Fit?", "style": "number", "min": "5", "max": "3"},
     "max", "above the lowest"),
    ("single_choice", {"id": "pick", "text_en": "Pick", "choices_en": "a: A\na: Again"},
     "choices_en", "repeated: a"),
    ("single_choice", {"id": "pick", "text_en": "Pick", "choices_en": "other: Other",
                       "allow_other": "on"}, "choices_en", "kept for the"),
    ("single_choice", {"id": "pick", "text_en": "Pick", "choices_en": "a: A",
                       "choices_de": "b: B"}, "choices_de", "no option 'b'"),
    ("single_choice", {"id": "pick", "text_en": "Pick", "choices_en": "!!!"},
     "choices_en", "Cannot read the option"),
    ("short_text", {"id": "csat", "text_en": "Again?", "max_length": "10"}, "id",
     "already has a question"),
    ("short_text", {"id": "Bad Id", "text_en": "Hm?", "max_length": "10"}, "id",
     "lower-case letters"),
    ("short_text", {"id": "cmp", "text_en": "Hm?", "max_length": "10",
                    "cond_0_question": "reason", "cond_0_op": "gt", "cond_0_value": "3"},
     "cond_0_value", "not a score"),
    ("short_text", {"id": "cmp", "text_en": "Hm?", "max_length": "10",
                    "cond_0_question": "csat", "cond_0_op": "in", "cond_0_value": "4, five"},
     "cond_0_value", "give a whole number"),
]


@pytest.mark.parametrize("case", BAD_NEW_QUESTIONS)
def test_a_bad_new_question_names_the_field_and_adds_nothing(org, admin, case):
    kind, data, field, message = case
    survey = make_survey(org)
    before = latest(survey)
    response = signed_in(admin).post(f"/surveys/{survey.pk}/add-question/?type={kind}", data)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert unchanged(survey, before)


def test_a_refusal_by_the_definition_itself_is_shown_and_changes_nothing(org, admin):
    full = {"title": {"en": "Long"}, "questions": [
        {"id": f"q{n}", "type": "short_text", "text": {"en": f"Question {n}"}}
        for n in range(100)]}
    survey = survey_create(name="Long", unit=org.store_a, definition=full, scope=SYSTEM_SCOPE,
                           actor=None)
    before = latest(survey)
    response = signed_in(admin).post(f"/surveys/{survey.pk}/add-question/?type=consent",
                                     {"id": "one_more", "text_en": "OK?"})
    assert response.status_code == 422
    assert "at most 100 items" in html(response)
    assert unchanged(survey, before)


# Reordering and removing ------------------------------------------------------------------------

def test_move_buttons_reorder_without_javascript(org, admin):
    survey = make_survey(org)
    client = signed_in(admin)
    response = client.post(f"/surveys/{survey.pk}/questions/reason/move/", {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"] == f"/surveys/{survey.pk}/#question-reason"
    assert ids(survey)[:2] == ["reason", "csat"]
    client.post(f"/surveys/{survey.pk}/questions/reason/move/", {"direction": "down"})
    assert ids(survey)[:2] == ["csat", "reason"]


def test_htmx_gets_the_question_list_and_the_version_card_back(org, admin):
    survey = make_survey(org, published=True)
    response = signed_in(admin).post(f"/surveys/{survey.pk}/questions/reason/move/",
                                     {"direction": "up"}, **HTMX)
    body = html(response)
    assert response.status_code == 200
    assert '<section class="card" id="questions"' in body
    assert body.index("question-reason") < body.index("question-csat")
    assert 'id="survey-status" aria-labelledby="status-h" hx-swap-oob="true"' in body
    assert "Publish version 2" in body
    assert "Moved \u201creason\u201d up." in body
    assert "<html" not in body


@pytest.mark.parametrize("htmx", [False, True])
def test_a_move_that_breaks_display_logic_is_refused_and_changes_nothing(org, admin, htmx):
    survey = make_survey(org, template="relational_nps")
    client = signed_in(admin)
    client.post(f"/surveys/{survey.pk}/questions/improve/move/", {"direction": "up"})
    assert ids(survey)[:3] == ["nps", "improve", "reason"]
    before = latest(survey)
    response = client.post(f"/surveys/{survey.pk}/questions/improve/move/",
                           {"direction": "up"}, follow=not htmx, **(HTMX if htmx else {}))
    assert "'improve' cannot come before 'nps'" in html(response).replace("&#x27;", "'")
    assert unchanged(survey, before)
    first = client.post(f"/surveys/{survey.pk}/questions/nps/move/", {"direction": "up"},
                        follow=True)
    assert "already the first question" in html(first).replace("&#x27;", "'")
    assert unchanged(survey, before)


def test_removing_a_question(org, admin):
    survey = make_survey(org)
    response = signed_in(admin).post(f"/surveys/{survey.pk}/questions/order_id/remove/",
                                     follow=True)
    assert "Removed \u201corder_id\u201d." in html(response)
    assert "order_id" not in ids(survey)


def test_a_question_other_logic_looks_at_cannot_be_removed(org, admin):
    survey = make_survey(org, template="relational_nps")
    before = latest(survey)
    response = signed_in(admin).post(f"/surveys/{survey.pk}/questions/nps/remove/", **HTMX)
    assert response.status_code == 200
    assert 'role="alert"' in html(response)
    assert "the display logic of &#x27;improve&#x27; looks at it" in html(response)
    assert unchanged(survey, before)


def test_the_last_question_cannot_be_removed(org, admin):
    survey = survey_create(name="One", unit=org.store_a, scope=SYSTEM_SCOPE, actor=None,
                           definition={"title": {"en": "One"}, "questions": [
                               {"id": "only", "type": "nps", "text": {"en": "Score?"}}]})
    response = signed_in(admin).post(f"/surveys/{survey.pk}/questions/only/remove/",
                                     follow=True)
    assert "a survey needs at least one question" in html(response)
    assert ids(survey) == ["only"]


# The preview ------------------------------------------------------------------------------------

def test_the_preview_shows_the_draft_with_a_banner_and_stores_nothing(org, admin):
    survey = make_survey(org, published=True)
    changed = {**TEMPLATES["transactional_csat"]}
    changed["questions"] = [*changed["questions"], {"id": "again", "type": "single_choice",
                                                    "text": {"en": "Would you come again?"},
                                                    "choices": [{"id": "yes",
                                                                 "label": {"en": "Yes"}}]}]
    survey_save_draft(survey=survey, definition=changed, scope=SYSTEM_SCOPE)
    client = signed_in(admin)
    page = client.get(f"/surveys/{survey.pk}/preview")
    body = html(page)
    assert "Preview</strong> of draft version 2" in body
    assert "never saved" in body
    assert "Would you come again?" in body
    assert "saved as you go" not in body
    assert page["Cache-Control"] == "private, no-store"
    missing = client.post(f"/surveys/{survey.pk}/preview", {"page": "0"})
    assert missing.status_code == 422
    assert "There is a problem with your answers" in html(missing)
    done = client.post(f"/surveys/{survey.pk}/preview", {"page": "0", "q-csat": "4",
                                                         "q-again": "yes"})
    assert done.status_code == 200
    assert "Thank you for your feedback." in html(done)
    assert "Preview</strong>" in html(done)
    assert Response.objects.count() == 0


def test_the_preview_walks_pages_with_display_logic_and_previous(org, admin):
    survey = make_survey(org, template="relational_nps")
    client = signed_in(admin)
    first = client.post(f"/surveys/{survey.pk}/preview?restart=1", {"page": "0", "q-nps": "3"})
    assert first.status_code == 302
    assert first["Location"] == f"/surveys/{survey.pk}/preview?page=1"
    second = html(client.get(first["Location"]))
    assert "What should we improve first?" in second
    assert f'href="/surveys/{survey.pk}/preview?page=0"' in second
    back = html(client.get(f"/surveys/{survey.pk}/preview?page=0"))
    assert 'value="3" checked' in back
    promoter = client.post(f"/surveys/{survey.pk}/preview", {"page": "0", "q-nps": "10"})
    assert "What should we improve first?" not in html(client.get(promoter["Location"]))
    thanks = client.post(f"/surveys/{survey.pk}/preview", {"page": "1"})
    assert "We read every answer" in html(thanks)
    assert Response.objects.count() == 0


def test_the_preview_shows_placeholders_and_takes_values_from_its_address(org, admin):
    survey = make_survey(org)
    client = signed_in(admin)
    assert "with your [hidden.touchpoint] today" in html(
        client.get(f"/surveys/{survey.pk}/preview"))
    assert "with your delivery today" in html(
        client.get(f"/surveys/{survey.pk}/preview?restart=1&touchpoint=delivery"))


def test_the_preview_offers_the_survey_languages(org, admin):
    survey = make_survey(org, template="relational_nps")
    client = signed_in(admin)
    body = html(client.get(f"/surveys/{survey.pk}/preview"))
    assert f'/surveys/{survey.pk}/preview?restart=1&amp;lang=de' in body
    german = client.get(f"/surveys/{survey.pk}/preview?restart=1&lang=de")
    assert german["Content-Language"] == "de"
    assert "Wie wahrscheinlich ist es" in html(german)


def test_anyone_who_sees_the_survey_may_preview_it(org, viewer, manager_b):
    survey = make_survey(org)
    assert signed_in(viewer).get(f"/surveys/{survey.pk}/preview").status_code == 200
    assert signed_in(manager_b).get(f"/surveys/{survey.pk}/preview").status_code == 404


def test_a_published_survey_previews_its_live_version(org, admin):
    survey = make_survey(org)
    survey_publish(survey=survey, scope=SYSTEM_SCOPE, actor=None)
    body = html(signed_in(admin).get(f"/surveys/{survey.pk}/preview"))
    assert "Preview</strong> of version 1" in body
