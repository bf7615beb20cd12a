"""The journey pages in a real headless Chromium against a live server: the map with its
emotion curve drawn by plotly.js, the period changed through htmx, editing the map with its
forms, the Sankey diagram of paths, and the exports (PNG drawn in the browser, print to PDF).
axe-core finds no serious accessibility violation, and no customer text runs as script."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from opencem.conftest import Org, Persona, Session
from opencem.journeys.models import Stage, Touchpoint
from opencem.journeys.tests.factories import make_journey
from opencem.surveys.tests.test_public_browser import serious_violations

if TYPE_CHECKING:
    from playwright.sync_api import Page

Shoot = Callable[["Page", str], None]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>alert('journeys')</script>"
PERIOD = "start=2025-01-01&end=2025-06-30"


def test_the_map_draws_cards_and_the_emotion_curve_and_changes_period_with_htmx(
        session: Session, data: Org, admin: Persona, screenshot: Shoot) -> None:
    journey = make_journey(persona=SCRIPT)
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.get_by_role("link", name="Journeys").click()
    page.get_by_role("link", name="Retail", exact=True).click()
    expect(page.get_by_role("heading", name="Retail")).to_be_visible()
    page.goto(session.url(f"/journeys/{journey.pk}/?{PERIOD}"))
    expect(page.locator("#emotion-chart.drawn")).to_be_visible()
    expect(page.locator(".jstage")).to_have_count(5)
    checkout = page.locator("article.jcard", has_text="Store checkout")
    expect(checkout).to_have_class("jcard below significant")
    expect(checkout).to_contain_text("50.0%")
    expect(page.locator(".gap-ranking li").first).to_contain_text("Store checkout")
    expect(page.get_by_text(SCRIPT)).to_be_visible()  # shown as text, not run
    screenshot(page, "journey-map")
    assert serious_violations(page) == []
    page.get_by_label("From").fill("2025-04-01")
    page.get_by_role("button", name="Show").click()
    expect(checkout).to_contain_text("no responses")
    assert "start=2025-04-01" in page.url  # the period can be bookmarked
    expect(page.locator("#emotion-chart.drawn")).to_be_visible()
    assert session.dialogs == []


def test_the_map_exports_a_png_and_prints_without_its_controls(
        session: Session, data: Org, admin: Persona) -> None:
    journey = make_journey()
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url(f"/journeys/{journey.pk}/?{PERIOD}"))
    expect(page.locator("#emotion-chart.drawn")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Emotion curve as PNG").click()
    assert download.value.suggested_filename == "retail-emotion.png"
    path = download.value.path()
    with open(path, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as download:
        page.get_by_role("button", name="Map as PNG").click()
    assert download.value.suggested_filename == "retail.png"
    with open(download.value.path(), "rb") as png:
        data = png.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # The whole map, not a blank canvas: wide enough for five stages, and drawn on.
    width = int.from_bytes(data[16:20], "big")
    assert width >= 2 * 5 * 200
    inked = page.evaluate("""async (url) => {
        const image = new Image();
        image.src = url;
        await image.decode();
        const canvas = document.createElement("canvas");
        canvas.width = image.width; canvas.height = image.height;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        const pixels = context.getImageData(0, 0, image.width, image.height).data;
        let inked = 0;
        for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i] < 200 || pixels[i + 1] < 200 || pixels[i + 2] < 200) { inked++; }
        }
        return inked / (pixels.length / 4);
    }""", "data:image/png;base64," + base64.b64encode(data).decode())
    assert inked > 0.01
    if os.environ.get("OPENCEM_SCREENSHOTS"):
        Path(os.environ["OPENCEM_SCREENSHOTS"], "journey-map-export.png").write_bytes(data)
    assert session.dialogs == []
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    expect(page.locator(".jstage").first).to_be_visible()
    pdf = page.pdf(format="A4", landscape=True)
    assert pdf.startswith(b"%PDF")


def test_an_analyst_edits_the_map_in_the_browser(
        session: Session, org: Org, admin: Persona, screenshot: Shoot) -> None:
    journey = make_journey()
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url(f"/journeys/{journey.pk}/"))
    page.get_by_role("link", name="Edit the map").click()
    assert serious_violations(page) == []
    page.get_by_label("Stage name").fill("Advocate")
    page.get_by_role("button", name="Add stage").click()
    expect(page.get_by_role("heading", name="6. Advocate")).to_be_visible()
    page.get_by_label("Name of stage Advocate").fill("Recommend")
    page.get_by_role("button", name="Rename Advocate").click()
    expect(page.get_by_role("heading", name="6. Recommend")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"Earlier\W+Recommend")).click()
    expect(page.get_by_role("heading", name="5. Recommend")).to_be_visible()
    page.get_by_role("link", name="Add a touchpoint to Recommend").click()
    page.get_by_label("Name", exact=True).fill("Review written")
    page.get_by_label("Owner unit").select_option("WEB")
    page.get_by_label("Interaction kinds").fill("review")
    page.get_by_label("Metric").select_option("nps")
    page.get_by_label("Target", exact=True).fill("150")
    page.get_by_role("button", name="Save touchpoint").click()
    expect(page.get_by_text("a NPS target lies in -100..100")).to_be_visible()
    page.get_by_label("Target", exact=True).fill("40")
    page.get_by_role("button", name="Save touchpoint").click()
    expect(page.get_by_text("Review written is added.")).to_be_visible()
    tp = Touchpoint.objects.get(name="Review written")
    assert tp.stage.name == "Recommend"
    assert tp.rule["kinds"] == ["review"]
    page.get_by_role("link", name="Edit Store checkout").click()
    page.get_by_label("Interaction kinds").fill("purchase, click_collect")
    page.get_by_role("button", name="Save touchpoint").click()
    expect(page.get_by_text("Store checkout is saved.")).to_be_visible()
    assert Touchpoint.objects.get(name="Store checkout").rule["kinds"] == [
        "purchase", "click_collect"]
    screenshot(page, "journey-design")
    assert serious_violations(page) == []
    assert list(Stage.objects.filter(journey=journey).values_list("name", flat=True)) == [
        "Discover", "Buy", "Receive", "Get help", "Recommend", "Renew"]


def test_the_paths_page_draws_the_sankey_diagram(
        session: Session, data: Org, admin: Persona, screenshot: Shoot) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from opencem.journeys.tests.factories import AT, contact  # noqa: PLC0415

    for i in range(6):
        email = f"walker{i}@example.com"
        contact(data.web, kind="session", channel="web", email=email)
        contact(data.store_a, kind="purchase", email=email, at=AT + timedelta(hours=3))
    journey = make_journey()
    page = session.page
    session.sign_in("admin", "pw-admin")
    page.goto(session.url(f"/journeys/{journey.pk}/paths/?{PERIOD}"))
    expect(page.locator("#sankey-chart.drawn")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("Browse → Store checkout")
    screenshot(page, "journey-paths")
    assert serious_violations(page) == []
    assert session.dialogs == []
