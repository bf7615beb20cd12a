"""The survey builder's pages with Django's test client: who may see and design what, creating
from templates, publishing, versions, texts and languages, export and import, the link for
anyone. Questions and the preview are in test_builder_questions.py."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from opencem.accounts.choices import Role
from opencem.accounts.services import membership_grant, user_create
from opencem.conftest import Org, Persona
from opencem.core.errors import ApplicationError
from opencem.surveys.distribution import SYSTEM_SCOPE
from opencem.surveys.models import Survey, SurveyVersion
from opencem.surveys.services import survey_create, survey_publish
from opencem.surveys.templates_library import TEMPLATES

pytestmark = pytest.mark.django_db


def make_survey(org: Org, *, name: str = "Store A CSAT", unit: Any = None,
                template: str = "transactional_csat", published: bool = False) -> Survey:
    survey = survey_create(name=name, unit=unit or org.store_a, definition=TEMPLATES[template],
                           scope=SYSTEM_SCOPE, actor=None)
    if published:
        survey_publish(survey=survey, scope=SYSTEM_SCOPE, actor=None)
    return survey


def signed_in(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def latest(survey: Survey) -> SurveyVersion:
    return SurveyVersion.objects.filter(survey=survey).latest("number")


def html(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def analyst_a(org: Org) -> Persona:
    """Designs for STORE-A only, and sees the rest of the company read-only."""
    user = user_create(username="analyst_a", email="analyst_a@acme.test", password="pw")
    membership_grant(user=user, unit=org.store_a, role=Role.ANALYST)
    membership_grant(user=user, unit=org.company, role=Role.VIEWER)
    return Persona(user, key="")


# Who sees what -------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_sign_in(org, client):
    survey = make_survey(org)
    for url in ("/surveys/", f"/surveys/{survey.pk}/", f"/surveys/{survey.pk}/preview"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_an_outsider_is_refused_the_list_and_cannot_find_a_survey(org, outsider):
    survey = make_survey(org)
    client = signed_in(outsider)
    assert client.get("/surveys/").status_code == 403
    assert client.get(f"/surveys/{survey.pk}/").status_code == 404
    assert client.post(f"/surveys/{survey.pk}/publish/").status_code == 404
    assert "Surveys</a>" not in html(client.get("/"))


def test_the_list_shows_each_persona_the_surveys_of_their_units(org, admin, manager_a):
    make_survey(org, name="Store A CSAT")
    make_survey(org, name="Store B CSAT", unit=org.store_b)
    everything = html(signed_in(admin).get("/surveys/"))
    assert "Store A CSAT" in everything
    assert "Store B CSAT" in everything
    mine = html(signed_in(manager_a).get("/surveys/"))
    assert "Store A CSAT" in mine
    assert "Store B CSAT" not in mine


def test_the_list_shows_state_live_version_and_completed_responses(org, admin):
    survey = make_survey(org, published=True)
    api = admin.api()
    for score in (5, 2):
        assert api.post_json("/api/v1/responses", {
            "survey": survey.pk, "answers": {"csat": score}}).status_code == 201
    assert api.put(f"/api/v1/surveys/{survey.pk}/draft", {"definition": {
        **TEMPLATES["transactional_csat"], "title": {"en": "Changed"}}},
        content_type="application/json").status_code == 200
    page = html(signed_in(admin).get("/surveys/"))
    row = page[page.index(f'id="survey-{survey.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "live" in row
    assert "draft v2" in row
    assert "<td>v1</td>" in row
    assert "<td>2</td>" in row


def test_the_list_needs_the_same_few_queries_however_many_surveys(org, admin,
                                                                  django_assert_max_num_queries):
    client = signed_in(admin)
    client.get("/surveys/")  # the first request sets up the session
    for n in range(12):
        make_survey(org, name=f"Survey {n}", published=n % 2 == 0)
    with django_assert_max_num_queries(12):
        assert client.get("/surveys/").status_code == 200


def test_designers_get_forms_and_viewers_a_read_only_page(org, admin, viewer):
    survey = make_survey(org)
    designer = html(signed_in(admin).get(f"/surveys/{survey.pk}/"))
    assert "Publish version 1" in designer
    assert "Add a question" in designer
    assert "Move up" in designer
    assert "Create survey" in html(signed_in(admin).get("/surveys/"))
    reader = html(signed_in(viewer).get(f"/surveys/{survey.pk}/"))
    assert "What is the main reason for your score?" in reader
    assert "Publish version" not in reader
    assert "Move up" not in reader
    assert "but not change it" in reader
    assert "Create survey" not in html(signed_in(viewer).get("/surveys/"))


def test_the_survey_pages_link_to_each_other(org, admin):
    survey = make_survey(org)
    design = html(signed_in(admin).get(f"/surveys/{survey.pk}/"))
    assert f'href="/surveys/{survey.pk}/distribution/"' in design
    assert f'href="/responses/?survey={survey.pk}"' in design
    distribution = html(signed_in(admin).get(f"/surveys/{survey.pk}/distribution/"))
    assert f'href="/surveys/{survey.pk}/"' in distribution


@pytest.mark.parametrize("persona", ["viewer", "manager_a", "agent_a"])
def test_people_without_the_design_role_cannot_change_a_survey(request, org, persona):
    survey = make_survey(org)
    before = latest(survey).definition
    client = signed_in(request.getfixturevalue(persona))
    base = f"/surveys/{survey.pk}"
    assert client.post(f"{base}/publish/").status_code == 403
    assert client.post(f"{base}/questions/reason/move/", {"direction": "up"}).status_code == 403
    assert client.post(f"{base}/questions/reason/remove/").status_code == 403
    assert client.get(f"{base}/questions/reason/").status_code == 403
    assert client.post(f"{base}/add-question/?type=consent", {
        "id": "ok", "text_en": "Fine?"}).status_code == 403
    assert client.post(f"{base}/anonymous-link/", {"enabled": "1"}).status_code == 403
    assert client.post(f"{base}/texts/", {"name": "Mine"}).status_code == 403
    created = client.post("/surveys/new/", {"name": "Mine", "unit": org.store_a.pk,
                                            "start": "blank"})
    assert created.status_code == 422
    assert SurveyVersion.objects.filter(survey=survey).count() == 1
    assert latest(survey).definition == before
    assert Survey.objects.count() == 1
    survey.refresh_from_db()
    assert (survey.name, survey.anonymous_link) == ("Store A CSAT", False)


def test_an_analyst_designs_only_for_their_own_unit(org, analyst_a):
    own = make_survey(org)
    other = make_survey(org, name="Store B CSAT", unit=org.store_b)
    client = signed_in(analyst_a)
    assert "Publish version 1" in html(client.get(f"/surveys/{own.pk}/"))
    assert "Publish version 1" not in html(client.get(f"/surveys/{other.pk}/"))
    assert client.post(f"/surveys/{other.pk}/publish/").status_code == 403
    # The form offers STORE-A only; a posted STORE-B is refused like any bad choice.
    page = html(client.get("/surveys/"))
    form = page[page.index('id="new-h"'):]
    assert "STORE-A" in form
    assert "STORE-B" not in form
    refused = client.post("/surveys/new/", {"name": "Sneaky", "unit": org.store_b.pk,
                                            "start": "blank"})
    assert refused.status_code == 422
    assert "Select a valid choice" in html(refused)
    assert not Survey.objects.filter(name="Sneaky").exists()
    assert client.post(f"/surveys/{own.pk}/publish/").status_code == 302


# Creating, publishing, versions ----------------------------------------------------------------

@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_a_survey_is_created_from_each_ready_template(org, admin, template):
    response = signed_in(admin).post("/surveys/new/", {
        "name": "Programme", "unit": org.north.pk, "start": template})
    survey = Survey.objects.get(name="Programme")
    assert response.status_code == 302
    assert response["Location"] == f"/surveys/{survey.pk}/"
    version = latest(survey)
    assert (version.number, version.is_published) == (1, False)
    assert [q["id"] for q in version.definition["questions"]] == [
        q["id"] for q in TEMPLATES[template]["questions"]]


def test_a_blank_survey_starts_with_its_name_as_title_and_one_question(org, admin):
    signed_in(admin).post("/surveys/new/", {"name": "Pop-up shop", "unit": org.store_a.pk,
                                            "start": "blank"})
    definition = latest(Survey.objects.get()).definition
    assert definition["title"] == {"en": "Pop-up shop"}
    assert len(definition["questions"]) == 1


def test_a_new_survey_without_a_name_or_unit_is_refused_with_the_fields_named(org, admin):
    response = signed_in(admin).post("/surveys/new/", {"name": " ", "start": "nonsense"})
    assert response.status_code == 422
    body = html(response)
    assert body.count("This field is required.") == 2
    assert "Select a valid choice" in body
    assert not Survey.objects.exists()


def test_publishing_creates_a_version_and_the_next_edit_a_new_draft(org, admin):
    survey = make_survey(org)
    client = signed_in(admin)
    response = client.post(f"/surveys/{survey.pk}/publish/", follow=True)
    assert "Version 1 published" in html(response)
    assert latest(survey).is_published
    page = html(client.get(f"/surveys/{survey.pk}/"))
    assert "Publish version" not in page
    assert "Your next change starts draft version 2" in page
    edited = client.post(f"/surveys/{survey.pk}/questions/reason/move/", {"direction": "up"},
                         follow=True)
    assert "Draft version 2 started" in html(edited)
    assert [v.number for v in SurveyVersion.objects.filter(survey=survey)] == [2, 1]
    assert SurveyVersion.objects.get(survey=survey, number=1).definition[
        "questions"][0]["id"] == "csat"
    assert "Publish version 2" in html(client.get(f"/surveys/{survey.pk}/"))
    client.post(f"/surveys/{survey.pk}/publish/")
    assert SurveyVersion.objects.get(survey=survey, number=2).is_published


def test_publishing_with_no_draft_says_so_and_changes_nothing(org, admin):
    survey = make_survey(org, published=True)
    response = signed_in(admin).post(f"/surveys/{survey.pk}/publish/", follow=True)
    assert "There is no draft to publish" in html(response)
    assert SurveyVersion.objects.filter(survey=survey).count() == 1


def test_the_version_history_lists_every_version_with_its_download(org, admin):
    survey = make_survey(org, published=True)
    client = signed_in(admin)
    client.post(f"/surveys/{survey.pk}/questions/reason/move/", {"direction": "up"})
    page = html(client.get(f"/surveys/{survey.pk}/"))
    history = page[page.index('id="versions-h"'):]
    assert "?version=1" in history
    assert "?version=2" in history
    assert "published" in history


# Export and import -----------------------------------------------------------------------------

def test_export_downloads_the_latest_or_a_named_version(org, admin):
    survey = make_survey(org, published=True)
    client = signed_in(admin)
    client.post(f"/surveys/{survey.pk}/questions/reason/move/", {"direction": "up"})
    response = client.get(f"/surveys/{survey.pk}/export/")
    assert response["Content-Disposition"] == f'attachment; filename="{survey.slug}-v2.json"'
    assert json.loads(response.content)["version"] == 2
    first = json.loads(client.get(f"/surveys/{survey.pk}/export/?version=1").content)
    assert first["definition"] == SurveyVersion.objects.get(survey=survey, number=1).definition
    assert client.get(f"/surveys/{survey.pk}/export/?version=9").status_code == 404
    assert client.get(f"/surveys/{survey.pk}/export/?version=x").status_code == 404


def test_an_exported_file_imports_as_a_new_draft_with_the_same_definition(org, admin):
    survey = make_survey(org, template="relational_nps", published=True)
    client = signed_in(admin)
    exported = client.get(f"/surveys/{survey.pk}/export/").content
    upload = SimpleUploadedFile("survey.json", exported, content_type="application/json")
    response = client.post("/surveys/import/", {"document": upload, "unit": org.north.pk})
    copy = Survey.objects.exclude(pk=survey.pk).get()
    assert response["Location"] == f"/surveys/{copy.pk}/"
    assert (copy.name, copy.unit_id) == (survey.name, org.north.pk)
    assert copy.slug != survey.slug
    assert latest(copy).definition == latest(survey).definition
    assert not latest(copy).is_published


@pytest.mark.parametrize(("content", "message"), [
    (b"not json", "The file is not JSON"),
    (b"[1, 2]", "one JSON object"),
    (b'{"format": "other/1", "name": "X", "definition": {}}', "format: must be"),
    (json.dumps({"format": "opencem.survey/1", "name": "X", "definition": {
        "title": {"en": "T"}, "questions": [{"id": "q", "type": "nps"}]}}).encode(),
     "questions.0"),
])
def test_a_bad_import_names_the_problem_and_creates_nothing(org, admin, content, message):
    upload = SimpleUploadedFile("survey.json", content, content_type="application/json")
    response = signed_in(admin).post("/surveys/import/", {"document": upload,
                                                          "unit": org.north.pk})
    assert response.status_code == 422
    assert message in html(response)
    assert not Survey.objects.exists()


# Texts, languages, branding ------------------------------------------------------------------

def texts_form(**changes: str) -> dict[str, str]:
    data = {"name": "Store A CSAT", "title_en": "How did we do today?", "intro_en": "",
            "thank_you_en": "Thank you for your feedback.", "default_language": "en",
            "add_language": "", "add_language_title": "", "accent_colour": "#1f5fbf",
            "logo_text": ""}
    data.update(changes)
    return data


def test_texts_rename_retitle_and_add_a_language(org, admin):
    survey = make_survey(org)
    client = signed_in(admin)
    response = client.post(f"/surveys/{survey.pk}/texts/", texts_form(
        name="Checkout CSAT", title_en="How was checkout?", add_language="it",
        add_language_title="Com'era la cassa?", logo_text="Acme", accent_colour="#0B6E4F"))
    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.name == "Checkout CSAT"
    assert survey.slug == "store-a-csat"  # links already handed out keep working
    definition = latest(survey).definition
    assert definition["title"] == {"en": "How was checkout?", "it": "Com'era la cassa?"}
    assert definition["branding"] == {"accent_colour": "#0b6e4f", "logo_text": "Acme"}
    # The new language now has its own fields on every question's form.
    assert 'name="text_it"' in html(client.get(f"/surveys/{survey.pk}/questions/csat/"))


def test_removing_a_language_drops_its_texts_everywhere(org, admin):
    survey = make_survey(org, template="relational_nps")  # English and German texts
    response = signed_in(admin).post(f"/surveys/{survey.pk}/texts/", texts_form(
        title_en="Your experience with us", title_de="Ihre Erfahrung mit uns",
        thank_you_en="Thanks", remove_language="de"))
    assert response.status_code == 302
    assert "wahrscheinlich" not in json.dumps(latest(survey).definition)
    assert '"de"' not in json.dumps(latest(survey).definition)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title_en": ""}, "title_en", "This field is required."),
    ({"accent_colour": "red"}, "accent_colour", "six hex digits"),
    ({"add_language": "Deutsch"}, "add_language", "language code"),
    ({"add_language": "it"}, "add_language_title", "title in the new language"),
    ({"add_language": "de"}, "add_language", "already has"),
    ({"default_language": "es"}, "default_language", "Select a valid choice"),
])
def test_bad_texts_are_refused_on_their_field_and_change_nothing(org, admin, changes, field,
                                                               message):
    survey = make_survey(org)
    before = latest(survey).definition
    response = signed_in(admin).post(f"/surveys/{survey.pk}/texts/",
                                     texts_form(name="Renamed", **changes))
    assert response.status_code == 422
    body = html(response)
    assert message in body
    assert f'id="id_{field}_error"' in body
    assert latest(survey).definition == before
    survey.refresh_from_db()
    assert survey.name == "Store A CSAT"


def test_a_default_language_without_every_question_text_is_refused_by_the_definition(
        org, admin):
    survey = make_survey(org, template="relational_nps")
    before = latest(survey).definition
    response = signed_in(admin).post(f"/surveys/{survey.pk}/texts/", texts_form(
        title_en="Your experience with us", title_de="Ihre Erfahrung mit uns",
        default_language="de"))
    assert response.status_code == 422
    assert "has no text in the default language" in html(response)
    assert latest(survey).definition == before


# The link for anyone -------------------------------------------------------------------------

def test_a_designer_opens_and_closes_the_link_for_anyone(org, admin, client):
    survey = make_survey(org, published=True)
    designer = signed_in(admin)
    assert client.get(f"/s/p/{survey.slug}").status_code == 404
    designer.post(f"/surveys/{survey.pk}/anonymous-link/", {"enabled": "1"})
    assert f"/s/p/{survey.slug}" in html(designer.get(f"/surveys/{survey.pk}/"))
    assert "How satisfied were you" in html(client.get(f"/s/p/{survey.slug}"))
    designer.post(f"/surveys/{survey.pk}/anonymous-link/", {"enabled": "0"})
    assert client.get(f"/s/p/{survey.slug}").status_code == 404


def test_the_api_opens_the_link_and_renames_within_the_design_scope(org, admin, manager_a):
    survey = make_survey(org)
    refused = manager_a.api().patch(f"/api/v1/surveys/{survey.pk}", {"anonymous_link": True},
                                    content_type="application/json")
    assert refused.status_code == 403
    response = admin.api().patch(f"/api/v1/surveys/{survey.pk}", {
        "anonymous_link": True, "name": "Renamed"}, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["anonymous_link"], response.json()["name"]) == (True, "Renamed")
    blank = admin.api().patch(f"/api/v1/surveys/{survey.pk}", {"name": "  "},
                              content_type="application/json")
    assert blank.status_code == 422
    assert Survey.objects.get(pk=survey.pk).name == "Renamed"


def test_survey_text_is_escaped_on_the_builder_pages(org, admin):
    definition = {**TEMPLATES["transactional_csat"],
                  "title": {"en": "<script>alert(1)</script>"},
                  "questions": [{"id": "csat", "type": "csat",
                                 "text": {"en": "<img src=x onerror=alert(1)>"}}]}
    survey = survey_create(name="<b>Bold</b>", unit=org.store_a, definition=definition,
                           scope=SYSTEM_SCOPE, actor=None)
    client = signed_in(admin)
    for url in ("/surveys/", f"/surveys/{survey.pk}/", f"/surveys/{survey.pk}/questions/csat/",
                f"/surveys/{survey.pk}/texts/", f"/surveys/{survey.pk}/preview"):
        body = html(client.get(url))
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "<b>Bold</b>" not in body


def test_history_loaded_with_a_survey_can_date_its_publication_back_but_not_ahead(org):
    survey = survey_create(name="History", unit=org.company,
                           definition=TEMPLATES["relational_nps"], scope=SYSTEM_SCOPE,
                           actor=None)
    with pytest.raises(ApplicationError, match="must not be in the future"):
        survey_publish(survey=survey, scope=SYSTEM_SCOPE, actor=None,
                       published_at=timezone.now() + timedelta(days=1))
    assert not survey.versions.filter(published_at__isnull=False).exists()
    two_years_ago = timezone.now() - timedelta(days=730)
    version = survey_publish(survey=survey, scope=SYSTEM_SCOPE, actor=None,
                             published_at=two_years_ago)
    assert version.published_at == two_years_ago
