"""Checking a respondent's answers against the exact survey version they answered.

Answers are a JSON object keyed by question id. Their forms:

- scale questions (nps, csat, ces, rating): an integer on the scale (not ``10.0``, ``"10"``
  or ``true``);
- single_choice: a choice id, or ``{"other": "text"}`` where "other" is allowed;
- multiple_choice: a list of choice ids, with at most one ``{"other": "text"}``;
- short_text / long_text: text; an empty string counts as unanswered;
- consent: ``true`` or ``false``;
- hidden: text or a number, carried in by the invitation or link.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opencem.core.errors import ApplicationError, FieldError
from opencem.surveys.definition import (
    ChoiceQuestion,
    Condition,
    ConsentQuestion,
    HiddenField,
    Question,
    ScaleQuestion,
    SurveyDefinition,
    TextQuestion,
)

MAX_HIDDEN = 500


class _Invalid(ValueError):
    pass


def _answered(value: Any) -> bool:
    return value is not None and value not in ("", [])


def _holds(condition: Condition, answers: Mapping[str, Any]) -> bool:
    value = answers.get(condition.question)
    op, target = condition.op, condition.value
    if op == "answered":
        return _answered(value)
    if op == "not_answered":
        return not _answered(value)
    if not _answered(value):
        return False
    selected = value if isinstance(value, list) else [value]
    if op == "eq":
        return bool(value == target)
    if op == "neq":
        return bool(value != target)
    if op in ("in", "not_in"):
        hit = isinstance(target, list) and any(v in target for v in selected)
        return hit if op == "in" else isinstance(target, list) and not hit
    if op == "contains":
        if isinstance(value, list):
            return target in value
        return isinstance(value, str) and isinstance(target, str) \
            and target.lower() in value.lower()
    if not isinstance(value, int | float) or isinstance(value, bool) \
            or not isinstance(target, int | float):
        return False
    return {"lt": value < target, "lte": value <= target, "gt": value > target,
            "gte": value >= target}[op]


def is_shown(question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether display logic shows ``question`` given the answers to earlier questions."""
    logic = question.show_if
    if logic is None:
        return True
    results = [_holds(c, answers) for c in logic.conditions]
    return all(results) if logic.match == "all" else any(results)


def shown_questions(definition: SurveyDefinition, answers: Mapping[str, Any]) -> list[Question]:
    return [q for q in definition.questions if not isinstance(q, HiddenField)
            and is_shown(q, answers)]


def _strict_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid("must be a whole number (not text, a decimal or true/false)")
    return int(value)


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be text")
    if "\x00" in value:
        raise _Invalid("must not contain NUL bytes")
    if len(value) > limit:
        raise _Invalid(f"must be at most {limit} characters")
    return value


def _other(value: Any, question: ChoiceQuestion) -> dict[str, str]:
    if not question.allow_other:
        raise _Invalid("has no 'other' option")
    if set(value) != {"other"}:
        raise _Invalid("an 'other' answer is {\"other\": \"text\"}")
    text = _text(value["other"], 500).strip()
    if not text:
        raise _Invalid("the 'other' answer needs text")
    return {"other": text}


def _choice(value: Any, question: ChoiceQuestion) -> Any:
    ids = {c.id for c in question.choices}
    if question.type == "single_choice":
        if isinstance(value, dict):
            return _other(value, question)
        if not isinstance(value, str) or value not in ids:
            raise _Invalid(f"must be one of {', '.join(sorted(ids))}")
        return value
    if not isinstance(value, list):
        raise _Invalid("must be a list of choice ids")
    picked: list[Any] = []
    for item in value:
        if isinstance(item, dict):
            if any(isinstance(p, dict) for p in picked):
                raise _Invalid("may hold one 'other' answer")
            picked.append(_other(item, question))
        elif isinstance(item, str) and item in ids:
            if item in picked:
                raise _Invalid(f"lists {item!r} twice")
            picked.append(item)
        else:
            raise _Invalid(f"holds {item!r}, which is not one of {', '.join(sorted(ids))}")
    if question.max_selected is not None and len(picked) > question.max_selected:
        raise _Invalid(f"may select at most {question.max_selected}")
    return picked


def _clean(question: Question, value: Any) -> Any:
    if isinstance(question, ScaleQuestion):
        score = _strict_int(value)
        if not question.min <= score <= question.max:
            raise _Invalid(f"must be between {question.min} and {question.max}")
        return score
    if isinstance(question, ChoiceQuestion):
        return _choice(value, question)
    if isinstance(question, TextQuestion):
        return _text(value, question.max_length).strip()
    if isinstance(question, ConsentQuestion):
        if not isinstance(value, bool):
            raise _Invalid("must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid("must be text or a number")
    return _text(value, MAX_HIDDEN) if isinstance(value, str) else value


def validate_answers(definition: SurveyDefinition, answers: Any, *, complete: bool,
                     loc: tuple[str | int, ...] = ("answers",)) -> dict[str, Any]:
    """Clean ``answers`` or raise one ApplicationError listing every problem by question.

    With ``complete`` every shown, required question must be answered (a partial save of an
    unfinished survey passes ``complete=False``). Answers to questions the display logic hides
    are refused, so stored answers always match what the respondent could see.
    """
    if not isinstance(answers, dict):
        raise ApplicationError("answers must be a JSON object keyed by question id",
                               errors=(FieldError(loc, "must be an object"),))
    errors: list[FieldError] = []
    known = {q.id for q in definition.questions}
    errors += [FieldError((*loc, key), "is not a question of this survey version")
               for key in answers if key not in known]
    cleaned: dict[str, Any] = {}
    for question in definition.questions:
        raw = answers.get(question.id)
        shown = isinstance(question, HiddenField) or is_shown(question, cleaned)
        if not _answered(raw) or (isinstance(question, ConsentQuestion) and raw is False
                                  and question.required):
            if complete and shown and question.required:
                errors.append(FieldError((*loc, question.id), "is required"))
            continue
        if not shown:
            errors.append(FieldError((*loc, question.id),
                                     "is not shown for these answers, so it cannot be answered"))
            continue
        try:
            value = _clean(question, raw)
        except _Invalid as exc:
            errors.append(FieldError((*loc, question.id), str(exc)))
            continue
        if _answered(value):
            cleaned[question.id] = value
    if errors:
        first = errors[0]
        raise ApplicationError(f"{first.as_dict()['field']}: {first.message}", errors=errors)
    return cleaned


def metric_values(definition: SurveyDefinition, answers: Mapping[str, Any]
                  ) -> dict[str, int | None]:
    """The headline NPS, CSAT and CES scores of a response, for the metric columns."""
    values: dict[str, int | None] = {}
    for kind in ("nps", "csat", "ces"):
        question = definition.first_of(kind)
        value = answers.get(question.id) if question else None
        values[kind] = value if isinstance(value, int) and not isinstance(value, bool) else None
    return values
