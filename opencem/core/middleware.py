"""Guards that apply to every request before any view sees it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        code = "too_large" if status == 413 else "bad_request"
        return JsonResponse({"error": {"code": code, "message": message, "errors": []}},
                            status=status)
    return HttpResponse(message, status=status, content_type="text/plain")


class RequestGuardMiddleware:
    """Refuses, before any view runs: bodies over the size limit (413) and NUL bytes in the
    path or query string (400; no database stores them)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in unquote(query) or "\x00" in unquote(request.path):
            return _refuse(request, 400, "The request contains a NUL byte, which no field may "
                           "hold.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(request, 400, "Content-Length is not a number.")
        if limit is not None and length > limit:
            return _refuse(request, 413, f"The request body is {length} bytes; the limit is "
                           f"{limit} bytes.")
        return self.get_response(request)
