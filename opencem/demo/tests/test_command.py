"""``opencem demo`` against a real database: loading, idempotence, reset and the logins.

These tests start from an empty database (no shared org fixtures): the demo makes its own.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.selectors import primary_role, scope_for_user, unit_get_by_code
from opencem.accounts.services import unit_create
from opencem.customers.models import Customer, CustomerIdentity, Interaction
from opencem.demo.company import LOGINS
from opencem.demo.models import DemoLoad

UNTIL = "2026-06-30"

pytestmark = pytest.mark.django_db


def demo(*args: str, seed: int = 1, until: str = UNTIL) -> str:
    out = io.StringIO()
    call_command("demo", "--size", "tiny", "--seed", str(seed), "--until", until, *args,
                 verbosity=0, stdout=out)
    return out.getvalue()


def digest() -> str:
    """Everything about the interactions that the inputs determine; database ids replaced by
    the identities of the customer they belong to."""
    identities: dict[int, list[str]] = {}
    for customer_id, kind, value in CustomerIdentity.objects.values_list(
            "customer_id", "kind", "value"):
        identities.setdefault(customer_id, []).append(f"{kind}:{value}")
    h = hashlib.sha256()
    rows = Interaction.objects.order_by("source", "external_id").values_list(
        "source", "external_id", "channel", "kind", "occurred_at", "unit__code", "touchpoint",
        "attributes", "value", "customer_id")
    for *fields, attributes, value, customer_id in rows:
        who = sorted(identities.get(customer_id, [])) if customer_id else None
        h.update(json.dumps([*map(str, fields), attributes, str(value), who],
                            sort_keys=True).encode())
    return h.hexdigest()


def counts() -> tuple[int, int, int]:
    return (Customer.objects.count(), CustomerIdentity.objects.count(),
            Interaction.objects.count())


def test_the_tiny_demo_loads_units_customers_and_interactions():
    out = demo()
    assert "http://127.0.0.1:" in out
    assert unit_get_by_code("KESTREL") is not None
    assert unit_get_by_code("STORE-001") is not None
    assert 1000 <= Interaction.objects.count() <= 2500
    assert Customer.objects.filter(merged_into__isnull=True).count() >= 80
    load = DemoLoad.objects.get()
    assert load.finished_at is not None
    assert load.interactions == Interaction.objects.count()


def test_the_same_seed_and_until_reload_identical_data_and_another_seed_does_not():
    demo()
    first, first_counts = digest(), counts()
    demo("--reset")
    assert (digest(), counts()) == (first, first_counts)
    demo("--reset", seed=2)
    assert digest() != first


def test_customers_are_known_by_several_identities_across_channels():
    demo()
    joined = (Customer.objects.filter(merged_into__isnull=True)
              .annotate(kinds=Count("identities__kind", distinct=True),
                        channels=Count("interactions__channel", distinct=True))
              .filter(kinds__gte=2, channels__gte=2))
    assert joined.count() >= 20


def test_every_role_has_a_login_that_signs_in_with_the_demo_password():
    out = demo()
    roles = set()
    for login in LOGINS:
        user = authenticate(username=login.username, password="demo")
        assert user is not None, login.username
        scope = scope_for_user(user)
        assert login.role in scope.roles
        roles.add(primary_role(scope))
        assert login.username in out
    assert roles == set(Role.values)


def test_the_company_admin_sees_the_whole_organisation_and_the_store_manager_one_store():
    demo()
    admin = authenticate(username="admin", password="demo")
    manager = authenticate(username="manager", password="demo")
    assert admin is not None
    assert manager is not None
    assert scope_for_user(admin).is_everything
    store = unit_get_by_code("STORE-001")
    assert store is not None
    assert scope_for_user(manager).unit_ids == frozenset({store.pk})


def test_a_second_run_adds_nothing_and_prints_the_logins():
    demo()
    before = digest(), counts()
    out = demo(seed=99)
    assert "already loaded" in out
    assert "agent" in out
    assert (digest(), counts()) == before


def test_an_interrupted_load_is_finished_by_the_next_run():
    demo()
    complete = digest(), counts()[2]
    Interaction.objects.filter(source="telephony").delete()
    DemoLoad.objects.update(finished_at=None)
    out = demo()
    assert "interrupted" in out
    assert (digest(), counts()[2]) == complete
    assert DemoLoad.objects.get().finished_at is not None


def test_reset_refuses_to_empty_a_database_with_another_organisation():
    unit_create(code="OTHER", name="Another company", kind=UnitKind.COMPANY)
    with pytest.raises(CommandError, match="OTHER"):
        demo("--reset")
    assert unit_get_by_code("OTHER") is not None


def test_until_cannot_be_in_the_future():
    with pytest.raises(CommandError, match="future"):
        demo(until=str(date.today() + timedelta(days=3)))


def test_until_must_be_a_date():
    with pytest.raises(CommandError, match="date"):
        demo(until="June")
