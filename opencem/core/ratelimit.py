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
    key = f"rl:{bucket}:{window}"
    cache.add(key, 0, timeout=window_seconds + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=window_seconds + 5)
        count = 1
    if count > limit:
        return RateDecision(False, window_seconds - (now % window_seconds))
    return RateDecision(True, 0)
