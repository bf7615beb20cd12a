"""The builder's edits to a definition, as plain functions from one definition to the next.

Each returns a new definition dict and leaves its argument alone; the builder hands the result
to ``survey_save_draft``, so pydantic judges every edit and a refused one changes nothing.
Edits name questions by id rather than position: an edit made from a page that has since
gone stale still means what its author meant.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Literal

from opencem.core.errors import FieldError, NotFound, invalid
from opencem.surveys.definition import SLUG

QUESTION_TYPES: dict[str, str] = {
    "nps": "NPS (0–10)",
    "csat": "CSAT (1–5)",
    "ces": "CES (1–7)",
    "rating": "Rating scale",
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "short_text": "Short text",
    "long_text": "Long text",
    "hidden": "Hidden field",
    "consent": "Consent",
}
"""Every question type the definition supports, with the name the builder shows."""

OPERATORS: dict[str, str] = {
    "eq": "is", "neq": "is not", "lt": "is less than", "lte": "is at most",
    "gt": "is more than", "gte": "is at least", "in": "is one of", "not_in": "is none of",
    "contains": "contains", "answered": "is answered", "not_answered": "is not answered",
}
"""Display-logic operators, worded as the builder reads them out."""

_SLUG_RE = re.compile(SLUG)


def questions_of(definition: dict[str, Any]) -> list[dict[str, Any]]:
    questions = definition.get("questions")
    return list(questions) if isinstance(questions, list) else []


def question_index(definition: dict[str, Any], question_id: str) -> int:
    """Where the question stands in the survey (NotFound when it is not there)."""
    for index, question in enumerate(questions_of(definition)):
        if question.get("id") == question_id:
            return index
    raise NotFound(f"The survey has no question {question_id!r}.")


def question_get(definition: dict[str, Any], question_id: str) -> dict[str, Any]:
    return dict(questions_of(definition)[question_index(definition, question_id)])


def languages_of(definition: dict[str, Any]) -> list[str]:
    """The survey's languages, its default first, from every text it holds."""
    default = str(definition.get("default_language") or "en")
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            if key in _TEXT_KEYS:
                found.update(k for k in value if isinstance(k, str))
                return
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(definition)
    found.discard(default)
    return [default, *sorted(found)]


_TEXT_KEYS = frozenset({"title", "intro", "thank_you", "text", "help", "label", "low_label",
                        "high_label"})


def language_remove(definition: dict[str, Any], language: str) -> dict[str, Any]:
    """Drop one language from every text of the survey (never the default one)."""
    if language == definition.get("default_language", "en"):
        raise invalid(["language"], "the default language cannot be removed")
    result = copy.deepcopy(definition)

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            if key in _TEXT_KEYS:
                value.pop(language, None)
                return
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(result)
    return result


def question_append(definition: dict[str, Any], question: dict[str, Any]) -> dict[str, Any]:
    """The definition with ``question`` added at the end."""
    if any(q.get("id") == question.get("id") for q in questions_of(definition)):
        raise invalid(["id"], f"the survey already has a question {question.get('id')!r}")
    result = copy.deepcopy(definition)
    result["questions"] = [*questions_of(result), question]
    return result


def question_replace(definition: dict[str, Any], question_id: str,
                     question: dict[str, Any]) -> dict[str, Any]:
    """The definition with the question ``question_id`` replaced in place."""
    index = question_index(definition, question_id)
    result = copy.deepcopy(definition)
    questions = questions_of(result)
    questions[index] = question
    result["questions"] = questions
    return result


def question_remove(definition: dict[str, Any], question_id: str) -> dict[str, Any]:
    """The definition without the question; refused while later display logic looks at it."""
    index = question_index(definition, question_id)
    if len(questions_of(definition)) == 1:
        raise invalid(["questions", index], f"{question_id!r} cannot be removed: a survey "
                      "needs at least one question; add another first")
    dependants = [q.get("id") for q in questions_of(definition)
                  if question_id in _looks_at(q)]
    if dependants:
        raise invalid(["questions", index], f"{question_id!r} cannot be removed: the display "
                      f"logic of {', '.join(repr(d) for d in dependants)} looks at it")
    result = copy.deepcopy(definition)
    result["questions"] = [q for q in questions_of(result) if q.get("id") != question_id]
    return result


def question_move(definition: dict[str, Any], question_id: str,
                  direction: Literal["up", "down"]) -> dict[str, Any]:
    """The definition with the question one place earlier or later.

    Display logic may only look back, so a move that would put a question before one it
    looks at (or after one that looks at it) is refused here with both questions named.
    """
    index = question_index(definition, question_id)
    questions = questions_of(definition)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(questions):
        edge = "first" if direction == "up" else "last"
        raise invalid(["questions", index], f"{question_id!r} is already the {edge} question")
    earlier, later = sorted((index, other))
    if questions[earlier].get("id") in _looks_at(questions[later]):
        raise invalid(["questions", index], f"{questions[later].get('id')!r} cannot come "
                      f"before {questions[earlier].get('id')!r}: its display logic looks at "
                      "that answer")
    result = copy.deepcopy(definition)
    moved = questions_of(result)
    moved[index], moved[other] = moved[other], moved[index]
    result["questions"] = moved
    return result


def _looks_at(question: dict[str, Any]) -> set[str]:
    logic = question.get("show_if") or {}
    return {str(c.get("question")) for c in logic.get("conditions", []) if isinstance(c, dict)}


def new_question_id(definition: dict[str, Any], kind: str) -> str:
    """A free id to suggest for a new question of ``kind``: ``nps``, then ``nps_2``, ..."""
    taken = {q.get("id") for q in questions_of(definition)}
    base = {"single_choice": "choice", "multiple_choice": "choices", "short_text": "text",
            "long_text": "comment"}.get(kind, kind)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def is_slug(value: str) -> bool:
    return bool(_SLUG_RE.match(value))


def blank_definition(title: str) -> dict[str, Any]:
    """A new survey from nothing: its title and one open question to edit or replace."""
    return {"title": {"en": title[:2000] or "Survey"},
            "thank_you": {"en": "Thank you for your feedback."},
            "questions": [{"id": "comment", "type": "long_text",
                           "text": {"en": "What would you like to tell us?"}}]}


# What the builder lists -------------------------------------------------------------------

@dataclass(frozen=True)
class QuestionRow:
    """One question as the builder's list shows it."""

    id: str
    type: str
    type_label: str
    text: str
    required: bool
    logic: str
    options: int
    first: bool
    last: bool


def question_rows(definition: dict[str, Any]) -> list[QuestionRow]:
    default = str(definition.get("default_language") or "en")
    questions = questions_of(definition)
    rows = []
    for index, question in enumerate(questions):
        kind = str(question.get("type", ""))
        text = question.get("text") or {}
        rows.append(QuestionRow(
            id=str(question.get("id", "")), type=kind, type_label=QUESTION_TYPES.get(kind, kind),
            text=str(text.get(default, "")) if isinstance(text, dict) else "",
            required=bool(question.get("required")), logic=logic_summary(question),
            options=len(question.get("choices") or []), first=index == 0,
            last=index == len(questions) - 1))
    return rows


def logic_summary(question: dict[str, Any]) -> str:
    """Display logic in words: ``nps is at most 6 and reason is answered``."""
    logic = question.get("show_if")
    if not logic:
        return ""
    joiner = " or " if logic.get("match") == "any" else " and "
    parts = []
    for condition in logic.get("conditions", []):
        op = str(condition.get("op", ""))
        words = f"{condition.get('question')} {OPERATORS.get(op, op)}"
        if op not in ("answered", "not_answered"):
            words += f" {format_value(condition.get('value'))}"
        parts.append(words)
    return joiner.join(parts)


def format_value(value: Any) -> str:
    """A condition's value as the builder's form shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return "" if value is None else str(value)


def error_message(error: FieldError) -> str:
    """A definition error for a person: pydantic's "Value error, " prefix dropped."""
    return error.message.removeprefix("Value error, ")
