"""Work that follows a transaction's commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction


class CommitHook:
    """What ``on_commit_once`` runs: an instance called once the transaction commits."""

    def __call__(self) -> None:
        raise NotImplementedError


Hook = TypeVar("Hook", bound=CommitHook)


def on_commit_once(kind: type[Hook], fill: Callable[[Hook], None] | None = None) -> None:
    """Have one ``kind()`` called when the current transaction commits (at once outside one),
    however many times this is asked in it; ``fill`` is given that one each time, first.

    A write that may happen many times in a transaction (an event, a mail) thus wakes what
    follows it once, carrying what all of them wrote. Django empties the list of what runs on
    commit when the transaction rolls back, so nothing stays armed. A hook that fails is
    logged, and neither undoes the commit nor fails the caller (the commit was reported).
    """
    armed = next((entry[1].__self__ for entry in transaction.get_connection().run_on_commit
                  if isinstance(getattr(entry[1], "__self__", None), kind)), None)
    hook = armed if armed is not None else kind()
    if fill is not None:
        fill(hook)
    if armed is None:
        # The bound method, not the instance: Django names a failing hook in its log by the
        # callable's ``__qualname__``, which an instance lacks (the log line itself then
        # failed, and the request whose transaction had committed with it).
        transaction.on_commit(hook.__call__, robust=True)
