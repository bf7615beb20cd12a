"""The text analytics API: analyses, search, summary, the taxonomy and re-analysis."""

from __future__ import annotations

import pytest

from opencem.textanalytics import services
from opencem.textanalytics.models import Analysis, Theme
from opencem.textanalytics.tests.factories import feedback

pytestmark = pytest.mark.django_db

COMPLAINT = "The sofa arrived damaged. Call me on 07700 900123."


@pytest.fixture
def analysed(org):
    ids = {"a": feedback(COMPLAINT),
           "b": feedback("The staff were friendly and helpful, thank you!", unit="STORE-B")}
    services.analysis_run_pending()
    return ids


def test_an_items_analysis_is_read_in_scope_with_text_by_pii_rights(analysed, manager_a,
                                                                     admin, manager_b):
    url = f"/api/v1/feedback/{analysed['a']}/analysis"
    body = manager_a.api().get(url).json()
    assert body["sentiment"] == "negative"
    assert body["text"] == body["redacted_text"] == "The sofa arrived damaged. Call me on [PHONE]."
    assert body["pii"] == ["PHONE"]
    (damage,) = [m for m in body["mentions"] if m["theme"] == "delivery.damage"]
    assert body["redacted_text"][damage["start"]:damage["end"]] == "The sofa arrived damaged."
    assert admin.api().get(url).json()["text"] == COMPLAINT
    assert manager_b.api().get(url).status_code == 404


def test_search_filters_by_words_theme_sentiment_and_pillar(analysed, admin, manager_a):
    api = admin.api()

    def ids(**params):
        response = api.get("/api/v1/text/search", params)
        assert response.status_code == 200, response.content
        return [i["feedback_id"] for i in response.json()["items"]]

    assert sorted(ids()) == sorted(analysed.values())
    assert ids(theme="delivery.damage") == [analysed["a"]]
    assert ids(sentiment="positive") == [analysed["b"]]
    assert ids(q="SOFA") == [analysed["a"]]
    assert ids(pillar="empathy") == [analysed["b"]]
    assert ids(unit="STORE-B") == [analysed["b"]]
    assert ids(emotion="gratitude") == [analysed["b"]]
    # Without PII rights nobody finds a comment by the personal data they may not read.
    assert manager_a.api().get("/api/v1/text/search", {"q": "07700"}).json()["items"] == []
    assert ids(q="07700") == [analysed["a"]]
    bad = api.get("/api/v1/text/search", {"sentiment": "furious"})
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["loc"] == ["sentiment"]


def test_the_summary_counts_sentiment_and_themes_in_scope(analysed, manager_a):
    body = manager_a.api().get("/api/v1/text/summary").json()
    assert body["sentiment"]["analysed"] == 1
    assert body["sentiment"]["negative"] == 1
    assert "delivery.damage" in [t["code"] for t in body["themes"]]


def test_analysts_edit_the_taxonomy_and_others_may_not(org, admin, manager_a):
    api = admin.api()
    created = api.post_json("/api/v1/text/categories", {"label": "Pets"})
    assert created.status_code == 201, created.content
    theme = api.post_json("/api/v1/text/themes", {
        "category": "pets", "label": "Dog friendly", "phrases": ["dog*", "pet friendly"],
        "exclusions": ["hot dog"]})
    assert theme.status_code == 201, theme.content
    body = theme.json()
    assert (body["code"], body["phrases"]) == ("pets.dog-friendly", ["dog*", "pet friendly"])
    changed = api.put(f"/api/v1/text/themes/{body['id']}", {
        "category": "pets", "label": "Pets welcome", "phrases": ["dog*"], "active": False},
        content_type="application/json")
    assert changed.status_code == 200, changed.content
    assert Theme.objects.get(pk=body["id"]).label == "Pets welcome"
    taxonomy = api.get("/api/v1/text/taxonomy").json()
    assert "pets" in [c["code"] for c in taxonomy]

    refused = manager_a.api().post_json("/api/v1/text/themes", {"category": "pets",
                                                                 "label": "Cats"})
    assert refused.status_code == 403
    duplicate = api.post_json("/api/v1/text/categories", {"label": "Pets"})
    assert duplicate.status_code == 409
    unknown = api.post_json("/api/v1/text/themes", {"category": "nope", "label": "X"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["errors"][0]["loc"] == ["category"]
    assert not Theme.objects.filter(label__in=["Cats", "X"]).exists()


def test_reanalysis_is_asked_for_by_analysts_only(analysed, admin, manager_a):
    assert manager_a.api().post_json("/api/v1/text/reanalyze", {}).status_code == 403
    response = admin.api().post_json("/api/v1/text/reanalyze", {})
    assert response.status_code == 202
    assert response.json() == {"marked": 2}
    assert Analysis.objects.filter(stale=True).count() == 2
