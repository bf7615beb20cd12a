"""The executive, manager and agent dashboards: who sees what, anonymity, escaping."""

from __future__ import annotations

import pytest
from django.test import Client

from opencem.accounts.services import unit_create
from opencem.conftest import Org, Persona
from opencem.customers.models import Interaction
from opencem.dashboards.tests.factories import MARCH, interaction, make_survey, redact, respond

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"


def signed_in(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def north(org: Org) -> Org:
    """Store A: 40 responses (all promoters, satisfied); Store B: 3 (under k = 5); Store C:
    10, hidden as well, since North minus A and C would give B away."""
    store_c = unit_create(code="STORE-C", name="Store C", parent=org.north)
    _, version = make_survey(org.company)
    respond(version, org.store_a, count=40, nps=10, csat=5, comment="Great staff in A")
    respond(version, org.store_b, count=3, nps=0, csat=1, comment="Secret grumble from B")
    respond(version, store_c, count=10, nps=8, csat=4)
    return org


def test_the_executive_dashboard_shows_trend_league_and_hides_small_groups(
        north: Org, admin: Persona) -> None:
    response = signed_in(admin).get(f"/dashboards/executive/?{MARCH}&level=store")
    assert response.status_code == 200
    html = response.content.decode()
    assert "NPS trend" in html
    assert "CSAT trend" in html
    assert 'data-chart="trend-nps-data"' in html
    assert 'id="trend-nps-data"' in html
    league = html[html.index('id="league"'):]
    assert "Store A" in league
    assert "+100.0" in league
    # Store B has 3 respondents: a phrase, never a number.
    for name in ("Store B", "Store C"):
        row = league[league.index(name):league.index("</tr>", league.index(name))]
        assert "fewer than 5 responses" in row
        assert "n=" not in row
    assert "-100.0" not in html
    assert "+60.0" not in html


def test_the_executive_dashboard_is_for_executive_roles_only(
        north: Org, manager_a: Persona, viewer: Persona) -> None:
    assert signed_in(manager_a).get("/dashboards/executive/").status_code == 403
    assert signed_in(viewer).get("/dashboards/executive/").status_code == 403


def test_movers_lists_only_significant_changes(org: Org, admin: Persona) -> None:
    _, version = make_survey(org.company)
    from datetime import UTC, datetime  # noqa: PLC0415

    february = datetime(2025, 2, 10, tzinfo=UTC)
    respond(version, org.store_a, count=30, nps=0, at=february)
    respond(version, org.store_a, count=30, nps=10)  # from -100 to +100: significant
    respond(version, org.store_b, count=30, nps=9, at=february)
    respond(version, org.store_b, count=30, nps=9)  # unchanged
    html = signed_in(admin).get(
        f"/dashboards/executive/?{MARCH}&level=store").content.decode()
    movers = html[html.index('id="movers"'):html.index("</section>", html.index('id="movers"'))]
    assert "Store A" in movers
    assert "significant rise" in movers
    assert "Store B" not in movers


def test_a_manager_sees_only_their_own_store(north: Org, manager_a: Persona) -> None:
    html = signed_in(manager_a).get(f"/dashboards/manager/?{MARCH}").content.decode()
    assert "Store A" in html
    assert "+100.0" in html
    assert "Great staff in A" in html
    assert "Store B" not in html
    assert "Secret grumble" not in html


def test_a_manager_cannot_ask_for_another_store(north: Org, manager_a: Persona) -> None:
    client = signed_in(manager_a)
    for path in ("/dashboards/manager/", "/dashboards/summary/", "/dashboards/explorer/"):
        response = client.get(f"{path}?unit=STORE-B&{MARCH}")
        assert response.status_code == 422, path
        html = response.content.decode()
        assert "Select a valid choice" in html
        assert "Secret grumble" not in html
        assert "-100.0" not in html


def test_comments_of_a_unit_under_k_are_not_shown_even_to_its_region(
        north: Org, admin: Persona) -> None:
    html = signed_in(admin).get(f"/dashboards/manager/?unit=NORTH&{MARCH}").content.decode()
    assert "Great staff in A" in html
    assert "Secret grumble from B" not in html


def test_comments_are_escaped_and_shown_redacted_where_masked(org: Org,
                                                             manager_a: Persona) -> None:
    _, version = make_survey(org.company)
    respond(version, org.store_a, count=5, nps=9, comment=SCRIPT)
    respond(version, org.store_a, count=1, nps=9, comment="Call me on 07700 900123")
    redact("Call me on 07700 900123", "Call me on [phone]")
    html = signed_in(manager_a).get(f"/dashboards/manager/?{MARCH}").content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Call me on [phone]" in html
    assert "07700 900123" not in html


def test_dashboards_answer_htmx_with_the_dashboard_alone(north: Org, admin: Persona) -> None:
    response = signed_in(admin).get(f"/dashboards/executive/?{MARCH}", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="dashboard">')
    assert "<html" not in html


def test_a_bad_period_is_refused_naming_the_field(north: Org, admin: Persona) -> None:
    response = signed_in(admin).get(
        "/dashboards/executive/?since=2025-03-31&until=2025-03-01")
    assert response.status_code == 422
    assert "Must not be before" in response.content.decode()


def test_the_home_link_opens_the_dashboard_of_the_role(
        north: Org, admin: Persona, manager_a: Persona, agent_a: Persona) -> None:
    assert signed_in(admin).get("/dashboards/")["Location"] == "/dashboards/executive/"
    assert signed_in(manager_a).get("/dashboards/")["Location"] == "/dashboards/manager/"
    assert signed_in(agent_a).get("/dashboards/")["Location"] == "/dashboards/agent/"


def test_an_agent_sees_feedback_on_interactions_at_their_units_only(
        org: Org, agent_a: Persona) -> None:
    _, version = make_survey(org.company)
    call = interaction(org.store_a)
    respond(version, org.store_a, nps=2, comment=f"Kept waiting {SCRIPT}", interaction_id=call)
    respond(version, org.store_b, nps=3, comment="Rude at B",
            interaction_id=interaction(org.store_b, email="bo@example.com"))
    respond(version, org.store_a, nps=9, comment="Not about an interaction")
    html = signed_in(agent_a).get("/dashboards/agent/").content.decode()
    assert "Kept waiting" in html
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html
    assert "Rude at B" not in html
    assert "Not about an interaction" not in html
    caller = Interaction.objects.get(pk=call).customer_id
    assert f'href="/customers/{caller}/"' in html  # the caller's 360, from the interaction


def test_the_agent_view_pages_older_responses_for_htmx(org: Org, agent_a: Persona) -> None:
    _, version = make_survey(org.company)
    call = interaction(org.store_a)
    respond(version, org.store_a, count=30, nps=5, interaction_id=call)
    client = signed_in(agent_a)
    first = client.get("/dashboards/agent/").content.decode()
    assert first.count('id="response-') == 25
    cursor = first.split("?cursor=")[1].split('"')[0]
    more = client.get(f"/dashboards/agent/?cursor={cursor}", HTTP_HX_REQUEST="true")
    assert more.content.decode().count('id="response-') == 5
    assert "<html" not in more.content.decode()


def test_someone_without_a_role_gets_no_dashboard(outsider: Persona) -> None:
    client = signed_in(outsider)
    for path in ("/dashboards/manager/", "/dashboards/agent/", "/dashboards/explorer/"):
        assert client.get(path).status_code == 403, path


def test_plotly_is_served_from_the_package_with_long_cache_headers(client: Client) -> None:
    from opencem.dashboards.staticfiles import STATIC_PATH  # noqa: PLC0415

    response = client.get(f"/static/{STATIC_PATH}")
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert b"plotly.js v" in body[:200]


def test_collectstatic_copies_plotly_under_its_versioned_name(settings: object,
                                                              tmp_path: object) -> None:
    from pathlib import Path  # noqa: PLC0415

    from django.core.management import call_command  # noqa: PLC0415

    from opencem.dashboards.staticfiles import SOURCE, STATIC_PATH  # noqa: PLC0415

    settings.STATIC_ROOT = str(tmp_path)  # type: ignore[attr-defined]
    call_command("collectstatic", interactive=False, verbosity=0)
    copied = Path(str(tmp_path)) / STATIC_PATH
    assert copied.read_bytes() == SOURCE.read_bytes()
