"""The settings pages through the Django test client: who may use them, and what they refuse."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.models import ApiKey, Membership, Unit
from opencem.accounts.services import membership_grant, user_create
from opencem.accounts.tests.conftest import ingest
from opencem.conftest import Org, Persona

pytestmark = pytest.mark.django_db

SETTINGS_ADMIN_PAGES = ["unit_list", "user_list"]


def signed_in(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def north_admin(org: Org) -> Persona:
    """An administrator of the NORTH region only (STORE-A and STORE-B below it)."""
    user = user_create(username="north_admin", email="north@acme.test", password="pw-north")
    membership_grant(user=user, unit=org.north, role=Role.ADMIN)
    return Persona(user, "")


# --- who may open what ---------------------------------------------------------------------


@pytest.mark.parametrize("page", SETTINGS_ADMIN_PAGES)
@pytest.mark.parametrize("who", ["manager_a", "agent_a", "viewer", "outsider"])
def test_non_admins_are_refused_the_admin_pages(request: pytest.FixtureRequest, who: str,
                                                page: str) -> None:
    persona: Persona = request.getfixturevalue(who)
    client = signed_in(persona)
    assert client.get(reverse(page)).status_code == 403
    assert client.post(reverse(page), {"code": "X", "name": "X"}).status_code == 403


def test_non_admins_are_refused_unit_edit_and_user_pages(manager_a: Persona, org: Org,
                                                         agent_a: Persona) -> None:
    client = signed_in(manager_a)
    assert client.get(reverse("unit_edit", args=[org.store_a.pk])).status_code == 403
    assert client.get(reverse("user_detail", args=[agent_a.user.pk])).status_code == 403
    response = client.post(reverse("user_set_active", args=[agent_a.user.pk]), {"active": "0"})
    assert response.status_code == 403
    agent_a.user.refresh_from_db()
    assert agent_a.user.is_active


@pytest.mark.parametrize("page", [*SETTINGS_ADMIN_PAGES, "apikey_list"])
def test_anonymous_visitors_are_sent_to_sign_in(page: str, org: Org) -> None:
    response = Client().get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_nav_shows_admin_links_only_to_admins(admin: Persona, manager_a: Persona) -> None:
    admin_page = signed_in(admin).get(reverse("home")).content.decode()
    manager_page = signed_in(manager_a).get(reverse("home")).content.decode()
    for html in (admin_page, manager_page):
        assert reverse("apikey_list") in html
    assert reverse("unit_list") in admin_page
    assert reverse("user_list") in admin_page
    assert reverse("unit_list") not in manager_page
    assert reverse("user_list") not in manager_page


def test_admin_sees_the_whole_tree(admin: Persona) -> None:
    html = signed_in(admin).get(reverse("unit_list")).content.decode()
    for code in ("ACME", "NORTH", "STORE-A", "STORE-B", "WEB"):
        assert f'id="unit-{code}"' in html


def test_subtree_admin_sees_only_their_subtree(north_admin: Persona) -> None:
    html = signed_in(north_admin).get(reverse("unit_list")).content.decode()
    for code in ("NORTH", "STORE-A", "STORE-B"):
        assert f'id="unit-{code}"' in html
    for code in ("ACME", "WEB"):
        assert f'id="unit-{code}"' not in html


# --- units ---------------------------------------------------------------------------------


def test_admin_creates_a_unit_under_a_parent(admin: Persona, org: Org) -> None:
    response = signed_in(admin).post(reverse("unit_list"), {
        "parent": org.north.pk, "code": "STORE-C", "name": "Store C", "kind": UnitKind.STORE})
    assert response.status_code == 302
    unit = Unit.objects.get(code="STORE-C")
    assert unit.parent_id == org.north.pk
    assert unit.path == f"{org.north.path}{unit.pk}/"


def test_subtree_admin_cannot_create_a_unit_outside_it(north_admin: Persona, org: Org) -> None:
    client = signed_in(north_admin)
    for parent in (org.company, org.web):
        response = client.post(reverse("unit_list"), {
            "parent": parent.pk, "code": "ROGUE", "name": "Rogue", "kind": UnitKind.STORE})
        assert response.status_code == 422
        assert "Select a valid choice" in response.content.decode()
    assert not Unit.objects.filter(code="ROGUE").exists()


def test_subtree_admin_creates_inside_it(north_admin: Persona, org: Org) -> None:
    response = signed_in(north_admin).post(reverse("unit_list"), {
        "parent": org.store_a.pk, "code": "A-TILLS", "name": "Tills", "kind": UnitKind.TEAM})
    assert response.status_code == 302
    assert Unit.objects.get(code="A-TILLS").parent_id == org.store_a.pk


def test_subtree_admin_cannot_move_a_unit_outside_it(north_admin: Persona, org: Org) -> None:
    response = signed_in(north_admin).post(reverse("unit_edit", args=[org.store_a.pk]), {
        "name": "Store A", "kind": UnitKind.STORE, "parent": org.web.pk})
    assert response.status_code == 422
    org.store_a.refresh_from_db()
    assert org.store_a.parent_id == org.north.pk


def test_subtree_admin_cannot_edit_a_unit_outside_it(north_admin: Persona, org: Org) -> None:
    response = signed_in(north_admin).post(reverse("unit_edit", args=[org.web.pk]), {
        "name": "Hijacked", "kind": UnitKind.CHANNEL, "parent": org.north.pk})
    assert response.status_code == 404
    org.web.refresh_from_db()
    assert org.web.name == "Web shop"


def test_subtree_admin_renames_the_top_of_their_subtree(north_admin: Persona, org: Org) -> None:
    """The current parent (outside the scope) stays a valid choice, so renaming works."""
    response = signed_in(north_admin).post(reverse("unit_edit", args=[org.north.pk]), {
        "name": "North & Islands", "kind": UnitKind.REGION, "parent": org.company.pk})
    assert response.status_code == 302
    org.north.refresh_from_db()
    assert org.north.name == "North & Islands"
    assert org.north.parent_id == org.company.pk


def test_admin_moves_a_unit_with_its_subtree(admin: Persona, org: Org) -> None:
    response = signed_in(admin).post(reverse("unit_edit", args=[org.north.pk]), {
        "name": "North", "kind": UnitKind.REGION, "parent": org.web.pk})
    assert response.status_code == 302
    org.store_a.refresh_from_db()
    assert org.store_a.path.startswith(f"{org.web.path}{org.north.pk}/")


def test_a_unit_cannot_move_under_its_own_descendant(admin: Persona, org: Org) -> None:
    response = signed_in(admin).post(reverse("unit_edit", args=[org.north.pk]), {
        "name": "North", "kind": UnitKind.REGION, "parent": org.store_a.pk})
    assert response.status_code == 422
    org.north.refresh_from_db()
    assert org.north.parent_id == org.company.pk


def test_a_duplicate_unit_code_shows_an_error_and_changes_nothing(admin: Persona,
                                                                  org: Org) -> None:
    before = Unit.objects.count()
    response = signed_in(admin).post(reverse("unit_list"), {
        "parent": org.north.pk, "code": "STORE-A", "name": "Again", "kind": UnitKind.STORE})
    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    assert Unit.objects.count() == before


def test_a_bad_unit_code_shows_an_error(admin: Persona, org: Org) -> None:
    response = signed_in(admin).post(reverse("unit_list"), {
        "parent": org.north.pk, "code": "has space", "name": "X", "kind": UnitKind.STORE})
    assert response.status_code == 422
    assert "letters, digits" in response.content.decode()
    assert not Unit.objects.filter(name="X").exists()


# --- users and memberships -----------------------------------------------------------------


def test_admin_creates_a_user_with_a_password_and_a_membership(admin: Persona,
                                                               org: Org) -> None:
    response = signed_in(admin).post(reverse("user_list"), {
        "username": "carla", "email": "carla@acme.test", "password": "a-long-Passphrase-9",
        "unit": org.store_b.pk, "role": Role.MANAGER})
    assert response.status_code == 302
    carla = User.objects.get(username="carla")
    assert carla.check_password("a-long-Passphrase-9")
    assert list(carla.memberships.values_list("unit__code", "role")) == [
        ("STORE-B", Role.MANAGER)]
    assert mail.outbox == []


def test_a_user_without_password_is_emailed_a_link_to_set_one(admin: Persona,
                                                              org: Org) -> None:
    response = signed_in(admin).post(reverse("user_list"), {
        "username": "dan", "email": "Dan@Acme.test", "password": "",
        "unit": org.store_a.pk, "role": Role.AGENT})
    assert response.status_code == 302
    dan = User.objects.get(username="dan")
    assert not dan.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dan@acme.test"]
    link = re.search(r"https?://[^/\s]+(/reset/\S+/)", message.body)
    assert link is not None
    client = Client()
    # The reset view swaps the token for a session marker and redirects once.
    set_page = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in set_page.content
    done = client.post(set_page.redirect_chain[-1][0], {
        "new_password1": "Brand-new-secret-42", "new_password2": "Brand-new-secret-42"})
    assert done.status_code == 302
    dan.refresh_from_db()
    assert dan.check_password("Brand-new-secret-42")


def test_user_creation_needs_an_email_or_a_password(admin: Persona, org: Org) -> None:
    response = signed_in(admin).post(reverse("user_list"), {
        "username": "nobody", "email": "", "password": "", "unit": org.store_a.pk,
        "role": Role.VIEWER})
    assert response.status_code == 422
    assert "Give an email address, or a password" in response.content.decode()
    assert not User.objects.filter(username="nobody").exists()


def test_a_weak_password_or_taken_username_is_refused(admin: Persona, org: Org) -> None:
    client = signed_in(admin)
    weak = client.post(reverse("user_list"), {
        "username": "erin", "email": "", "password": "123", "unit": org.store_a.pk,
        "role": Role.VIEWER})
    assert weak.status_code == 422
    assert "too short" in weak.content.decode()
    taken = client.post(reverse("user_list"), {
        "username": "ADMIN", "email": "x@acme.test", "password": "",
        "unit": org.store_a.pk, "role": Role.VIEWER})
    assert taken.status_code == 422
    assert "is taken" in taken.content.decode()
    assert not User.objects.filter(username="erin").exists()
    assert mail.outbox == []


def test_subtree_admin_cannot_grant_roles_outside_it(north_admin: Persona, manager_a: Persona,
                                                     org: Org) -> None:
    client = signed_in(north_admin)
    url = reverse("user_detail", args=[manager_a.user.pk])
    for unit in (org.company, org.web):
        response = client.post(url, {"unit": unit.pk, "role": Role.ADMIN})
        assert response.status_code == 422
    assert not Membership.objects.filter(user=manager_a.user, role=Role.ADMIN).exists()
    created = client.post(reverse("user_list"), {
        "username": "webby", "email": "w@acme.test", "password": "", "unit": org.web.pk,
        "role": Role.VIEWER})
    assert created.status_code == 422
    assert not User.objects.filter(username="webby").exists()


def test_subtree_admin_grants_and_revokes_inside_it(north_admin: Persona, manager_a: Persona,
                                                    org: Org) -> None:
    client = signed_in(north_admin)
    response = client.post(reverse("user_detail", args=[manager_a.user.pk]),
                           {"unit": org.store_b.pk, "role": Role.VIEWER})
    assert response.status_code == 302
    membership = Membership.objects.get(user=manager_a.user, unit=org.store_b)
    response = client.post(reverse("membership_revoke",
                                   args=[manager_a.user.pk, membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_subtree_admin_does_not_see_users_outside_it(north_admin: Persona, admin: Persona,
                                                     manager_a: Persona) -> None:
    client = signed_in(north_admin)
    html = client.get(reverse("user_list")).content.decode()
    assert "manager_a" in html
    assert f'id="user-{admin.user.pk}"' not in html
    assert client.get(reverse("user_detail", args=[admin.user.pk])).status_code == 404


def test_subtree_admin_cannot_deactivate_someone_with_roles_elsewhere(
        north_admin: Persona, org: Org) -> None:
    both = user_create(username="both", email="both@acme.test", password="pw")
    membership_grant(user=both, unit=org.store_a, role=Role.MANAGER)
    membership_grant(user=both, unit=org.web, role=Role.MANAGER)
    response = signed_in(north_admin).post(reverse("user_set_active", args=[both.pk]),
                                           {"active": "0"})
    assert response.status_code == 403
    both.refresh_from_db()
    assert both.is_active


def test_admin_deactivates_and_reactivates_a_user(admin: Persona, manager_a: Persona) -> None:
    client = signed_in(admin)
    url = reverse("user_set_active", args=[manager_a.user.pk])
    assert client.post(url, {"active": "0"}).status_code == 302
    manager_a.user.refresh_from_db()
    assert not manager_a.user.is_active
    assert manager_a.api().get("/api/v1/me").status_code == 401
    assert not Client().login(username="manager_a", password="pw-manager_a")
    assert client.post(url, {"active": "1"}).status_code == 302
    manager_a.user.refresh_from_db()
    assert manager_a.user.is_active
    assert manager_a.api().get("/api/v1/me").status_code == 200


def test_admin_cannot_deactivate_or_unrole_themselves(admin: Persona, org: Org) -> None:
    client = signed_in(admin)
    client.post(reverse("user_set_active", args=[admin.user.pk]), {"active": "0"})
    membership = Membership.objects.get(user=admin.user)
    client.post(reverse("membership_revoke", args=[admin.user.pk, membership.pk]))
    admin.user.refresh_from_db()
    assert admin.user.is_active
    assert Membership.objects.filter(pk=membership.pk).exists()


# --- API keys ------------------------------------------------------------------------------


def test_every_signed_in_user_manages_their_own_keys(outsider: Persona) -> None:
    response = signed_in(outsider).get(reverse("apikey_list"))
    assert response.status_code == 200
    assert b"tests" in response.content


def test_a_key_created_in_the_ui_works_until_revoked(manager_a: Persona) -> None:
    client = signed_in(manager_a)
    response = client.post(reverse("apikey_list"), {"name": "CRM sync"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "cannot be shown again" in html
    match = re.search(r'value="(ocm_[^"]+)"', html)
    assert match is not None
    raw = match.group(1)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    me = api.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "manager_a"

    key = ApiKey.objects.get(user=manager_a.user, name="CRM sync")
    assert client.post(reverse("apikey_revoke", args=[key.pk])).status_code == 302
    assert api.get("/api/v1/me").status_code == 401
    # The listing no longer shows the secret, only the prefix.
    listing = client.get(reverse("apikey_list")).content.decode()
    assert raw not in listing
    assert key.prefix in listing


def test_revoking_over_htmx_returns_the_updated_row(manager_a: Persona) -> None:
    key = ApiKey.objects.get(user=manager_a.user)
    response = signed_in(manager_a).post(reverse("apikey_revoke", args=[key.pk]),
                                         HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="key-{key.pk}">')
    assert "revoked" in html


def test_nobody_revokes_someone_elses_key(manager_a: Persona, admin: Persona) -> None:
    other = ApiKey.objects.get(user=manager_a.user)
    response = signed_in(admin).post(reverse("apikey_revoke", args=[other.pk]))
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.is_active


def test_an_empty_key_name_shows_an_error_and_creates_nothing(manager_a: Persona) -> None:
    before = ApiKey.objects.count()
    response = signed_in(manager_a).post(reverse("apikey_list"), {"name": "   "})
    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    assert ApiKey.objects.count() == before


def test_revoking_needs_a_post_with_csrf(manager_a: Persona) -> None:
    key = ApiKey.objects.get(user=manager_a.user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager_a.user)
    assert client.get(reverse("apikey_revoke", args=[key.pk])).status_code == 405
    assert client.post(reverse("apikey_revoke", args=[key.pk])).status_code == 403
    key.refresh_from_db()
    assert key.is_active


def test_user_text_is_escaped_on_settings_pages(admin: Persona, org: Org) -> None:
    user_create(username="<b>bold</b>", email="b@acme.test", password="pw")
    membership_grant(user=User.objects.get(username="<b>bold</b>"), unit=org.store_a,
                     role=Role.VIEWER)
    client = signed_in(admin)
    client.post(reverse("unit_list"), {"parent": org.north.pk, "code": "XSS",
                                       "name": "<script>alert(1)</script>", "kind": "store"})
    units = client.get(reverse("unit_list")).content.decode()
    users = client.get(reverse("user_list")).content.decode()
    assert "<script>alert(1)</script>" not in units
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in units
    assert "<b>bold</b>" not in users
    assert "&lt;b&gt;bold&lt;/b&gt;" in users


def test_an_attribute_named_items_does_not_break_the_360(admin: Persona, agent_a: Persona
                                                         ) -> None:
    customer_id = ingest(admin, email="ann@example.com", unit="STORE-A",
                         interaction_attributes={"items": 2})
    response = signed_in(agent_a).get(reverse("customer_detail", args=[customer_id]))
    assert response.status_code == 200
    assert "items: 2" in response.content.decode()


def test_a_failed_setup_email_still_creates_the_user_and_says_so(
        admin: Persona, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_: object) -> None:
        raise ConnectionRefusedError("SMTP is down")

    monkeypatch.setattr("opencem.accounts.services.user_send_password_setup", refuse)
    response = signed_in(admin).post(reverse("user_list"), {
        "username": "fran", "email": "fran@acme.test", "password": "",
        "unit": org.store_a.pk, "role": Role.VIEWER}, follow=True)
    assert response.status_code == 200
    assert "could not be sent" in response.content.decode()
    assert User.objects.filter(username="fran").exists()


def test_an_admin_names_a_units_owner_among_the_people_who_see_it(
        admin: Persona, manager_a: Persona, manager_b: Persona, org: Org) -> None:
    page = signed_in(admin).get(reverse("unit_edit", args=[org.store_a.pk])).content.decode()
    assert "manager_a" in page
    assert "manager_b" not in page  # no role on Store A or above: not offered
    done = signed_in(admin).post(reverse("unit_edit", args=[org.store_a.pk]), {
        "name": "Store A", "kind": UnitKind.STORE, "parent": org.north.pk,
        "owner": manager_a.user.pk})
    assert done.status_code == 302
    org.store_a.refresh_from_db()
    assert org.store_a.owner == manager_a.user
    refused = signed_in(admin).post(reverse("unit_edit", args=[org.store_a.pk]), {
        "name": "Store A renamed", "kind": UnitKind.STORE, "parent": org.north.pk,
        "owner": manager_b.user.pk})
    assert refused.status_code == 422
    org.store_a.refresh_from_db()
    assert (org.store_a.name, org.store_a.owner) == ("Store A", manager_a.user)


def test_the_api_names_and_clears_a_units_owner(admin: Persona, manager_a: Persona,
                                                 manager_b: Persona, org: Org) -> None:
    api = admin.api()
    named = api.put_json("/api/v1/units/STORE-A/owner", {"owner": "manager_a"})
    assert named.status_code == 200, named.content
    assert named.json()["owner"] == "manager_a"
    listed = {u["code"]: u["owner"] for u in api.get("/api/v1/units").json()}
    assert listed["STORE-A"] == "manager_a"
    stranger = api.put_json("/api/v1/units/STORE-A/owner", {"owner": "manager_b"})
    assert stranger.status_code == 422
    assert stranger.json()["error"]["errors"][0]["field"] == "owner"
    assert manager_a.api().put_json("/api/v1/units/STORE-A/owner",
                                    {"owner": None}).status_code == 403
    cleared = api.put_json("/api/v1/units/STORE-A/owner", {"owner": None})
    assert cleared.json()["owner"] is None
    assert api.put_json("/api/v1/units/NOPE/owner", {"owner": None}).status_code == 404
