"""Loading many interactions (and customers) at once: the path shared by bulk import and the
demo loader.

Rows arrive already valid in form (the importer checks each row against the API schemas and
reports bad ones); this module applies the same domain rules as ``interactions_ingest`` and
``customer_upsert`` (``check_interaction``, identity normalisation, unit existence, scope),
resolves customers with the same identity resolution, and stores rows in batches, each batch
all-or-nothing and idempotent on ``(source, external_id)``.

What makes it fast is that everything is set-based per batch: one lookup of the stored keys,
one pass of identity resolution, and on PostgreSQL a ``COPY`` of the new interactions with ids
taken from the table's sequence beforehand (so the hooks still learn the new ids) and one
``INSERT … ON CONFLICT DO NOTHING`` for the customer-unit links. SQLite gets the ORM's
multi-row inserts, which are already its fastest path.

A batch travels as ``staging.Staged`` columns (keys, unit codes, normalised identities and,
for PostgreSQL, each row's own columns already in ``COPY`` text form), so the importer can do
the per-row work in its reading process and the writing process handles plain strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from opencem.accounts.selectors import Scope, units_by_code
from opencem.core.errors import ApplicationError, FieldError, PermissionDenied, invalid

# The outcome types live with the import machinery, which reports them row by row.
from opencem.core.importing import BatchOutcome, RowError, row_errors
from opencem.customers.hooks import run_ingest_hooks
from opencem.customers.identities import IdentityError, normalise
from opencem.customers.models import Customer, CustomerIdentity, CustomerUnit, Interaction

# bulk.py is the batch twin of services.py: it reuses the private steps of ingestion (so the
# rules stay in one place) and replaces only the per-call writes with set-based ones.
from opencem.customers.services import (
    RETRIES,
    CustomerInput,
    InteractionInput,
    Loc,
    Pair,
    _apply_details,
    _existing_owners,
    _merge,
    _resolve_groups,
    check_interaction,
)
from opencem.customers.staging import COPY_COLUMNS, NULL, Key, Staged, stage

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

# A list of text pairs sent as one JSON parameter: the JSON encoder is C code, where psycopg's
# client-side binding would spell out two Python lists as array literals value by value.
_PAIRS = "(SELECT x->>0 AS a, x->>1 AS b FROM json_array_elements(%s::json) AS x) AS k"


@dataclass
class BulkReport:
    """Running totals of a bulk load."""

    batches: int = 0
    created: int = 0
    existing: int = 0


# A customer appears in many rows of a load; normalising is pure (it depends only on the
# value and the configured phone region), so each distinct identity is worked out once.
cached_normalise = lru_cache(maxsize=1 << 18)(normalise)


def _normalise_identities(data: CustomerInput, loc: Loc) -> list[Pair]:
    """``services._normalise_identities`` with the memoised ``normalise``: same locations,
    same messages."""
    pairs: list[Pair] = []
    for i, (kind, value) in enumerate(data.identities):
        try:
            pairs.append((kind, cached_normalise(kind, value)))
        except IdentityError as exc:
            raise invalid([*loc, "identities", i, kind], str(exc)) from exc
    if not pairs:
        raise invalid([*loc], "needs at least one identity (email, phone, crm_id, ...)")
    return list(dict.fromkeys(pairs))


@dataclass(frozen=True)
class Checked:
    """What ``check_rows`` found: each row's normalised identities, and the bad rows."""

    groups: list[list[Pair] | None]
    errors: dict[int, list[RowError]]


def check_rows(items: Sequence[InteractionInput], *,
               loc: Callable[[int], Loc] = lambda i: (),
               reject: Callable[[int, ApplicationError], None] | None = None) -> Checked:
    """The checks of ingestion that need no database (``check_interaction``, identity
    normalisation). By default errors are named as the single-interaction API names them and
    collected, so the import can run this in its reading process, ahead of the writing;
    ``reject`` may raise instead (``bulk_ingest``)."""
    groups: list[list[Pair] | None] = [None] * len(items)
    errors: dict[int, list[RowError]] = {}
    for i, item in enumerate(items):
        try:
            check_interaction(item, loc(i))
            if item.customer is not None:
                groups[i] = _normalise_identities(item.customer, (*loc(i), "customer"))
        except ApplicationError as exc:
            if reject is None:
                errors[i] = row_errors(i, exc)
            else:
                reject(i, exc)
    return Checked(groups, errors)


Reject = Callable[[int, ApplicationError], None]


class BulkLoader:
    """Stores batches of interactions for one scope, remembering what earlier batches learnt
    (unit codes, customer-unit links already made) so later batches skip that work.

    ``skip_invalid=False`` behaves like ``interactions_ingest``: the first bad row rejects the
    batch with an error naming ``items.<index>``. ``skip_invalid=True`` (the importer) drops
    bad rows, reports them with field names exactly as the single-interaction API does, and
    stores the rest.
    """

    def __init__(self, *, scope: Scope, actor: User | None = None) -> None:
        self.scope = scope
        self.actor = actor
        self._units: dict[str, Unit] = {}
        self._linked: set[tuple[int, int]] = set()
        self._postgres = connection.vendor == "postgresql"
        self._sequence: str | None = None
        # Whether the last batch held no stored key: then the next is stored without looking
        # its keys up first (see ``_load``).
        self._all_new = False

    @property
    def copies(self) -> bool:
        """Whether batches are stored by ``COPY`` (``Staged.copy_rows``) or as ``items``."""
        return self._postgres

    # -- interactions -------------------------------------------------------------------

    def ingest(self, items: Sequence[InteractionInput], *, skip_invalid: bool = False
               ) -> BatchOutcome:
        """Store one batch all-or-nothing (of its valid rows, with ``skip_invalid``)."""
        if not self.scope.can_write:
            raise PermissionDenied("your role may not write customer data")
        errors: dict[int, ApplicationError] = {}

        def reject(i: int, exc: ApplicationError) -> None:
            if not skip_invalid:
                raise exc
            errors.setdefault(i, exc)

        def at(i: int) -> Loc:
            return () if skip_invalid else ("items", i)

        checked = check_rows(items, loc=at, reject=reject)
        staged = stage(items, checked.groups, copy=self._postgres, skip=errors)
        return self._load(staged, errors, reject, at)

    def ingest_staged(self, staged: Staged) -> BatchOutcome:
        """Store a batch checked beforehand (``check_rows`` or its equivalent ran on every row
        of it), as ``ingest(skip_invalid=True)`` does: rows the database refuses (an unknown
        unit, one outside the scope, a key stored for a unit outside it) are reported."""
        if not self.scope.can_write:
            raise PermissionDenied("your role may not write customer data")
        errors: dict[int, ApplicationError] = {}

        def reject(i: int, exc: ApplicationError) -> None:
            errors.setdefault(i, exc)

        return self._load(staged, errors, reject, lambda i: ())

    def _load(self, staged: Staged, errors: dict[int, ApplicationError], reject: Reject,
              at: Callable[[int], Loc]) -> BatchOutcome:
        units = self._check_units(staged.units, errors, reject, at)
        before_store = dict(errors)
        # A fresh import stores new keys batch after batch; looking each key up costs the
        # database about as much as storing the row. So once a batch held no stored key, the
        # next is stored without the look-up: the unique (source, external_id) refuses it
        # if it does hold one, and it runs again, looking up, with everything it did undone.
        # Rows already stored are thus still never stored again or applied to customers.
        optimistic = self._all_new
        attempts = RETRIES + optimistic
        for attempt in range(attempts):
            # ``reject`` fills this very dict: reset in place for the next attempt.
            errors.clear()
            errors.update(before_store)
            try:
                with transaction.atomic():
                    created, links, stored = self._store(
                        staged, units=units, errors=errors, reject=reject, at=at,
                        look_up=not optimistic)
                break
            except IntegrityError:
                # Two writers may both decide an identity or an external id is new; the
                # unique constraint stops the second, which runs again and finds the first's.
                if attempt == attempts - 1:
                    raise
                optimistic = False
        self._linked |= links
        self._all_new = not stored
        valid = len(staged.keys) - len(errors)
        return BatchOutcome(created=len(created), existing=valid - len(created),
                            errors=[e for i in sorted(errors) for e in row_errors(i, errors[i])])

    def _check_units(self, codes: list[str], errors: dict[int, ApplicationError],
                     reject: Reject, at: Callable[[int], Loc]) -> dict[str, Unit]:
        named = {c for i, c in enumerate(codes) if i not in errors} if errors else set(codes)
        units = self.units(named)
        allowed = {code: self.scope.writes_unit(unit.pk) for code, unit in units.items()}
        if not errors and len(units) == len(named) and all(allowed.values()):
            return units  # every row names a unit that exists and that the scope writes
        for i, code in enumerate(codes):
            if allowed.get(code) or i in errors:
                continue
            if code not in units:
                reject(i, invalid([*at(i), "unit"], f"no unit has the code {code!r}"))
            else:
                reject(i, PermissionDenied(f"unit {code!r} is outside your scope",
                                           loc=[*at(i), "unit"]))
        return units

    def units(self, codes: set[str]) -> dict[str, Unit]:
        """Units by code, fetched once per loader."""
        missing = codes - self._units.keys()
        if missing:
            self._units.update(units_by_code(missing))
        return {c: self._units[c] for c in codes if c in self._units}

    def _store(self, staged: Staged, *, units: dict[str, Unit],
               errors: dict[int, ApplicationError], reject: Reject, at: Callable[[int], Loc],
               look_up: bool) -> tuple[list[int], set[tuple[int, int]], dict[Key, int]]:
        """Store the batch's rows that are not stored yet; returns the new ids, the
        customer-unit links of the rows and the stored keys found (with their unit ids)."""
        keys, groups = staged.keys, staged.groups
        ok = [i for i in range(len(keys)) if i not in errors] if errors else list(range(len(keys)))
        stored = self._stored_units({keys[i] for i in ok}) if look_up else {}
        fresh = ok
        if stored:
            if not self.scope.is_everything:
                for i in ok:
                    unit_id = stored.get(keys[i])
                    if unit_id is not None and not self.scope.sees_unit(unit_id):
                        source, external_id = keys[i]
                        reject(i, ApplicationError(
                            f"{source}/{external_id} is already stored for a unit outside "
                            "your scope", status=409, code="conflict",
                            errors=(FieldError((*at(i), "external_id"), "already used"),)))
                ok = [i for i in ok if i not in errors]
            # As in interactions_ingest: rows already stored are returned unchanged (their
            # customer data is not applied); repeats inside the batch still name their
            # customer.
            fresh = [i for i in ok if keys[i] not in stored]
        whole = len(fresh) == len(keys)  # every row is to be stored: the columns serve as they are
        customer_ids = self.resolve(groups if whole else [groups[i] for i in fresh])
        if staged.details:
            changed = [(c, staged.details[i]) for i, c in zip(fresh, customer_ids, strict=True)
                       if i in staged.details]
            _apply_details([c for c, _ in changed], [d for _, d in changed])
        # The first row of a key is stored; a repeat in the same batch is the same record.
        positions, owners = fresh, customer_ids
        if len(set(keys) if whole else {keys[i] for i in fresh}) < len(fresh):
            first: dict[Key, int] = {}
            kept = [(i, c) for i, c in zip(fresh, customer_ids, strict=True)
                    if first.setdefault(keys[i], i) == i]
            positions, owners = [i for i, _ in kept], [c for _, c in kept]
            whole = False
        unit_ids = {code: unit.pk for code, unit in units.items()}
        row_units = (list(map(unit_ids.__getitem__, staged.units)) if whole
                     else [unit_ids[staged.units[i]] for i in positions])
        new_ids = self._insert(staged, positions, owners, row_units)
        links = {(c, u) for c, u in zip(owners, row_units, strict=True) if c is not None}
        self._link(links - self._linked)
        # Other apps (survey triggers) react only once the batch is committed; a rolled-back
        # attempt registers nothing.
        transaction.on_commit(lambda: run_ingest_hooks(new_ids), robust=True)
        return new_ids, links, stored

    def resolve(self, groups: Sequence[list[Pair] | None]) -> list[int | None]:
        """``services._resolve_groups`` (same outcome: groups sharing an identity, directly or
        through a stored customer, are one person; stored customers found together are merged
        into the oldest; new people get new customers), set-based on PostgreSQL."""
        if not self._postgres:
            return _resolve_groups(groups, actor=self.actor)
        if max(map(len, filter(None, groups)), default=0) <= 1:
            return self._resolve_single(groups)
        index: dict[Pair, int] = {}
        for group in groups:
            for pair in group or ():
                index.setdefault(pair, len(index))
        if not index:
            return [None] * len(groups)
        owners = self._owners(list(index))
        parent = list(range(len(index)))

        def find(x: int) -> int:
            root = x
            while parent[root] != root:
                root = parent[root]
            while parent[x] != root:
                parent[x], x = root, parent[x]
            return root

        def union(a: int, b: int) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb

        for group in groups:
            if group and len(group) > 1:
                for pair in group[1:]:
                    union(index[pair], index[group[0]])
        seen_owner: dict[int, int] = {}
        for pair, customer_id in owners.items():
            union(index[pair], seen_owner.setdefault(customer_id, index[pair]))
        existing: dict[int, set[int]] = {}
        for pair, customer_id in owners.items():
            existing.setdefault(find(index[pair]), set()).add(customer_id)
        roots = dict.fromkeys(find(i) for i in range(len(index)))
        new_roots = [r for r in roots if r not in existing]
        root_customer = dict(zip(new_roots, self._new_customers(len(new_roots)), strict=True))
        for root, customer_ids in existing.items():
            survivor, *others = sorted(customer_ids)
            for other in others:
                _merge(survivor_id=survivor, absorbed_id=other, actor=self.actor,
                       reason="shared identity seen in incoming data")
            root_customer[root] = survivor
        self._new_identities([(root_customer[find(i)], kind, value)
                              for (kind, value), i in index.items() if (kind, value) not in owners])
        return [root_customer[find(index[g[0]])] if g else None for g in groups]

    def _resolve_single(self, groups: Sequence[list[Pair] | None]) -> list[int | None]:
        """``resolve`` when every row names one identity (the common import): nothing can
        join two people, so a stored identity gives its customer and each new one a new
        customer (numbered in order of first appearance, as ``resolve`` numbers them)."""
        firsts = [group[0] for group in groups if group]
        pairs = list(dict.fromkeys(firsts))
        if not pairs:
            return [None] * len(groups)
        customer_of = self._owners(pairs)
        new = [pair for pair in pairs if pair not in customer_of]
        created = dict(zip(new, self._new_customers(len(new)), strict=True))
        self._new_identities([(created[pair], *pair) for pair in new])
        customer_of.update(created)
        if len(firsts) == len(groups):
            return list(map(customer_of.__getitem__, firsts))
        return [customer_of[group[0]] if group else None for group in groups]

    def _owners(self, pairs: list[Pair]) -> dict[Pair, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT ci.kind, ci.value, ci.customer_id "  # noqa: S608 (model's table name)
                f"FROM {_PAIRS} JOIN {CustomerIdentity._meta.db_table} ci "
                f"ON ci.kind = k.a AND ci.value = k.b", [json.dumps(pairs)])
            return {(k, v): c for k, v, c in cursor.fetchall()}

    def _new_customers(self, count: int) -> list[int]:
        if not count:
            return []
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Customer._meta.db_table} "  # noqa: S608 (model's table name)
                "(name, attributes, created_at, updated_at) "
                "SELECT '', '{}'::jsonb, %s, %s FROM generate_series(1, %s) RETURNING id",
                [now, now, count])
            return sorted(r[0] for r in cursor.fetchall())

    def _new_identities(self, rows: list[tuple[int, str, str]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            # No ON CONFLICT: a concurrent writer that claimed one of these identities makes
            # this fail, and the batch runs again and finds that writer's customer.
            cursor.execute(
                f"INSERT INTO {CustomerIdentity._meta.db_table} "  # noqa: S608 (table name)
                "(customer_id, kind, value, created_at) "
                "SELECT (x->>0)::bigint, x->>1, x->>2, %s FROM json_array_elements(%s::json) x",
                [timezone.now(), json.dumps(rows)])

    def _stored_units(self, keys: set[Key]) -> dict[Key, int]:
        if not keys:
            return {}
        if self._postgres:
            table = Interaction._meta.db_table
            with connection.cursor() as cursor:
                # Joining the key list lets the planner probe the unique index once per key:
                # one round trip whatever the batch size.
                cursor.execute(
                    f"SELECT i.source, i.external_id, i.unit_id "  # noqa: S608 (model name)
                    f"FROM {_PAIRS} JOIN {table} i "
                    f"ON i.source = k.a AND i.external_id = k.b", [json.dumps(list(keys))])
                return {(s, e): u for s, e, u in cursor.fetchall()}
        by_source: dict[str, list[str]] = {}
        for source, ext in keys:
            by_source.setdefault(source, []).append(ext)
        found: dict[Key, int] = {}
        for source, ids in by_source.items():
            # SQLite allows at most ~32k variables a statement; 500 keeps statements small.
            for start in range(0, len(ids), 500):
                rows = Interaction.objects.filter(
                    source=source, external_id__in=ids[start : start + 500]
                ).values_list("source", "external_id", "unit_id")
                found.update({(s, e): u for s, e, u in rows})
        return found

    def _insert(self, staged: Staged, positions: list[int], owners: list[int | None],
                unit_ids: list[int]) -> list[int]:
        """Store the rows at ``positions`` with their customers and units; returns the new
        ids."""
        if not positions:
            return []
        now = timezone.now()
        rows = zip(positions, owners, unit_ids, strict=True)
        if staged.copy_rows is None:
            assert staged.items is not None
            items = staged.items
            objs = Interaction.objects.bulk_create([Interaction(
                customer_id=c, unit_id=u, channel=it.channel, kind=it.kind,
                occurred_at=it.occurred_at, touchpoint=it.touchpoint, attributes=it.attributes,
                value=it.value, source=it.source, external_id=it.external_id, created_at=now)
                for i, c, u in rows for it in (items[i],)], batch_size=500)
            return [o.pk for o in objs]
        copy_rows = staged.copy_rows
        table = Interaction._meta.db_table
        with connection.cursor() as cursor:
            if self._sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                self._sequence = str(cursor.fetchone()[0])
            # Ids come from the table's own sequence first, so COPY (which returns nothing)
            # can still tell the ingest hooks which rows are new. One text value comes back
            # cheaper than an array of numbers, and the COPY lines want text anyway.
            cursor.execute("SELECT array_to_string(array_agg(nextval(%s::regclass)), ',') "
                           "FROM generate_series(1, %s)", [self._sequence, len(positions)])
            ids = str(cursor.fetchone()[0]).split(",")
            stamp = now.isoformat()
            data = "".join([
                f"{pk}\t{NULL if c is None else c}\t{u}\t{copy_rows[i]}\t{stamp}\n"
                for pk, (i, c, u) in zip(ids, rows, strict=True)])
            # Django translates errors of the statements it runs, not of COPY; a key another
            # writer stored meanwhile must still raise IntegrityError, for the batch to retry.
            with connection.wrap_database_errors, cursor.copy(
                    f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                copy.write(data)
        return list(map(int, ids))

    def _link(self, pairs: set[tuple[int, int]]) -> None:
        if not pairs:
            return
        if not self._postgres:
            CustomerUnit.objects.bulk_create(
                [CustomerUnit(customer_id=c, unit_id=u) for c, u in pairs],
                ignore_conflicts=True, batch_size=500)
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {CustomerUnit._meta.db_table} "  # noqa: S608 (model's table name)
                "(customer_id, unit_id, created_at) "
                "SELECT (x->>0)::bigint, (x->>1)::bigint, %s FROM json_array_elements(%s::json) x "
                "ON CONFLICT (customer_id, unit_id) DO NOTHING",
                [timezone.now(), json.dumps(list(pairs))])

    # -- customers ----------------------------------------------------------------------

    def upsert_customers(self, items: Sequence[tuple[CustomerInput, str | None]]
                         ) -> BatchOutcome:
        """``customer_upsert`` for a batch of (customer, unit code or None), rejecting bad rows
        with the API's messages and storing the rest in one transaction.

        ``created_flags[i]`` says whether row ``i`` made a new customer (None when rejected);
        a later row naming a customer made earlier in the batch counts as already present.
        """
        errors: dict[int, ApplicationError] = {}
        units = self.units({code for _, code in items if code})
        groups: list[list[Pair]] = [[] for _ in items]
        for i, (data, code) in enumerate(items):
            # The API's order: the unit must exist, then identities, then scope.
            try:
                unit = units.get(code) if code else None
                if code and unit is None:
                    raise invalid(["unit"], f"no unit has the code {code!r}")
                groups[i] = _normalise_identities(data, ())
                if unit is not None and not self.scope.writes_unit(unit.pk):
                    raise PermissionDenied(f"unit {unit.code!r} is outside your scope",
                                           loc=["unit"])
                if unit is None and not self.scope.can_write_everywhere:
                    if not self.scope.can_write:
                        raise PermissionDenied("your role may not write customer data")
                    raise invalid(["unit"],
                                  "is required: your scope covers only part of the organisation")
            except ApplicationError as exc:
                errors[i] = exc
        ok = [i for i in range(len(items)) if i not in errors]
        for attempt in range(RETRIES):
            try:
                with transaction.atomic():
                    known = _existing_owners({p for i in ok for p in groups[i]})
                    customer_ids = self.resolve([groups[i] for i in ok])
                    _apply_details(customer_ids, [items[i][0] for i in ok])
                    links = {(c, units[code].pk) for (c, (_, code)) in
                             zip(customer_ids, [items[i] for i in ok], strict=True)
                             if c is not None and code}
                    self._link(links - self._linked)
                break
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise
        self._linked |= links
        flags: list[bool | None] = [None] * len(items)
        seen: set[int | None] = set()
        for i, customer_id in zip(ok, customer_ids, strict=True):
            flags[i] = not any(p in known for p in groups[i]) and customer_id not in seen
            seen.add(customer_id)
        created = sum(1 for f in flags if f)
        return BatchOutcome(created=created, existing=len(ok) - created,
                            errors=[e for i in sorted(errors) for e in row_errors(i, errors[i])],
                            created_flags=flags)


def _chunks(records: Iterable[InteractionInput], size: int) -> Iterator[list[InteractionInput]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def bulk_ingest(records: Iterable[InteractionInput], *, scope: Scope, batch_size: int = 2000,
                on_batch: Callable[[BulkReport, int], None] | None = None) -> BulkReport:
    """Store ``records`` batch by batch; ``on_batch(report, rows_in_batch)`` follows each.

    Each batch is atomic and has the semantics of ``interactions_ingest``: a bad row raises
    an ApplicationError naming ``items.<index in batch>`` and stores nothing of its batch
    (earlier batches stay committed); stored ``(source, external_id)`` count as existing.
    """
    report = BulkReport()
    loader = BulkLoader(scope=scope)
    for chunk in _chunks(records, batch_size):
        outcome = loader.ingest(chunk)
        report.batches += 1
        report.created += outcome.created
        report.existing += outcome.existing
        if on_batch is not None:
            on_batch(report, len(chunk))
    return report
