"""Who am I, and which units may I see."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from opencem.accounts.selectors import memberships_of, request_scope, unit_list

router = Router(tags=["organisation"])


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    depth: int


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
    return [{"id": u.pk, "code": u.code, "name": u.name, "kind": u.kind, "depth": u.depth,
             "parent_code": u.parent.code if u.parent else None}
            for u in unit_list(scope=request_scope(request)).select_related("parent")]
