"""What journeys registers with the customer hub: path steps follow a customer merge."""

from __future__ import annotations

from django.core.cache import cache

from opencem.customers.hooks import register_merge_hook
from opencem.journeys.models import PathStep
from opencem.journeys.path_walks import walks_merge

# Bumped when steps change without new interactions (a merge), so cached reports expire.
GENERATION_KEY = "journeys:paths:generation"


def generation() -> int:
    """The current generation of the path steps, part of every cached report's key."""
    return int(cache.get_or_set(GENERATION_KEY, 0) or 0)


def _move(survivor_id: int, absorbed_id: int) -> int:
    """The absorbed record's steps become the survivor's: one customer, one path (and one
    walk, where walks are kept)."""
    moved = PathStep.objects.filter(customer_id=absorbed_id).update(customer_id=survivor_id)
    if moved:
        walks_merge(survivor_id, absorbed_id)
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:
            cache.set(GENERATION_KEY, 1)
    return moved


def register() -> None:
    register_merge_hook("journeys", _move)
