"""Kestrel Lane, the fictional omnichannel home-and-living retailer the demo is built around.

The organisation is fixed (it does not depend on the seed), so that "STORE-017 has the longest
queues" and "the delivery partner is late" stay true across seeds and can be written into
guides and tests. Only the customers and their interactions come from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.services import membership_grant, unit_create, user_create

COMPANY_CODE = "KESTREL"
COMPANY_NAME = "Kestrel Lane"
DEMO_PASSWORD = "demo"  # noqa: S105 - the published password of the demo logins

# Channel and back-office units, below the company.
WEB = "WEB-SHOP"
APP = "MOBILE-APP"
CALL_CENTRE = "CALL-CENTRE"
CC_ORDERS = "CC-ORDERS"
CC_RETURNS = "CC-RETURNS"
CC_LOYALTY = "CC-LOYALTY"
DELIVERY_PARTNER = "DLV-PARCELWISE"
FLEET = "DLV-FLEET"
MARKETING = "MARKETING"
SOCIAL = "MKT-SOCIAL"
SALES = "TRADE-SALES"


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True)
class Store:
    """A store; ``traffic`` scales its footfall, ``quality`` (0 worst, 1 best) its service."""

    code: str
    town: str
    region: str
    traffic: float
    quality: float

    @property
    def name(self) -> str:
        return f"{COMPANY_NAME} {self.town}"


REGIONS = (
    Region("REG-NORTH", "North"),
    Region("REG-SOUTH", "London & South East"),
    Region("REG-MIDLANDS", "Midlands"),
    Region("REG-WEST", "South West & Wales"),
    Region("REG-SCOTLAND", "Scotland"),
)

# (town, region index, traffic, quality). Most stores are fine (quality 0.7-0.9); a few are
# clearly worse - understaffed, poorly stocked - so that analytics have something to find:
# STORE-004 (Bradford), STORE-013 (Croydon), STORE-024 (Wolverhampton) and STORE-035 (Swansea).
_STORES = (
    ("Leeds", 0, 1.6, 0.85), ("Manchester", 0, 1.9, 0.80), ("Newcastle", 0, 1.3, 0.82),
    ("Bradford", 0, 0.9, 0.35), ("Sheffield", 0, 1.2, 0.78), ("York", 0, 0.8, 0.92),
    ("Liverpool", 0, 1.5, 0.74), ("Hull", 0, 0.7, 0.70), ("Preston", 0, 0.6, 0.80),
    ("Kensington", 1, 2.0, 0.88), ("Brighton", 1, 1.2, 0.84), ("Guildford", 1, 0.9, 0.90),
    ("Croydon", 1, 1.4, 0.30), ("Reading", 1, 1.1, 0.79), ("Canterbury", 1, 0.7, 0.86),
    ("Milton Keynes", 1, 1.3, 0.77), ("Stratford", 1, 1.7, 0.72), ("Oxford", 1, 1.0, 0.88),
    ("Birmingham", 2, 1.8, 0.78), ("Nottingham", 2, 1.3, 0.81), ("Leicester", 2, 1.1, 0.76),
    ("Derby", 2, 0.8, 0.83), ("Coventry", 2, 0.9, 0.74), ("Wolverhampton", 2, 0.8, 0.32),
    ("Northampton", 2, 0.7, 0.80), ("Lincoln", 2, 0.5, 0.87), ("Bristol", 3, 1.6, 0.86),
    ("Cardiff", 3, 1.4, 0.79), ("Exeter", 3, 0.8, 0.90), ("Plymouth", 3, 0.9, 0.75),
    ("Bath", 3, 0.7, 0.93), ("Gloucester", 3, 0.6, 0.78), ("Truro", 3, 0.4, 0.88),
    ("Cheltenham", 3, 0.6, 0.84), ("Swansea", 3, 0.8, 0.38), ("Glasgow", 4, 1.7, 0.80),
    ("Edinburgh", 4, 1.6, 0.87), ("Aberdeen", 4, 0.8, 0.79), ("Dundee", 4, 0.6, 0.76),
    ("Inverness", 4, 0.4, 0.91),
)
STORES = tuple(
    Store(f"STORE-{i:03d}", town, REGIONS[region].code, traffic, quality)
    for i, (town, region, traffic, quality) in enumerate(_STORES, start=1)
)


@dataclass(frozen=True)
class Login:
    """One demo sign-in: who, with which role, over which unit."""

    username: str
    first_name: str
    last_name: str
    role: str
    unit: str


LOGINS = (
    Login("admin", "Alex", "Morgan", Role.ADMIN, COMPANY_CODE),
    Login("analyst", "Priya", "Shah", Role.ANALYST, COMPANY_CODE),
    Login("executive", "Martin", "Hale", Role.EXECUTIVE, COMPANY_CODE),
    Login("regional", "Grace", "Okafor", Role.MANAGER, "REG-NORTH"),
    Login("manager", "Tom", "Brennan", Role.MANAGER, "STORE-001"),
    Login("agent", "Sam", "Ellis", Role.AGENT, CALL_CENTRE),
    Login("viewer", "Nina", "Kowalski", Role.VIEWER, "REG-SOUTH"),
)


@dataclass(frozen=True)
class Organisation:
    """The slice of Kestrel Lane a demo size uses."""

    regions: tuple[Region, ...]
    stores: tuple[Store, ...]

    def stores_in(self, region: str) -> tuple[Store, ...]:
        return tuple(s for s in self.stores if s.region == region)


def organisation(*, stores_per_region: int | None, regions: int) -> Organisation:
    """The first ``regions`` regions with up to ``stores_per_region`` stores each (all if
    None). Small slices keep STORE-001 (the manager login) and one poor store per region
    where the region has one, so even the tiny demo has a bad store to find."""
    chosen = REGIONS[:regions]
    picked: list[Store] = []
    for region in chosen:
        in_region = [s for s in STORES if s.region == region.code]
        if stores_per_region is not None and len(in_region) > stores_per_region:
            worst = min(in_region, key=lambda s: s.quality)
            keep = in_region[: stores_per_region - 1]
            in_region = [*keep, worst] if worst not in keep else in_region[:stores_per_region]
        picked += in_region
    return Organisation(chosen, tuple(sorted(picked, key=lambda s: s.code)))


@transaction.atomic
def organisation_create(org: Organisation) -> dict[str, User]:
    """Create the units and the demo logins through the accounts services."""
    company = unit_create(code=COMPANY_CODE, name=COMPANY_NAME, kind=UnitKind.COMPANY)
    units = {COMPANY_CODE: company}
    for region in org.regions:
        units[region.code] = unit_create(code=region.code, name=region.name,
                                         kind=UnitKind.REGION, parent=company)
    for store in org.stores:
        units[store.code] = unit_create(code=store.code, name=store.name, kind=UnitKind.STORE,
                                        parent=units[store.region])
    below_company = (
        (WEB, "Web shop", UnitKind.CHANNEL, COMPANY_CODE),
        (APP, "Mobile app", UnitKind.CHANNEL, COMPANY_CODE),
        (CALL_CENTRE, "Customer service centre", UnitKind.DEPARTMENT, COMPANY_CODE),
        (CC_ORDERS, "Orders & delivery team", UnitKind.TEAM, CALL_CENTRE),
        (CC_RETURNS, "Returns & refunds team", UnitKind.TEAM, CALL_CENTRE),
        (CC_LOYALTY, "Loyalty & accounts team", UnitKind.TEAM, CALL_CENTRE),
        (DELIVERY_PARTNER, "Parcelwise (delivery partner)", UnitKind.CHANNEL, COMPANY_CODE),
        (FLEET, "Kestrel Lane own fleet", UnitKind.DEPARTMENT, COMPANY_CODE),
        (MARKETING, "Marketing", UnitKind.DEPARTMENT, COMPANY_CODE),
        (SOCIAL, "Social media team", UnitKind.TEAM, MARKETING),
        (SALES, "Trade sales", UnitKind.TEAM, COMPANY_CODE),
    )
    for code, name, kind, parent in below_company:
        units[code] = unit_create(code=code, name=name, kind=kind, parent=units[parent])
    users: dict[str, User] = {}
    for login in LOGINS:
        user = user_create(username=login.username, password=DEMO_PASSWORD,
                           email=f"{login.username}@kestrel-lane.example",
                           first_name=login.first_name, last_name=login.last_name)
        membership_grant(user=user, unit=units[login.unit], role=login.role)
        users[login.username] = user
    return users
