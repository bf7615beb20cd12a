from __future__ import annotations

from django.http import HttpRequest

from opencem.accounts.selectors import request_scope


def access(request: HttpRequest) -> dict[str, object]:
    """The viewer's scope and whether they administer the organisation."""
    if not request.user.is_authenticated:
        return {}
    scope = request_scope(request)
    return {"scope": scope, "is_org_admin": scope.is_admin}
