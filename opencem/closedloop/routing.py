"""Who gets a case: the owner of its unit (walking up the tree when a unit has none, a
manager of the unit standing in for a missing owner), or the next member of a team in
turn."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth.models import User

from opencem.accounts.choices import Role
from opencem.accounts.selectors import WHOLE_ORGANISATION, unit_list

if TYPE_CHECKING:
    from opencem.accounts.models import Unit
    from opencem.closedloop.models import AlertRule

TEAM_ROLES = (Role.MANAGER, Role.AGENT)


def _lineage(unit: Unit) -> list[int]:
    """The ids of the units from the root down to ``unit`` (its materialised path)."""
    return [int(p) for p in unit.path.strip("/").split("/") if p]


def _with_owners(ids: set[int]) -> dict[int, Unit]:
    return {u.pk: u for u in unit_list(scope=WHOLE_ORGANISATION).filter(id__in=ids)
            .select_related("owner")}


def ancestors(unit: Unit) -> list[Unit]:
    """``unit`` and the units above it, nearest first."""
    ids = _lineage(unit)
    found = _with_owners(set(ids))
    return [found[i] for i in reversed(ids) if i in found]


def _manager_of(unit: Unit) -> User | None:
    return (User.objects.filter(is_active=True, memberships__unit_id=unit.pk,
                                memberships__role=Role.MANAGER).order_by("id").first())


def responsible(unit: Unit) -> User | None:
    """The unit's owner, else its manager (the first made)."""
    if unit.owner is not None and unit.owner.is_active:
        return unit.owner
    return _manager_of(unit)


def owner_up_the_tree(unit: Unit, *, skip: int = 0) -> tuple[User | None, Unit | None]:
    """The first responsible person from ``unit`` upwards (after ``skip`` levels), with the
    unit they answer for."""
    for level, candidate in enumerate(ancestors(unit)):
        if level < skip:
            continue
        person = responsible(candidate)
        if person is not None:
            return person, candidate
    return None, None


def owners_up_the_tree(units: Iterable[Unit]) -> dict[int, User | None]:
    """``owner_up_the_tree(unit)``'s person for each of ``units``, by unit id, with the units
    of all their lineages read in one query (a chunk of alerts comes from a few units)."""
    lineages = {u.pk: _lineage(u) for u in units}
    found = _with_owners(set().union(*lineages.values()))
    answers: dict[int, User | None] = {}  # responsible(unit) by unit id, asked once each
    owners: dict[int, User | None] = {}
    for pk, lineage in lineages.items():
        owners[pk] = None
        for level in reversed(lineage):
            if level not in found:
                continue
            if level not in answers:
                answers[level] = responsible(found[level])
            if answers[level] is not None:
                owners[pk] = answers[level]
                break
    return owners


def team_next(rule: AlertRule, count: int = 1) -> list[User]:
    """The next ``count`` members (managers and agents) of the rule's team in turn, after
    the last one given a case (none when the team is empty); call it with the rule locked,
    and record the last of them as ``last_assignee_id``."""
    if rule.team_id is None:
        return []
    members = list(User.objects.filter(is_active=True, memberships__unit_id=rule.team_id,
                                       memberships__role__in=TEAM_ROLES)
                   .distinct().order_by("id"))
    if not members:
        return []
    last = rule.last_assignee_id
    start = next((i for i, m in enumerate(members) if last is not None and m.pk > last), 0)
    return [members[(start + i) % len(members)] for i in range(count)]
