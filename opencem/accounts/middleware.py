"""Authenticates ``Authorization: Bearer <key>`` for the API, before anything else reads
``request.user``."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from opencem.accounts.services import apikey_authenticate


class ApiKeyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if request.path.startswith("/api/") and header:
            scheme, _, raw = header.partition(" ")
            user = apikey_authenticate(raw.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                return JsonResponse({"error": {
                    "code": "unauthorized", "errors": [],
                    "message": "The API key is missing, malformed, revoked or unknown."}},
                    status=401, headers={"WWW-Authenticate": "Bearer"})
            request.user = user
            # A bearer key is not an ambient credential, so CSRF does not apply to it.
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
            request.auth_method = "apikey"  # type: ignore[attr-defined]
        return self.get_response(request)
