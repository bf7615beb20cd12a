"""``Idempotency-Key`` support for every write of the API.

The first answer to a key is stored in the same transaction as the write it describes;
a repeat with the same body gets that answer again (with ``Idempotent-Replayed: true``), a
repeat with another body gets 422. Two concurrent requests with one key cannot both write:
the unique constraint stops the second, whose writes roll back, and it replays the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from opencem.core.errors import ApplicationError
from opencem.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"


class _LostRace(Exception):
    pass


def _error(message: str, status: int = 422) -> JsonResponse:
    return JsonResponse(ApplicationError(message, status=status, code="idempotency").as_dict(),
                        status=status)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(record.response_body, status=record.status_code,
                            content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method not in ("POST", "PUT", "PATCH", "DELETE") \
                or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            return _error(f"{HEADER} must be 1 to 255 printable characters", 400)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)  # the view answers 401; nothing to remember
        body = request.body
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), body])).hexdigest()
        fresh_after = timezone.now() - timedelta(hours=settings.OPENCEM_IDEMPOTENCY_HOURS)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.filter(
                    user_id=user.pk, key=key, created_at__gte=fresh_after).first()
                if record is not None:
                    if record.fingerprint != fingerprint:
                        return _error(f"This {HEADER} was already used with a different "
                                      "request; use a new key for a new request")
                    return _replay(record)
                IdempotencyRecord.objects.filter(user_id=user.pk, key=key).delete()
                response = self.get_response(request)
                if response.status_code >= 500:
                    # A failed request leaves nothing behind, so a retry starts clean.
                    transaction.set_rollback(True)
                    return response
                try:
                    with transaction.atomic():
                        IdempotencyRecord.objects.create(
                            user_id=user.pk, key=key, fingerprint=fingerprint,
                            status_code=response.status_code,
                            response_body=response.content.decode())
                except IntegrityError as exc:
                    raise _LostRace from exc
                return response
        except _LostRace:
            record = IdempotencyRecord.objects.get(user_id=user.pk, key=key)
            if record.fingerprint != fingerprint:
                return _error(f"This {HEADER} was already used with a different request")
            return _replay(record)
