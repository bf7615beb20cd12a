"""Extension points other apps register in their ``AppConfig.ready()``.

The customer hub sits low in the dependency graph, so apps built on it (surveys, feedback,
cases) tell it here how to move their own rows when two customers are merged. Keeping the
list explicit, instead of signals, means a reader finds every participant in one place.
"""

from __future__ import annotations

from collections.abc import Callable

MergeHook = Callable[[int, int], int]
"""Called as ``hook(survivor_id, absorbed_id)`` inside the merge transaction; returns how
many rows it moved (recorded in the merge audit)."""

_merge_hooks: dict[str, MergeHook] = {}


def register_merge_hook(name: str, hook: MergeHook) -> None:
    _merge_hooks[name] = hook


def merge_hooks() -> dict[str, MergeHook]:
    return dict(_merge_hooks)


IngestHook = Callable[[list[int]], None]
"""Called as ``hook(interaction_ids)`` once the transaction that created those interactions
has committed; it should only enqueue work (the request that sent them is still waiting)."""

_ingest_hooks: dict[str, IngestHook] = {}


def register_ingest_hook(name: str, hook: IngestHook) -> None:
    """Register (or replace, by name) a hook run after new interactions are stored."""
    _ingest_hooks[name] = hook


def ingest_hooks() -> dict[str, IngestHook]:
    return dict(_ingest_hooks)


def run_ingest_hooks(interaction_ids: list[int]) -> None:
    """Call every registered hook with the ids of newly created interactions."""
    if not interaction_ids:
        return
    for hook in ingest_hooks().values():
        hook(list(interaction_ids))
