"""Targets and the anonymity threshold set on the settings page, the perception gap, the
digest opt-out, and the same through the API."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from opencem.accounts.choices import Role
from opencem.accounts.services import membership_grant
from opencem.conftest import Org, Persona
from opencem.dashboards.models import DigestPreference, PerceptionEstimate
from opencem.dashboards.tests.factories import MARCH, make_survey, respond
from opencem.metrics.models import MetricTarget, OrganisationPolicy

pytestmark = pytest.mark.django_db


def signed_in(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def scores(org: Org) -> Org:
    """Store A: NPS 40 from 20 respondents (12 promoters, 4 passives, 4 detractors), and 7
    respondents at Store B."""
    _, version = make_survey(org.company)
    respond(version, org.store_a, count=12, nps=10, csat=5)
    respond(version, org.store_a, count=4, nps=7, csat=4)
    respond(version, org.store_a, count=4, nps=2, csat=2)
    respond(version, org.store_b, count=7, nps=9, csat=5)
    return org


def test_an_admin_sets_a_target_that_the_managers_dashboard_tests(
        scores: Org, admin: Persona, manager_a: Persona) -> None:
    response = signed_in(admin).post("/dashboards/settings/targets/",
                                     {"unit": "NORTH", "metric": "nps", "value": "85"})
    assert response.status_code == 302
    assert MetricTarget.objects.get().value == 85
    html = signed_in(manager_a).get(f"/dashboards/manager/?{MARCH}").content.decode()
    targets = html[html.index('id="targets"'):html.index("</section>", html.index('id="targets"'))]
    assert "+85.0" in targets
    assert "+40.0" in targets
    assert "significant fall" in targets


def test_a_target_out_of_range_is_refused_on_its_field(scores: Org, admin: Persona) -> None:
    response = signed_in(admin).post("/dashboards/settings/targets/",
                                     {"unit": "NORTH", "metric": "csat", "value": "140"})
    assert response.status_code == 422
    assert "must be a number from 0 to 100" in response.content.decode()
    assert not MetricTarget.objects.exists()


def test_a_manager_may_not_set_targets(scores: Org, manager_a: Persona) -> None:
    response = signed_in(manager_a).post("/dashboards/settings/targets/",
                                         {"unit": "STORE-A", "metric": "nps", "value": "50"})
    assert response.status_code == 422
    assert not MetricTarget.objects.exists()
    assert "Admins and analysts of a unit set its targets" in signed_in(manager_a).get(
        "/dashboards/settings/").content.decode()


def test_an_admin_removes_a_target(scores: Org, admin: Persona) -> None:
    client = signed_in(admin)
    client.post("/dashboards/settings/targets/", {"unit": "NORTH", "metric": "nps",
                                                  "value": "70"})
    response = client.post("/dashboards/settings/targets/clear/",
                           {"unit": "NORTH", "metric": "nps"})
    assert response.status_code == 302
    assert not MetricTarget.objects.exists()


def test_raising_k_hides_groups_that_were_shown(scores: Org, admin: Persona,
                                                manager_b: Persona) -> None:
    client = signed_in(manager_b)
    assert "n=7" in client.get(f"/dashboards/manager/?{MARCH}").content.decode()
    response = signed_in(admin).post("/dashboards/settings/anonymity/",
                                     {"organisation": "ACME", "k": "10"})
    assert response.status_code == 302
    assert OrganisationPolicy.objects.get().anonymity_k == 10
    html = client.get(f"/dashboards/manager/?{MARCH}").content.decode()
    assert "n=7" not in html
    assert "fewer than 10 responses" in html


def test_k_cannot_go_below_the_installations_minimum(scores: Org, admin: Persona) -> None:
    response = signed_in(admin).post("/dashboards/settings/anonymity/",
                                     {"organisation": "ACME", "k": "2"})
    assert response.status_code == 422
    assert "must be a whole number from 5" in response.content.decode()
    assert not OrganisationPolicy.objects.exists()


def test_only_admins_change_k(scores: Org, manager_a: Persona) -> None:
    client = signed_in(manager_a)
    assert "Save threshold" not in client.get("/dashboards/settings/").content.decode()
    response = client.post("/dashboards/settings/anonymity/", {"organisation": "ACME", "k": "9"})
    assert response.status_code == 403
    assert not OrganisationPolicy.objects.exists()


def test_a_manager_records_an_expected_score_and_sees_the_gap(
        scores: Org, manager_a: Persona) -> None:
    client = signed_in(manager_a)
    response = client.post("/dashboards/manager/perception/", {
        "unit": "STORE-A", "metric": "nps", "month": "2025-03", "expected": "90"})
    assert response.status_code == 302
    estimate = PerceptionEstimate.objects.get()
    assert (estimate.month, estimate.expected) == (date(2025, 3, 1), 90.0)
    html = client.get(f"/dashboards/manager/?{MARCH}").content.decode()
    gap = html[html.index('id="perception"'):]
    assert "+90.0" in gap
    assert "+40.0" in gap
    assert "-50.0" in gap
    assert "outside the 95% interval" in gap


def test_recording_again_replaces_the_estimate(scores: Org, manager_a: Persona) -> None:
    client = signed_in(manager_a)
    for value in ("75", "45"):
        client.post("/dashboards/manager/perception/", {
            "unit": "STORE-A", "metric": "nps", "month": "2025-03", "expected": value})
    assert list(PerceptionEstimate.objects.values_list("expected", flat=True)) == [45.0]


def test_expected_scores_are_kept_within_scope_and_range(
        scores: Org, manager_a: Persona, viewer: Persona) -> None:
    client = signed_in(manager_a)
    other = client.post("/dashboards/manager/perception/", {
        "unit": "STORE-B", "metric": "nps", "month": "2025-03", "expected": "75"})
    assert other.status_code == 422
    assert "Select a valid choice" in other.content.decode()
    wild = client.post("/dashboards/manager/perception/", {
        "unit": "STORE-A", "metric": "nps", "month": "2025-03", "expected": "150"})
    assert wild.status_code == 422
    assert "must be a number from -100 to 100" in wild.content.decode()
    by_viewer = signed_in(viewer).post("/dashboards/manager/perception/", {
        "unit": "STORE-A", "metric": "nps", "month": "2025-03", "expected": "75"})
    assert by_viewer.status_code == 422
    assert not PerceptionEstimate.objects.exists()


def test_a_manager_removes_only_their_own_estimate(scores: Org, manager_a: Persona,
                                                   admin: Persona) -> None:
    signed_in(admin).post("/dashboards/manager/perception/", {
        "unit": "STORE-A", "metric": "nps", "month": "2025-03", "expected": "90"})
    theirs = PerceptionEstimate.objects.get()
    response = signed_in(manager_a).post(f"/dashboards/manager/perception/{theirs.pk}/delete/")
    assert response.status_code == 302
    assert PerceptionEstimate.objects.filter(pk=theirs.pk).exists()


def test_a_user_opts_out_of_the_digest_and_back_in(scores: Org, manager_a: Persona) -> None:
    client = signed_in(manager_a)
    assert client.post("/dashboards/settings/digest/", {}).status_code == 302
    assert DigestPreference.objects.get(user=manager_a.user).weekly is False
    client.post("/dashboards/settings/digest/", {"weekly": "on"})
    assert DigestPreference.objects.get(user=manager_a.user).weekly is True


# --- the API -------------------------------------------------------------------------------------


def test_the_api_records_and_lists_expected_scores(scores: Org, manager_a: Persona) -> None:
    api = manager_a.api()
    response = api.put("/api/v1/dashboards/perception", {
        "unit": "STORE-A", "metric": "nps", "month": "2025-03", "expected": 70},
        content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["actual"]["value"] == pytest.approx(40.0)
    # 70 lies inside 40 ± 35.1: customers may well think that.
    assert body["gap"] == pytest.approx(-30.0)
    assert body["significant"] is False
    listed = api.get("/api/v1/dashboards/perception").json()
    assert [row["unit"] for row in listed] == ["STORE-A"]


def test_the_api_refuses_expected_scores_outside_scope(scores: Org, manager_a: Persona) -> None:
    response = manager_a.api().put("/api/v1/dashboards/perception", {
        "unit": "STORE-B", "metric": "nps", "month": "2025-03", "expected": 75},
        content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"]["errors"][0]["field"] == "unit"
    bad_month = manager_a.api().put("/api/v1/dashboards/perception", {
        "unit": "STORE-A", "metric": "nps", "month": "March", "expected": 75},
        content_type="application/json")
    assert bad_month.status_code == 422
    assert bad_month.json()["error"]["errors"][0]["field"] == "month"


def test_a_viewer_may_not_record_expected_scores_through_the_api(
        scores: Org, viewer: Persona) -> None:
    response = viewer.api().put("/api/v1/dashboards/perception", {
        "unit": "STORE-A", "metric": "nps", "month": "2025-03", "expected": 75},
        content_type="application/json")
    assert response.status_code == 403


def test_the_api_reads_and_sets_the_digest_preference(scores: Org, manager_a: Persona) -> None:
    api = manager_a.api()
    assert api.get("/api/v1/me/digest").json() == {"weekly": True}
    response = api.put("/api/v1/me/digest", {"weekly": False},
                       content_type="application/json")
    assert response.json() == {"weekly": False}
    assert api.get("/api/v1/me/digest").json() == {"weekly": False}


def test_a_manager_of_two_stores_picks_among_them(scores: Org, manager_a: Persona) -> None:
    membership_grant(user=manager_a.user, unit=scores.store_b, role=Role.MANAGER)
    html = signed_in(manager_a).get(f"/dashboards/manager/?unit=STORE-B&{MARCH}").content.decode()
    assert "Store B" in html
    assert "n=7" in html
