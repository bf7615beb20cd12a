"""Shared personas for every test: an admin of the whole company, the managers of two
stores, an agent of store A, and an outsider with no role at all.

The organisation is: ACME (company) > NORTH (region) > STORE-A, STORE-B; ACME > WEB (channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.test import Client

from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.models import Unit
from opencem.accounts.services import apikey_create, membership_grant, unit_create, user_create


@dataclass
class Persona:
    user: AbstractUser
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"}

    def api(self) -> ApiClient:
        return ApiClient(self.key)


class ApiClient(Client):
    """A test client that sends the persona's bearer key and JSON bodies."""

    def __init__(self, key: str) -> None:
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {key}")

    def post_json(self, path: str, body: object, **extra: Any) -> Any:
        return self.post(path, body, content_type="application/json", **extra)


@dataclass
class Org:
    company: Unit
    north: Unit
    store_a: Unit
    store_b: Unit
    web: Unit


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def org(db: None) -> Org:
    company = unit_create(code="ACME", name="Acme Retail", kind=UnitKind.COMPANY)
    north = unit_create(code="NORTH", name="North", kind=UnitKind.REGION, parent=company)
    store_a = unit_create(code="STORE-A", name="Store A", parent=north)
    store_b = unit_create(code="STORE-B", name="Store B", parent=north)
    web = unit_create(code="WEB", name="Web shop", kind=UnitKind.CHANNEL, parent=company)
    return Org(company, north, store_a, store_b, web)


def _persona(username: str, unit: Unit | None, role: str | None) -> Persona:
    user = user_create(username=username, email=f"{username}@acme.test", password="pw-" + username)
    if unit is not None and role is not None:
        membership_grant(user=user, unit=unit, role=role)
    _, key = apikey_create(user=user, name="tests")
    return Persona(user, key)


@pytest.fixture
def admin(org: Org) -> Persona:
    return _persona("admin", org.company, Role.ADMIN)


@pytest.fixture
def manager_a(org: Org) -> Persona:
    return _persona("manager_a", org.store_a, Role.MANAGER)


@pytest.fixture
def manager_b(org: Org) -> Persona:
    return _persona("manager_b", org.store_b, Role.MANAGER)


@pytest.fixture
def agent_a(org: Org) -> Persona:
    return _persona("agent_a", org.store_a, Role.AGENT)


@pytest.fixture
def viewer(org: Org) -> Persona:
    return _persona("viewer", org.company, Role.VIEWER)


@pytest.fixture
def outsider(org: Org) -> Persona:
    return _persona("outsider", None, None)
