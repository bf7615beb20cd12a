"""The explorer and taxonomy pages, server-side: scope, escaping, highlighting, editing."""

from __future__ import annotations

import pytest

from opencem.textanalytics import services
from opencem.textanalytics.explorer import Segment, segments
from opencem.textanalytics.models import Theme
from opencem.textanalytics.tests.factories import feedback

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"


def _client(client, persona):
    client.force_login(persona.user)
    return client


def test_segments_cut_the_text_at_its_mentions():
    text = "Great staff. The sofa was broken."
    assert segments(text, [(13, 33, "Damage", "negative"), (13, 33, "Quality", "negative")]) == [
        Segment("Great staff. "), Segment("The sofa was broken.", ("Damage", "Quality"),
                                          "negative")]
    assert segments(text, [(40, 50, "Out of range", "neutral")]) == [Segment(text)]


def test_the_explorer_lists_scope_only_escaped_with_mentions_marked(org, client, manager_a):
    feedback(f"The sofa arrived damaged {SCRIPT}. Call 07700 900123")
    feedback("Store B was dirty", unit="STORE-B")
    services.analysis_run_pending()
    page = _client(client, manager_a).get("/text/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "07700" not in html
    assert "[PHONE]" in html
    assert '<mark class="mention s-negative"' in html
    assert "Store B was dirty" not in html
    filtered = client.get("/text/", {"sentiment": "positive"}).content.decode()
    assert "sofa" not in filtered
    assert client.get("/text/", {"sentiment": "bad"}).status_code == 422


def test_readers_with_pii_rights_may_open_the_text_as_written(org, client, agent_a):
    feedback("Call 07700 900123 about the broken sofa")
    services.analysis_run_pending()
    html = _client(client, agent_a).get("/text/").content.decode()
    assert "As written" in html
    assert "07700 900123" in html


def test_an_analyst_adds_and_edits_a_theme_on_the_taxonomy_page(org, client, admin):
    c = _client(client, admin)
    assert "Re-analyse every comment" in c.get("/text/taxonomy/").content.decode()
    response = c.post("/text/taxonomy/themes/", {"category": "delivery", "label": "Parcel lockers",
                                                 "phrases": "locker*\nparcel box",
                                                 "semantic": "on", "active": "on"})
    assert response.status_code == 302
    theme = Theme.objects.get(label="Parcel lockers")
    assert theme.phrases == ["locker*", "parcel box"]
    edit = c.post(f"/text/taxonomy/themes/{theme.pk}/", {"category": "delivery", "label": "",
                                                         "phrases": "locker*"})
    assert edit.status_code == 422
    assert c.post("/text/reanalyze/").status_code == 302


def test_a_manager_reads_the_taxonomy_but_cannot_change_it(org, client, manager_a):
    c = _client(client, manager_a)
    html = c.get("/text/taxonomy/").content.decode()
    assert "Damaged or wrong items" in html
    assert "Add a theme" not in html
    response = c.post("/text/taxonomy/themes/", {"category": "delivery", "label": "Sneaky",
                                                 "phrases": "x"})
    assert response.status_code == 422
    assert not Theme.objects.filter(label="Sneaky").exists()
