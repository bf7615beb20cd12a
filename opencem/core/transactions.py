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
    commit when the transaction rolls back, so nothing stays armed.
    """
    armed = next((entry[1] for entry in transaction.get_connection().run_on_commit
                  if isinstance(entry[1], kind)), None)
    hook = armed if armed is not None else kind()
    if fill is not None:
        fill(hook)
    if armed is None:
        transaction.on_commit(hook, robust=True)
