"""The journey pages through Django's test client: the map with its cards, the design page's
edits (refused ones change nothing), import and export, the paths page, and who may do what."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from opencem.conftest import Org, Persona
from opencem.journeys.models import Journey, Stage, Touchpoint
from opencem.journeys.tests.factories import journey_doc, make_journey

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('journey')</script>"
PERIOD = "start=2025-01-01&end=2025-06-30"


def _client(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_the_map_shows_stages_cards_the_curve_and_the_gap_ranking(
        data: Org, admin: Persona) -> None:
    journey = make_journey(description=SCRIPT)
    response = _client(admin).get(f"/journeys/{journey.pk}/?{PERIOD}")
    assert response.status_code == 200
    html = response.content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#x27;journey&#x27;)&lt;/script&gt;" in html
    for stage in ("1. Discover", "2. Buy", "5. Renew"):
        assert stage in html
    assert 'class="jcard below significant"' in html  # store checkout, 50% against 80%
    assert "fewer than k responses (n=3)" in html  # the support call
    assert "−30.0 pp" in html or "-30.0 pp" in html
    assert 'id="emotion-chart-data"' in html
    ranking = html[html.index('class="gap-ranking"'):]
    assert ranking.index("Store checkout") < ranking.index("Delivery")


def test_htmx_gets_only_the_map_part(data: Org, admin: Persona) -> None:
    journey = make_journey()
    response = _client(admin).get(f"/journeys/{journey.pk}/?{PERIOD}",
                                  HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="journey-map">')
    assert "<html" not in html


def test_a_bad_period_is_refused_on_the_form(admin: Persona) -> None:
    journey = make_journey()
    response = _client(admin).get(f"/journeys/{journey.pk}/?start=2025-06-01&end=2025-01-01")
    assert response.status_code == 422
    assert "must not be after" in response.content.decode()


def test_a_manager_reads_the_map_but_not_the_design_page(
        data: Org, manager_a: Persona, outsider: Persona) -> None:
    journey = make_journey()
    client = _client(manager_a)
    page = client.get(f"/journeys/{journey.pk}/")
    assert page.status_code == 200
    assert "Edit the map" not in page.content.decode()
    assert client.get(f"/journeys/{journey.pk}/design/").status_code == 403
    stage = Stage.objects.get(journey=journey, name="Buy")
    assert client.post(f"/journeys/stages/{stage.pk}/delete/").status_code == 403
    assert Stage.objects.filter(pk=stage.pk).exists()
    assert _client(outsider).get(f"/journeys/{journey.pk}/").status_code == 404


def test_the_design_page_adds_renames_reorders_and_deletes_stages(admin: Persona) -> None:
    journey = make_journey()
    client = _client(admin)
    assert client.post(f"/journeys/{journey.pk}/stages/", {"name": "Advocate"}).status_code == 302
    advocate = Stage.objects.get(journey=journey, name="Advocate")
    client.post(f"/journeys/stages/{advocate.pk}/rename/", {"name": "Recommend"})
    client.post(f"/journeys/stages/{advocate.pk}/move/", {"direction": "earlier"})
    discover = Stage.objects.get(journey=journey, name="Discover")
    client.post(f"/journeys/stages/{discover.pk}/delete/")
    assert list(journey.stages.values_list("name", flat=True)) == [
        "Buy", "Receive", "Get help", "Recommend", "Renew"]
    refused = client.post(f"/journeys/stages/{advocate.pk}/rename/", {"name": "  "})
    assert refused.status_code == 422
    assert "must not be blank" in refused.content.decode()
    assert Stage.objects.get(pk=advocate.pk).name == "Recommend"


def test_a_touchpoint_is_added_remapped_and_moved_from_its_form(admin: Persona,
                                                                org: Org) -> None:
    journey = make_journey()
    client = _client(admin)
    buy = Stage.objects.get(journey=journey, name="Buy")
    form = {"name": "Online order", "stage": buy.pk, "channel": "web", "owner_unit": "WEB",
            "kinds": "order", "channels": ["web", "app"], "touchpoints": "",
            "attributes": "express=true\nitems=2", "metric": "csat", "target": "80",
            "desired": "Checkout in a minute", "importance": "2"}
    assert client.post(f"/journeys/stages/{buy.pk}/touchpoints/", form).status_code == 302
    order = Touchpoint.objects.get(name="Online order")
    assert order.rule == {"kinds": ["order"], "channels": ["web", "app"], "touchpoints": [],
                          "attributes": {"express": True, "items": 2}}
    receive = Stage.objects.get(journey=journey, name="Receive")
    edit = client.get(f"/journeys/touchpoints/{order.pk}/")
    assert "express=true" in edit.content.decode()
    moved = client.post(f"/journeys/touchpoints/{order.pk}/", {
        **form, "kinds": "order, click_collect", "stage": receive.pk})
    assert moved.status_code == 302
    order.refresh_from_db()
    assert order.stage_id == receive.pk
    assert order.rule["kinds"] == ["order", "click_collect"]
    client.post(f"/journeys/touchpoints/{order.pk}/move/", {"direction": "earlier"})
    assert list(receive.touchpoints.values_list("name", flat=True)) == ["Online order",
                                                                       "Delivery"]


def test_a_refused_touchpoint_shows_why_and_stores_nothing(admin: Persona) -> None:
    journey = make_journey()
    buy = Stage.objects.get(journey=journey, name="Buy")
    response = _client(admin).post(f"/journeys/stages/{buy.pk}/touchpoints/", {
        "name": "Nothing", "stage": buy.pk, "owner_unit": "WEB", "kinds": "order",
        "touchpoints": "", "attributes": "", "metric": "nps", "target": "150",
        "importance": "1"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "a NPS target lies in -100..100" in html
    assert not Touchpoint.objects.filter(name="Nothing").exists()
    empty_rule = _client(admin).post(f"/journeys/stages/{buy.pk}/touchpoints/", {
        "name": "Nothing", "stage": buy.pk, "owner_unit": "WEB", "kinds": "",
        "touchpoints": "", "attributes": "", "metric": "nps", "target": "10",
        "importance": "1"})
    assert empty_rule.status_code == 422
    assert "at least one condition" in empty_rule.content.decode()
    assert not Touchpoint.objects.filter(name="Nothing").exists()


def test_download_and_import_a_journey_file(admin: Persona) -> None:
    journey = make_journey()
    client = _client(admin)
    download = client.get(f"/journeys/{journey.pk}/export.json")
    assert download["Content-Disposition"] == 'attachment; filename="retail.json"'
    document = json.loads(download.content)
    document["name"] = "Retail again"
    upload = SimpleUploadedFile("j.json", json.dumps(document).encode(), "application/json")
    response = client.post("/journeys/import/", {"file": upload})
    assert response.status_code == 302
    assert Journey.objects.filter(name="Retail again").exists()
    bad = SimpleUploadedFile("j.json", b"{not json", "application/json")
    refused = client.post("/journeys/import/", {"file": bad})
    assert refused.status_code == 422
    assert "The file is not JSON." in refused.content.decode()
    wrong = SimpleUploadedFile("j.json", json.dumps(journey_doc(unit="MARS")).encode(),
                               "application/json")
    refused = client.post("/journeys/import/", {"file": wrong})
    assert refused.status_code == 422
    assert "no unit you see has the code" in refused.content.decode()
    assert Journey.objects.count() == 2


def test_a_journey_is_created_from_the_list(admin: Persona, manager_a: Persona) -> None:
    client = _client(admin)
    response = client.post("/journeys/new/", {"name": "Trade", "unit": "ACME",
                                              "persona": "Builder"})
    journey = Journey.objects.get(name="Trade")
    assert response["Location"] == f"/journeys/{journey.pk}/design/"
    assert "New journey" not in _client(manager_a).get("/journeys/").content.decode()


def test_the_paths_page_lists_paths_and_drop_offs(data: Org, admin: Persona) -> None:
    journey = make_journey()
    response = _client(admin).get(f"/journeys/{journey.pk}/paths/?{PERIOD}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Where customers drop off" in html
    assert "Store checkout" in html


def test_chart_labels_carry_names_as_text_not_markup() -> None:
    from opencem.journeys.charts import emotion_chart, sankey_chart  # noqa: PLC0415
    from opencem.journeys.paths import Flow  # noqa: PLC0415
    from opencem.journeys.selectors import EmotionPoint  # noqa: PLC0415

    name = '<a href="https://evil.example">Buy</a> & pay'
    curve = emotion_chart([EmotionPoint(stage=name, measured=10.0, desired=20.0,
                                        sentiment=None, n=7)])
    assert curve["data"][0]["x"] == ['&lt;a href="https://evil.example"&gt;Buy&lt;/a&gt; &amp; pay']
    sankey = sankey_chart([Flow(0, name, None, 9)])
    assert sankey["data"][0]["node"]["label"][0].startswith("1. &lt;a href=")


def test_the_map_reads_the_same_number_of_queries_whatever_its_size(
        data: Org, admin: Persona) -> None:
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    small = make_journey()
    doc = journey_doc(name="Big")
    for stage in doc["stages"]:
        stage["touchpoints"] = stage["touchpoints"] * 4
    big = make_journey(**{k: v for k, v in doc.items() if k != "unit"})
    client = _client(admin)
    counts = []
    for journey in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/journeys/{journey.pk}/?{PERIOD}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
