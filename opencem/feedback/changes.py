"""Announcing changes of responses to the apps built on feedback (metrics rollups).

Feedback sits below the apps that aggregate responses, so it cannot call them; they register
a hook here in their ``AppConfig.ready()`` instead. Every write of a ``Response`` in
``services`` announces what the row looked like before and after, inside the writing
transaction, so an aggregate kept by a hook commits or rolls back together with the rows it
counts and can never drift from them. Writes come in batches and are announced as one batch,
so a hook can apply them set-based (one statement per batch, not one per response).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

if TYPE_CHECKING:
    from opencem.feedback.models import Response


@dataclass(frozen=True, slots=True)
class ResponseFacts:
    """What of a response the aggregates read: where, when, how far, and its scores."""

    id: int
    survey_id: int
    version_id: int
    unit_id: int
    touchpoint: str
    channel: str
    completed: bool
    started_at: datetime
    submitted_at: datetime | None
    nps: int | None
    csat: int | None
    ces: int | None
    answers: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResponseChange:
    """One response written: ``before`` is None when it was created, ``after`` when deleted."""

    before: ResponseFacts | None
    after: ResponseFacts | None


ChangeHook = Callable[[Sequence[ResponseChange]], None]
"""Called as ``hook(changes)`` inside the transaction that wrote them; it must not commit,
and an error it raises rolls the write back."""

_change_hooks: dict[str, ChangeHook] = {}


def register_change_hook(name: str, hook: ChangeHook) -> None:
    """Register (or replace, by name) a hook told of every response written."""
    _change_hooks[name] = hook


def change_hooks() -> dict[str, ChangeHook]:
    return dict(_change_hooks)


def facts_of(response: Response) -> ResponseFacts:
    """The facts of a response as it stands in memory (call it before and after a change)."""
    return ResponseFacts(
        id=response.pk, survey_id=response.survey_id, version_id=response.survey_version_id,
        unit_id=response.unit_id, touchpoint=response.touchpoint, channel=response.channel,
        completed=response.completed, started_at=response.started_at,
        submitted_at=response.submitted_at, nps=response.nps, csat=response.csat,
        ces=response.ces, answers=dict(response.answers or {}))


def announce(changes: Sequence[ResponseChange]) -> None:
    """Tell every hook of a batch of changes; the caller's transaction must be open."""
    if not changes:
        return
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction a hook's write would commit on its own, and a failure after
        # it would leave the aggregate counting a response that was never stored.
        raise RuntimeError("response changes must be announced inside the writing transaction")
    for hook in change_hooks().values():
        hook(list(changes))
