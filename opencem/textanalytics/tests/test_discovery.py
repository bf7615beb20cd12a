"""Discovery: comments no theme covers become proposals an analyst accepts or rejects."""

from __future__ import annotations

import pytest

from opencem.textanalytics import services
from opencem.textanalytics.discovery import cluster
from opencem.textanalytics.models import Theme, ThemeMention, ThemeProposal
from opencem.textanalytics.tests.factories import feedback

pytestmark = pytest.mark.django_db

PETS = ["They would not let my dog into the shop.", "Dogs should be allowed inside the store.",
        "I had to leave my dog tied up outside.", "Please allow dogs in the shop.",
        "My dog was not welcome in the store.", "The shop refused entry to my dog."]
WEATHER = ["It rained all day.", "The weather was awful on Saturday.",
           "It was raining heavily.", "Snow made the roads icy.", "Such a cold and wet day.",
           "The sun was shining all afternoon."]


def test_similar_comments_cluster_with_keywords():
    found = cluster(PETS + WEATHER, min_size=4)
    assert found
    dogs = next(c for c in found if "dog" in c.keywords)
    assert set(dogs.members) <= set(range(len(PETS)))
    assert len(dogs.members) >= 4
    assert cluster(PETS[:2], min_size=4) == []


def test_an_analyst_discovers_accepts_and_rejects_proposals(org, admin, manager_a):
    for text in PETS + WEATHER:
        feedback(text)
    services.analysis_run_pending()
    assert not ThemeMention.objects.filter(feedback__text__in=PETS).exists()
    api = admin.api()
    assert manager_a.api().post_json("/api/v1/text/proposals/discover", {}).status_code == 403
    response = api.post_json("/api/v1/text/proposals/discover", {})
    assert response.status_code == 201, response.content
    proposals = response.json()
    dogs = next(p for p in proposals if "dog" in p["keywords"])
    assert dogs["size"] >= 4
    accepted = api.post_json(f"/api/v1/text/proposals/{dogs['id']}/accept",
                             {"category": "store", "label": "Dogs in store"})
    assert accepted.status_code == 201, accepted.content
    theme = Theme.objects.get(label="Dogs in store")
    assert "dog" in theme.phrases
    assert ThemeProposal.objects.get(pk=dogs["id"]).status == "accepted"
    again = api.post_json(f"/api/v1/text/proposals/{dogs['id']}/accept", {"category": "store"})
    assert again.status_code == 409
    others = [p for p in proposals if p["id"] != dogs["id"]]
    for p in others:
        assert api.post_json(f"/api/v1/text/proposals/{p['id']}/reject", {}).status_code == 204
    assert api.get("/api/v1/text/proposals").json() == []


def test_the_taxonomy_page_shows_proposals_with_examples(org, admin, client):
    for text in PETS:
        feedback(text)
    services.analysis_run_pending()
    client.force_login(admin.user)
    assert client.post("/text/proposals/discover/").status_code == 302
    html = client.get("/text/taxonomy/").content.decode()
    assert "Proposed themes" in html
    assert "my dog" in html
    proposal = ThemeProposal.objects.filter(status="proposed").first()
    assert proposal is not None
    response = client.post(f"/text/proposals/{proposal.pk}/",
                           {"decision": "accept", "category": "store", "label": "Pets"})
    assert response.status_code == 302
    assert Theme.objects.filter(label="Pets").exists()
