"""Who am I, and which units may I see."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from opencem.accounts.models import Unit
from opencem.accounts.selectors import memberships_of, request_scope, unit_list
from opencem.accounts.services import unit_owner_set
from opencem.core.errors import NotFound, PermissionDenied, invalid
from opencem.core.text import CleanStr

router = Router(tags=["organisation"])


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    depth: int
    owner: str | None = Field(description="the username cases about the unit go to")


class MembershipOut(Schema):
    unit: str
    role: str


class MeOut(Schema):
    username: str
    email: str
    memberships: list[MembershipOut]


@router.get("/me", response=MeOut, summary="The caller and their roles")
def me(request: HttpRequest) -> dict[str, object]:
    user = request.user
    return {"username": user.get_username(), "email": getattr(user, "email", ""),
            "memberships": [{"unit": m.unit.code, "role": m.role}
                            for m in memberships_of(user.pk or 0)]}


@router.get("/units", response=list[UnitOut], summary="Units the caller may see, in tree order")
def units(request: HttpRequest) -> list[dict[str, object]]:
    return [_unit_out(u) for u in unit_list(scope=request_scope(request))
            .select_related("parent", "owner")]


def _unit_out(u: Unit) -> dict[str, object]:
    return {"id": u.pk, "code": u.code, "name": u.name, "kind": u.kind, "depth": u.depth,
            "parent_code": u.parent.code if u.parent else None,
            "owner": u.owner.get_username() if u.owner else None}


class OwnerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    owner: CleanStr | None = Field(max_length=150, examples=["jsmith"],
                                   description="a username; null for nobody")


@router.put("/units/{code}/owner", response=UnitOut,
            summary="Name the person responsible for a unit (administrators)")
def unit_owner_put(request: HttpRequest, code: str, payload: OwnerIn) -> dict[str, object]:
    scope = request_scope(request)
    unit = unit_list(scope=scope).select_related("parent").filter(code=code).first()
    if unit is None:
        raise NotFound(f"No unit {code!r} in your scope.")
    if scope.admin_unit_ids is not None and unit.pk not in scope.admin_unit_ids:
        raise PermissionDenied("Only administrators of the unit name its owner.")
    owner = None
    if payload.owner is not None:
        owner = User.objects.filter(username=payload.owner).first()
        if owner is None:
            raise invalid(["owner"], f"no user {payload.owner!r}")
    return _unit_out(unit_owner_set(unit=unit, owner=owner))
