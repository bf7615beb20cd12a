"""Writes to the customer hub: identity resolution, merges and interaction ingestion.

Every path that brings customers or interactions in (the API, bulk import, the demo loader)
goes through ``interactions_ingest`` / ``customer_upsert``, so the rules live in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from opencem.accounts.selectors import Scope, units_by_code
from opencem.core.errors import ApplicationError, Conflict, FieldError, PermissionDenied, invalid
from opencem.customers.choices import Channel
from opencem.customers.hooks import merge_hooks, run_ingest_hooks
from opencem.customers.identities import IdentityError, normalise
from opencem.customers.models import (
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerUnit,
    Interaction,
)

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

Pair = tuple[str, str]
Loc = tuple[str | int, ...]

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
SOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)
RETRIES = 3
# Django builds TextChoices.values anew on every access; bulk loads check millions of rows.
_CHANNELS = frozenset(Channel.values)


@dataclass(frozen=True)
class CustomerInput:
    """Who the customer is: identities by kind (``{"email": [...], "phone": [...]}``)."""

    identities: tuple[tuple[str, str], ...]
    name: str | None = None
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class InteractionInput:
    """One contact as an integrator sends it; ``unit`` is a unit code."""

    source: str
    external_id: str
    channel: str
    kind: str
    occurred_at: datetime
    unit: str
    customer: CustomerInput | None = None
    touchpoint: str = ""
    value: Decimal | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    interaction: Interaction
    created: bool


@dataclass(frozen=True)
class UpsertResult:
    customer: Customer
    created: bool


def _normalise_identities(data: CustomerInput, loc: Loc) -> list[Pair]:
    pairs: list[Pair] = []
    for i, (kind, value) in enumerate(data.identities):
        try:
            pairs.append((kind, normalise(kind, value)))
        except IdentityError as exc:
            raise invalid([*loc, "identities", i, kind], str(exc)) from exc
    if not pairs:
        raise invalid([*loc], "needs at least one identity (email, phone, crm_id, ...)")
    return list(dict.fromkeys(pairs))


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, x: object) -> object:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: object, b: object) -> None:
        self.parent[self.find(a)] = self.find(b)


def _existing_owners(pairs: Iterable[Pair]) -> dict[Pair, int]:
    by_kind: dict[str, list[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, []).append(value)
    owners: dict[Pair, int] = {}
    for kind, values in by_kind.items():
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            rows = CustomerIdentity.objects.filter(kind=kind, value__in=chunk)
            owners.update({(kind, v): c for v, c in rows.values_list("value", "customer_id")})
    return owners


def _resolve_groups(groups: Sequence[list[Pair] | None], *, actor: User | None
                    ) -> list[int | None]:
    """Map each group of identities to one customer id, creating and merging as needed.

    Groups that share an identity, directly or through an existing customer, are one person.
    """
    owners = _existing_owners({p for g in groups if g for p in g})
    uf = _UnionFind()
    for group in groups:
        if not group:
            continue
        first = ("p", group[0])
        for pair in group:
            uf.union(("p", pair), first)
            if pair in owners:
                uf.union(("c", owners[pair]), first)

    components: dict[object, tuple[set[int], set[Pair]]] = {}
    for group in groups:
        for pair in group or ():
            existing, members = components.setdefault(uf.find(("p", pair)), (set(), set()))
            members.add(pair)
            if pair in owners:
                existing.add(owners[pair])

    root_customer: dict[object, int] = {}
    new_roots = [root for root, (existing, _) in components.items() if not existing]
    created = Customer.objects.bulk_create([Customer() for _ in new_roots])
    root_customer.update({root: c.pk for root, c in zip(new_roots, created, strict=True)})
    new_identities: list[CustomerIdentity] = []
    for root, (existing, members) in components.items():
        if existing:
            survivor, *others = sorted(existing)
            for other in others:
                _merge(survivor_id=survivor, absorbed_id=other, actor=actor,
                       reason="shared identity seen in incoming data")
            root_customer[root] = survivor
        customer_id = root_customer[root]
        new_identities += [CustomerIdentity(customer_id=customer_id, kind=k, value=v)
                           for k, v in members if (k, v) not in owners]
    CustomerIdentity.objects.bulk_create(new_identities)
    return [root_customer[uf.find(("p", g[0]))] if g else None for g in groups]


def _merge(*, survivor_id: int, absorbed_id: int, actor: User | None,
           reason: str) -> CustomerMerge:
    survivor = Customer.objects.select_for_update().get(pk=survivor_id)
    absorbed = Customer.objects.select_for_update().get(pk=absorbed_id)
    if absorbed.merged_into_id is not None:
        raise Conflict(f"Customer {absorbed_id} was already merged into {absorbed.merged_into_id}.")
    identities = list(absorbed.identities.values_list("kind", "value"))
    moved = {
        "identities": absorbed.identities.update(customer_id=survivor_id),
        "interactions": Interaction.objects.filter(customer_id=absorbed_id)
        .update(customer_id=survivor_id),
    }
    links = [CustomerUnit(customer_id=survivor_id, unit_id=u) for u in
             CustomerUnit.objects.filter(customer_id=absorbed_id).values_list("unit_id", flat=True)]
    CustomerUnit.objects.bulk_create(links, ignore_conflicts=True)
    for name, hook in merge_hooks().items():
        moved[name] = hook(survivor_id, absorbed_id)
    Customer.objects.filter(merged_into_id=absorbed_id).update(merged_into_id=survivor_id)
    survivor.attributes = {**absorbed.attributes, **survivor.attributes}
    survivor.name = survivor.name or absorbed.name
    survivor.save(update_fields=["attributes", "name", "updated_at"])
    absorbed.merged_into_id = survivor_id
    absorbed.save(update_fields=["merged_into", "updated_at"])
    return CustomerMerge.objects.create(
        survivor_id=survivor_id, absorbed_id=absorbed_id, actor=actor, reason=reason,
        details={"moved": moved, "identities": [f"{k}:{v}" for k, v in identities]},
    )


def customers_merge(*, survivor: Customer, absorbed: Customer, actor: User | None,
                    reason: str) -> CustomerMerge:
    """Merge ``absorbed`` into ``survivor`` by hand; history stays and the merge is audited."""
    if survivor.pk == absorbed.pk:
        raise invalid(["absorbed"], "cannot merge a customer into itself")
    if survivor.merged_into_id is not None:
        raise invalid(["survivor"], "was itself merged; merge into the surviving record")
    if not reason.strip():
        raise invalid(["reason"], "say why these records are one customer")
    with transaction.atomic():
        return _merge(survivor_id=survivor.pk, absorbed_id=absorbed.pk, actor=actor,
                      reason=reason.strip())


def _apply_details(customer_ids: Sequence[int | None], inputs: Sequence[CustomerInput | None]
                   ) -> None:
    updates: dict[int, tuple[str | None, dict[str, Any]]] = {}
    for cid, data in zip(customer_ids, inputs, strict=True):
        if cid is None or data is None or (data.name is None and not data.attributes):
            continue
        name, attrs = updates.get(cid, (None, {}))
        updates[cid] = (data.name if data.name is not None else name,
                        {**attrs, **(data.attributes or {})})
    if not updates:
        return
    customers = Customer.objects.in_bulk(list(updates))
    for cid, (name, attrs) in updates.items():
        customer = customers[cid]
        if name is not None:
            customer.name = name
        customer.attributes = {**customer.attributes, **attrs}
    Customer.objects.bulk_update(list(customers.values()), ["name", "attributes", "updated_at"])


def _link_units(pairs: set[tuple[int, int]]) -> None:
    if pairs:
        CustomerUnit.objects.bulk_create(
            [CustomerUnit(customer_id=c, unit_id=u) for c, u in pairs], ignore_conflicts=True)


def _retrying(func: Any, *args: Any, **kwargs: Any) -> Any:
    # Two writers may both decide an identity or an external id is new; the unique constraint
    # stops the second, which then runs again and finds what the first one wrote.
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def customer_upsert(*, data: CustomerInput, scope: Scope, unit: Unit | None = None,
                    actor: User | None = None) -> UpsertResult:
    """Find the customer by any of the identities (merging records that share them) or create
    one; add the identities it lacks; set the name and merge in the attributes given.

    Users whose scope is part of the organisation must name a unit of theirs, which links the
    customer to it; the whole-organisation scope may omit it.
    """
    pairs = _normalise_identities(data, ())
    if unit is not None and not scope.writes_unit(unit.pk):
        raise PermissionDenied(f"unit {unit.code!r} is outside your scope", loc=["unit"])
    if unit is None and not scope.can_write_everywhere:
        if not scope.can_write:
            raise PermissionDenied("your role may not write customer data")
        raise invalid(["unit"], "is required: your scope covers only part of the organisation")
    result: UpsertResult = _retrying(_upsert, pairs, data, unit, actor)
    return result


def _upsert(pairs: list[Pair], data: CustomerInput, unit: Unit | None,
            actor: User | None) -> UpsertResult:
    known = bool(_existing_owners(pairs))
    (customer_id,) = _resolve_groups([pairs], actor=actor)
    assert customer_id is not None
    _apply_details([customer_id], [data])
    if unit is not None:
        _link_units({(customer_id, unit.pk)})
    return UpsertResult(Customer.objects.get(pk=customer_id), created=not known)


def check_interaction(item: InteractionInput, loc: Loc) -> None:
    """Rules every interaction must meet, whichever path it came by."""
    if not SOURCE_RE.match(item.source):
        raise invalid([*loc, "source"], "must be 1-64 letters, digits, '_', '.', ':' or '-'")
    if not item.external_id.strip() or len(item.external_id) > 200:
        raise invalid([*loc, "external_id"], "must be 1 to 200 characters")
    if item.channel not in _CHANNELS:
        raise invalid([*loc, "channel"], f"must be one of {', '.join(Channel.values)}")
    if not SLUG_RE.match(item.kind):
        raise invalid([*loc, "kind"], "must be a lower-case slug (letters, digits, _ . -)")
    if item.touchpoint and not SLUG_RE.match(item.touchpoint):
        raise invalid([*loc, "touchpoint"], "must be a lower-case slug (letters, digits, _ . -)")
    if item.occurred_at.tzinfo is None:
        raise invalid([*loc, "occurred_at"], "must include a time zone (e.g. 'Z' or '+01:00')")
    if item.occurred_at < EARLIEST or item.occurred_at > timezone.now() + MAX_FUTURE:
        raise invalid([*loc, "occurred_at"], "must lie between 1970 and tomorrow")


def interactions_ingest(*, items: Sequence[InteractionInput], scope: Scope,
                        actor: User | None = None,
                        loc_prefix: Loc | None = ("items",)) -> list[IngestResult]:
    """Store a batch of interactions all-or-nothing, resolving their customers.

    A bad item rejects the whole batch with an error naming its index (``loc_prefix=None``
    for a single interaction, whose errors name the field alone). An item whose
    ``(source, external_id)`` is already stored returns the stored record unchanged.
    """
    if not scope.can_write:
        raise PermissionDenied("your role may not write customer data")
    def at(i: int) -> Loc:
        return () if loc_prefix is None else (*loc_prefix, i)

    identity_groups: list[list[Pair] | None] = []
    for i, item in enumerate(items):
        loc = at(i)
        check_interaction(item, loc)
        identity_groups.append(
            _normalise_identities(item.customer, (*loc, "customer")) if item.customer else None)
    units = units_by_code({item.unit for item in items})
    for i, item in enumerate(items):
        unit = units.get(item.unit)
        if unit is None:
            raise invalid([*at(i), "unit"], f"no unit has the code {item.unit!r}")
        if not scope.writes_unit(unit.pk):
            raise PermissionDenied(f"unit {item.unit!r} is outside your scope",
                                   loc=[*at(i), "unit"])
    result: list[IngestResult] = _retrying(_ingest, items=items, identity_groups=identity_groups,
                                           units=units, scope=scope, actor=actor, at=at)
    return result


def _existing_interactions(keys: set[Pair]) -> dict[Pair, Interaction]:
    by_source: dict[str, list[str]] = {}
    for source, ext in keys:
        by_source.setdefault(source, []).append(ext)
    found: dict[Pair, Interaction] = {}
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            q = Q(source=source, external_id__in=ids[start : start + 500])
            found.update({(i.source, i.external_id): i for i in Interaction.objects.filter(q)})
    return found


def _ingest(*, items: Sequence[InteractionInput], identity_groups: list[list[Pair] | None],
            units: dict[str, Unit], scope: Scope, actor: User | None,
            at: Callable[[int], Loc]) -> list[IngestResult]:
    existing = _existing_interactions({(it.source, it.external_id) for it in items})
    for i, item in enumerate(items):
        found = existing.get((item.source, item.external_id))
        if found is not None and not scope.sees_unit(found.unit_id):
            raise ApplicationError(
                f"{item.source}/{item.external_id} is already stored for a unit outside "
                "your scope", status=409, code="conflict",
                errors=(FieldError((*at(i), "external_id"), "already used"),))
    fresh = [i for i, it in enumerate(items) if (it.source, it.external_id) not in existing]
    customer_ids = _resolve_groups([identity_groups[i] for i in fresh], actor=actor)
    _apply_details(customer_ids, [items[i].customer for i in fresh])
    to_create: dict[Pair, Interaction] = {}
    for i, customer_id in zip(fresh, customer_ids, strict=True):
        item = items[i]
        key = (item.source, item.external_id)
        if key in to_create:  # the same record twice in one batch is still one record
            continue
        to_create[key] = Interaction(
            customer_id=customer_id, unit=units[item.unit], channel=item.channel,
            kind=item.kind, occurred_at=item.occurred_at, touchpoint=item.touchpoint,
            attributes=item.attributes, value=item.value, source=item.source,
            external_id=item.external_id)
    Interaction.objects.bulk_create(list(to_create.values()))
    _link_units({(it.customer_id, it.unit_id) for it in to_create.values() if it.customer_id})
    # Other apps (survey triggers) react to new interactions only once they are committed;
    # a rolled-back retry of this function registers nothing.
    new_ids = [it.pk for it in to_create.values()]
    transaction.on_commit(lambda: run_ingest_hooks(new_ids), robust=True)
    results: list[IngestResult] = []
    seen: set[Pair] = set()
    for item in items:
        key = (item.source, item.external_id)
        if key in to_create:
            results.append(IngestResult(to_create[key], created=key not in seen))
            seen.add(key)
        else:
            results.append(IngestResult(existing[key], created=False))
    return results


def customers_resolve(*, inputs: Sequence[CustomerInput | None], unit_ids: Sequence[int],
                      actor: User | None, loc_prefix: Loc | None = ("items",),
                      positions: Sequence[int] | None = None) -> list[int | None]:
    """Resolve (creating and merging as needed) the customer of each input, apply names and
    attributes, and link each customer to the unit of the same position.

    For other apps that bring in customer voice (responses, feedback) with a customer named by
    identities. Runs inside the caller's transaction. ``positions`` are the inputs' indexes in
    the caller's batch (when it passes only some of its items), so errors name the right item.
    """
    where = range(len(inputs)) if positions is None else positions
    groups = [None if data is None else _normalise_identities(
        data, ("customer",) if loc_prefix is None else (*loc_prefix, i, "customer"))
        for i, data in zip(where, inputs, strict=True)]
    customer_ids = _resolve_groups(groups, actor=actor)
    _apply_details(customer_ids, inputs)
    _link_units({(c, u) for c, u in zip(customer_ids, unit_ids, strict=True) if c is not None})
    return customer_ids
