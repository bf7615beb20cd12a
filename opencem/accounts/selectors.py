"""Reads about the organisation, and the one place where a user's data scope is computed."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from opencem.accounts.choices import ADMIN_ROLES, DESIGN_ROLES, PII_ROLES, WRITE_ROLES, Role
from opencem.accounts.models import ApiKey, Membership, Unit


@dataclass(frozen=True)
class Scope:
    """The part of the organisation a user may see.

    ``unit_ids`` is ``None`` for the whole organisation (a membership at a root unit), else
    the ids of every unit in the subtrees of the user's memberships. Every page and endpoint
    filters through a Scope; nothing reads customer data without one.
    """

    user_id: int | None
    unit_ids: frozenset[int] | None
    roles: frozenset[str]
    write_unit_ids: frozenset[int] | None
    admin_unit_ids: frozenset[int] | None
    design_unit_ids: frozenset[int] | None = frozenset()
    pii_unit_ids: frozenset[int] | None = frozenset()

    @property
    def is_everything(self) -> bool:
        return self.unit_ids is None

    @property
    def is_empty(self) -> bool:
        return self.unit_ids is not None and not self.unit_ids

    def sees_unit(self, unit_id: int) -> bool:
        return self.unit_ids is None or unit_id in self.unit_ids

    def writes_unit(self, unit_id: int) -> bool:
        return self.write_unit_ids is None or unit_id in self.write_unit_ids

    @property
    def can_write(self) -> bool:
        return self.write_unit_ids is None or bool(self.write_unit_ids)

    @property
    def can_write_everywhere(self) -> bool:
        return self.write_unit_ids is None

    def designs_unit(self, unit_id: int) -> bool:
        """May design programmes (surveys, rules, journeys) owned by this unit."""
        return self.design_unit_ids is None or unit_id in self.design_unit_ids

    @property
    def can_design(self) -> bool:
        return self.design_unit_ids is None or bool(self.design_unit_ids)

    def sees_pii(self, unit_id: int) -> bool:
        """May read this unit's customer text as written (else only its redacted text)."""
        return self.pii_unit_ids is None or unit_id in self.pii_unit_ids

    @property
    def is_admin(self) -> bool:
        return self.admin_unit_ids is None or bool(self.admin_unit_ids)

    def filter_units(self, qs: QuerySet[Unit]) -> QuerySet[Unit]:
        return qs if self.unit_ids is None else qs.filter(id__in=self.unit_ids)


EMPTY_SCOPE = Scope(None, frozenset(), frozenset(), frozenset(), frozenset(), frozenset())
# A process acting for the organisation itself rather than for a user (an import run by the
# operator without --user): everything, with no role of its own.
WHOLE_ORGANISATION = Scope(user_id=None, unit_ids=None, roles=frozenset(), write_unit_ids=None,
                           admin_unit_ids=None, design_unit_ids=None, pii_unit_ids=None)


def _subtree_ids(units: list[Unit]) -> frozenset[int] | None:
    if any(u.parent_id is None for u in units):
        return None
    if not units:
        return frozenset()
    condition = Q()
    for unit in units:
        condition |= Q(path__startswith=unit.path)
    return frozenset(Unit.objects.filter(condition).values_list("id", flat=True))


def scope_for_user(user: AbstractBaseUser | AnonymousUser) -> Scope:
    """Compute what ``user`` may see and write: the subtrees of their memberships."""
    if not user.is_authenticated or not user.is_active:
        return EMPTY_SCOPE
    memberships = list(Membership.objects.filter(user_id=user.pk).select_related("unit"))
    units = [m.unit for m in memberships]
    write_units = [m.unit for m in memberships if m.role in WRITE_ROLES]
    admin_units = [m.unit for m in memberships if m.role in ADMIN_ROLES]
    design_units = [m.unit for m in memberships if m.role in DESIGN_ROLES]
    return Scope(
        user_id=int(user.pk),
        unit_ids=_subtree_ids(units),
        roles=frozenset(m.role for m in memberships),
        write_unit_ids=_subtree_ids(write_units),
        admin_unit_ids=_subtree_ids(admin_units),
        design_unit_ids=_subtree_ids(design_units),
        pii_unit_ids=_subtree_ids([m.unit for m in memberships if m.role in PII_ROLES]),
    )


def scope_for_actor(user: User | None) -> Scope:
    """The scope of a user, or of the whole organisation for a process acting for no user."""
    return WHOLE_ORGANISATION if user is None else scope_for_user(user)


def request_scope(request: HttpRequest) -> Scope:
    """The scope of whoever made the request, computed once per request."""
    cached: Scope | None = getattr(request, "_opencem_scope", None)
    if cached is None:
        cached = scope_for_user(request.user)
        request._opencem_scope = cached  # type: ignore[attr-defined]
    return cached


def api_user(request: HttpRequest) -> User:
    """The signed-in user behind an API request (authentication already passed)."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("the API authenticated no user")
    return user


def unit_list(*, scope: Scope) -> QuerySet[Unit]:
    """Units the scope sees, in tree order."""
    return scope.filter_units(Unit.objects.all()).order_by("path")


def owner_candidates(unit: Unit) -> QuerySet[User]:
    """Who may own ``unit``: active users with a role on it or on a unit above it (they see
    it), the people cases are routed to."""
    lineage = [int(part) for part in unit.path.strip("/").split("/") if part]
    return (User.objects.filter(is_active=True, memberships__unit_id__in=lineage)
            .distinct().order_by("username"))


def unit_get_by_code(code: str) -> Unit | None:
    return Unit.objects.filter(code=code).first()


def units_by_code(codes: set[str]) -> dict[str, Unit]:
    """Map each known code to its unit; unknown codes are simply missing from the result."""
    return {u.code: u for u in Unit.objects.filter(code__in=codes)}


def unit_root() -> Unit | None:
    return Unit.objects.filter(parent__isnull=True).order_by("id").first()


def memberships_of(user_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user_id).select_related("unit").order_by("unit__path")


def users_with_roles() -> QuerySet[User]:
    """Active users who hold at least one role, by id (the recipients of digests)."""
    return (User.objects.filter(is_active=True, memberships__isnull=False).distinct()
            .order_by("id"))


def apikeys_of(user_id: int) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user_id=user_id).order_by("-created_at")


def primary_role(scope: Scope) -> str:
    """The most capable role a user holds, for picking their landing page."""
    for role in Role.values:
        if role in scope.roles:
            return role
    return Role.VIEWER
