from __future__ import annotations

import pytest

from opencem.surveys.models import SurveyVersion
from opencem.surveys.templates_library import TEMPLATES

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(admin):
    response = admin.api().post_json("/api/v1/surveys", {
        "name": "Store CSAT", "unit": "ACME", "template": "transactional_csat"})
    assert response.status_code == 201, response.content
    return response.json()


def test_a_survey_starts_as_an_unpublished_draft(survey):
    assert survey["slug"] == "store-csat"
    assert survey["live_version"] is None
    assert survey["latest"]["number"] == 1
    assert survey["latest"]["published_at"] is None


def test_publishing_freezes_the_version_and_edits_start_a_new_draft(admin, survey):
    api = admin.api()
    published = api.post_json(f"/api/v1/surveys/{survey['id']}/publish", {})
    assert published.status_code == 200
    frozen = SurveyVersion.objects.get(survey_id=survey["id"], number=1).definition
    changed = {**TEMPLATES["transactional_csat"], "title": {"en": "Changed"}}
    draft = api.put(f"/api/v1/surveys/{survey['id']}/draft", {"definition": changed},
                    content_type="application/json")
    assert draft.json()["number"] == 2
    assert SurveyVersion.objects.get(survey_id=survey["id"], number=1).definition == frozen
    detail = api.get(f"/api/v1/surveys/{survey['id']}").json()
    assert (detail["live_version"], detail["latest"]["number"]) == (1, 2)
    again = api.post_json(f"/api/v1/surveys/{survey['id']}/publish", {})
    assert again.json()["number"] == 2
    nothing = api.post_json(f"/api/v1/surveys/{survey['id']}/publish", {})
    assert nothing.status_code == 409


def test_an_invalid_draft_names_the_field_and_changes_nothing(admin, survey):
    bad = {**TEMPLATES["transactional_csat"], "questions": [{"id": "x", "type": "nps"}]}
    response = admin.api().put(f"/api/v1/surveys/{survey['id']}/draft", {"definition": bad},
                               content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"]["errors"][0]["field"].startswith("definition.questions.0")
    assert SurveyVersion.objects.get(survey_id=survey["id"]).definition["title"] == {
        "en": "How did we do today?"}


def test_export_then_import_gives_the_same_definition(admin, survey):
    api = admin.api()
    document = api.get(f"/api/v1/surveys/{survey['id']}/export").json()
    assert document["format"] == "opencem.survey/1"
    copy = api.post_json("/api/v1/surveys/import", {"unit": "NORTH", "document": document})
    assert copy.status_code == 201
    assert copy.json()["latest"]["definition"] == survey["latest"]["definition"]
    assert copy.json()["slug"] == "store-csat-2"


def test_only_admins_and_analysts_design_surveys_and_only_for_their_units(manager_a, org):
    response = manager_a.api().post_json("/api/v1/surveys", {
        "name": "Mine", "unit": "STORE-A", "template": "support_ces"})
    assert response.status_code == 403


def test_a_manager_sees_surveys_of_their_units_only(admin, manager_a):
    api = admin.api()
    api.post_json("/api/v1/surveys", {"name": "A", "unit": "STORE-A", "template": "support_ces"})
    api.post_json("/api/v1/surveys", {"name": "B", "unit": "STORE-B", "template": "support_ces"})
    names = [s["name"] for s in manager_a.api().get("/api/v1/surveys").json()]
    assert names == ["A"]
