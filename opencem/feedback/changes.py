"""Announcing changes of responses to the apps built on feedback (metrics rollups).

Feedback sits below the apps that aggregate responses, so it cannot call them; they register
a hook here in their ``AppConfig.ready()`` instead. Every write of a ``Response`` in
``services`` announces what the row looked like before and after, inside the writing
transaction, so an aggregate kept by a hook commits or rolls back together with the rows it
counts and can never drift from them. Writes come in batches and are announced as one batch,
so a hook can apply them set-based (one statement per batch, not one per response).

A hook may also say in advance which statements it would run (its ``planner``), from the
facts of rows not written yet. A writer that can (``planned``) then runs those statements as
parts of the very statement that writes the responses (``opencem.core.statements``), which
is atomic by itself: one round trip for the whole submission, and the aggregate still
commits or rolls back with the rows it counts.
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
    """What of a response the aggregates read: where, when, how far, and its scores.

    ``id`` is None in the facts given to planners for a response the same statement creates.
    """

    id: int | None
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

Statement = tuple[str, list[Any]]
"""One SQL statement and its parameters."""

ChangePlanner = Callable[[Sequence[ResponseChange]], list[Statement]]
"""``planner(changes)``: exactly the statements the hook would run for ``changes``, worked out
before the rows are written (it may read, never write). Each is a data-modifying statement
with a ``RETURNING`` clause, so that it can run as a part of a bigger statement, and none
depends on a response's ``id``."""

_change_hooks: dict[str, ChangeHook] = {}
_change_planners: dict[str, ChangePlanner | None] = {}


def register_change_hook(name: str, hook: ChangeHook, *,
                         planner: ChangePlanner | None = None) -> None:
    """Register (or replace, by name) a hook told of every response written, with its
    planner when it has one."""
    _change_hooks[name] = hook
    _change_planners[name] = planner


def change_hooks() -> dict[str, ChangeHook]:
    return dict(_change_hooks)


def planned(changes: Sequence[ResponseChange]) -> list[Statement] | None:
    """Every hook's statements for ``changes``, in the order the hooks were registered; None
    when a hook has no planner, so the writer must announce the changes instead."""
    statements: list[Statement] = []
    for name in _change_hooks:
        planner = _change_planners.get(name)
        if planner is None:
            return None
        statements += planner(list(changes))
    return statements


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
