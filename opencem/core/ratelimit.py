"""A fixed-window rate limit on the shared cache, for public endpoints."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int


def client_ip(request: HttpRequest) -> str:
    """The client's address as the server saw it (a proxy must set REMOTE_ADDR correctly)."""
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def hit(bucket: str, *, limit: int, window_seconds: int = 60) -> RateDecision:
    """Count one request in ``bucket``; refuse once ``limit`` requests fell in this window."""
    now = int(time.time())
    window = now // window_seconds
    count = _count(f"rl:{bucket}:{window}", timeout=window_seconds + 5)
    if count > limit:
        return RateDecision(False, window_seconds - (now % window_seconds))
    return RateDecision(True, 0)


def _count(key: str, *, timeout: int) -> int:
    # Counted first and created only when missing: one cache call for all but the window's
    # first request (on Redis each is a round trip, and every public request pays them).
    try:
        return cache.incr(key)
    except ValueError:
        pass
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)  # another request made it in between
    except ValueError:  # and it expired since
        cache.set(key, 1, timeout=timeout)
        return 1
