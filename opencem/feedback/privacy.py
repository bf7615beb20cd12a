"""Which words of a feedback item a reader may see.

Readers whose role has PII rights on the item's unit (``Scope.sees_pii``: admins and agents)
read the text as written; everyone else reads the redacted text. Text analytics stores the
redacted text on each item seconds after it arrives and registers its redactor here, so an
item it has not reached yet is redacted on the fly rather than shown as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencem.accounts.selectors import Scope
    from opencem.feedback.models import FeedbackItem

_redactors: list[Callable[[str], str]] = []


def register_redactor(redactor: Callable[[str], str]) -> None:
    """Install the function that redacts text nobody has redacted yet (one per process)."""
    _redactors[:] = [redactor]


def redacted_text(item: FeedbackItem) -> str:
    """The item's text without personal data (redacted now if text analytics has not yet)."""
    if item.redacted_text:
        return item.redacted_text
    return _redactors[0](item.text) if _redactors else item.text


def readable_text(*, item: FeedbackItem, scope: Scope) -> str:
    """The item's text as this reader may see it."""
    return item.text if scope.sees_pii(item.unit_id) else redacted_text(item)


def readable_answers(*, answers: dict[str, object], unit_id: int,
                     scope: Scope) -> dict[str, object]:
    """A response's answers as this reader may see them: free text redacted without PII
    rights (choices and scores pass through unchanged)."""
    if scope.sees_pii(unit_id) or not _redactors:
        return answers
    redactor = _redactors[0]
    return {k: redactor(v) if isinstance(v, str) else v for k, v in answers.items()}
