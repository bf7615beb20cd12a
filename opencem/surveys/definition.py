"""What a survey is: its questions, languages and logic, validated by pydantic.

A definition is plain JSON, stored on a SurveyVersion and frozen once published, so every
response can be read against exactly the questions its respondent saw.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opencem.core.text import CleanStr

SLUG = r"^[a-z][a-z0-9_]{0,39}$"
LANG = r"^[a-z]{2,3}(-[A-Z]{2})?$"
PIPE_RE = re.compile(
    r"\{\{\s*(customer\.name|attributes\.[A-Za-z0-9_]+|hidden\.[a-z][a-z0-9_]*)\s*\}\}")

MAX_TEXT = 5000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = dict[Annotated[str, Field(pattern=LANG)], Annotated[CleanStr, Field(max_length=2000)]]
"""The same sentence in several languages: ``{"en": "How was it?", "de": "Wie war es?"}``."""


class Choice(_Model):
    id: Annotated[str, Field(pattern=SLUG)]
    label: Text


class Condition(_Model):
    """One test on an earlier answer."""

    question: Annotated[str, Field(pattern=SLUG)]
    op: Literal["eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "answered",
                "not_answered", "contains"]
    value: Any = None


class DisplayLogic(_Model):
    """Show the question when all (or any) of the conditions hold."""

    match: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(min_length=1, max_length=20)


class _Question(_Model):
    id: Annotated[str, Field(pattern=SLUG)]
    text: Text
    help: Text | None = None
    required: bool = False
    show_if: DisplayLogic | None = None


class ScaleQuestion(_Question):
    """A score on a fixed integer scale: NPS 0–10, CSAT 1–5, CES 1–7, or any rating."""

    type: Literal["nps", "csat", "ces", "rating"]
    min: int = 0
    max: int = 10
    style: Literal["number", "stars"] = "number"
    low_label: Text | None = None
    high_label: Text | None = None

    @model_validator(mode="after")
    def _fixed_scales(self) -> ScaleQuestion:
        fixed = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
        if self.type in fixed and (self.min, self.max) != fixed[self.type]:
            low, high = fixed[self.type]
            object.__setattr__(self, "min", low)
            object.__setattr__(self, "max", high)
        if not 0 <= self.min < self.max <= 100:
            raise ValueError("a rating scale needs 0 <= min < max <= 100")
        return self


class ChoiceQuestion(_Question):
    type: Literal["single_choice", "multiple_choice"]
    choices: list[Choice] = Field(min_length=1, max_length=100)
    allow_other: bool = False
    randomize: bool = False
    max_selected: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _unique_choices(self) -> ChoiceQuestion:
        ids = [c.id for c in self.choices]
        if len(set(ids)) != len(ids):
            raise ValueError("choice ids must be unique within a question")
        if "other" in ids and self.allow_other:
            raise ValueError("'other' is reserved for the free 'other' answer")
        return self


class TextQuestion(_Question):
    type: Literal["short_text", "long_text"]
    max_length: int = Field(MAX_TEXT, ge=1, le=MAX_TEXT)


class HiddenField(_Model):
    """A value carried in with the invitation or link (store, order id, ...), never asked."""

    type: Literal["hidden"]
    id: Annotated[str, Field(pattern=SLUG)]
    required: bool = False
    show_if: None = None


class ConsentQuestion(_Question):
    type: Literal["consent"]


Question = Annotated[ScaleQuestion | ChoiceQuestion | TextQuestion | HiddenField |
                     ConsentQuestion, Field(discriminator="type")]


class Branding(_Model):
    accent_colour: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#1f5fbf"
    logo_text: Annotated[CleanStr, Field(max_length=100)] = ""


_COMPARED = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "contains")


def _check_condition(shown: str, condition: Condition, target: Question) -> None:
    """A condition's values must be answers its question can be given: a removed choice or a
    score off the scale would hide the question for ever without a word."""
    if condition.op not in _COMPARED:
        return
    values = condition.value if condition.op in ("in", "not_in") else [condition.value]
    if not isinstance(values, list) or not values:
        raise ValueError(f"question {shown!r}: '{condition.op}' needs a list of values")
    where = f"question {shown!r} shows on {condition.question!r}"
    if isinstance(target, ChoiceQuestion):
        ids = {c.id for c in target.choices} | ({"other"} if target.allow_other else set())
        unknown = [v for v in values if v not in ids]
        if unknown:
            raise ValueError(f"{where} being {unknown[0]!r}, which is not one of its choices")
    elif isinstance(target, ScaleQuestion):
        off = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)
               or not target.min <= v <= target.max]
        if off:
            raise ValueError(f"{where} being {off[0]!r}, which is not on its "
                             f"{target.min}–{target.max} scale")


class SurveyDefinition(_Model):
    """A whole survey. Questions are asked in order; display logic may only look back."""

    title: Text
    intro: Text | None = None
    thank_you: Text | None = None
    default_language: Annotated[str, Field(pattern=LANG)] = "en"
    questions: list[Question] = Field(min_length=1, max_length=100)
    branding: Branding = Branding()

    @field_validator("questions")
    @classmethod
    def _unique_ids(cls, questions: list[Question]) -> list[Question]:
        ids = [q.id for q in questions]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"question ids must be unique; repeated: {', '.join(duplicates)}")
        return questions

    @model_validator(mode="after")
    def _coherent(self) -> SurveyDefinition:
        seen: dict[str, Question] = {}
        for question in self.questions:
            for text in _texts(question):
                if self.default_language not in text:
                    raise ValueError(f"question {question.id!r} has no text in the default "
                                     f"language {self.default_language!r}")
            if question.show_if is not None:
                for condition in question.show_if.conditions:
                    if condition.question not in seen:
                        raise ValueError(f"question {question.id!r} shows on "
                                         f"{condition.question!r}, which is not an earlier "
                                         "question")
                    _check_condition(question.id, condition, seen[condition.question])
            seen[question.id] = question
        if self.default_language not in self.title:
            raise ValueError(f"the title has no text in {self.default_language!r}")
        return self

    @property
    def languages(self) -> list[str]:
        found = set(self.title)
        for question in self.questions:
            for text in _texts(question):
                found |= set(text)
        return sorted(found)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def first_of(self, kind: str) -> ScaleQuestion | None:
        """The survey's headline question of a kind (nps/csat/ces), for the metric columns."""
        return next((q for q in self.questions
                     if isinstance(q, ScaleQuestion) and q.type == kind), None)


def _texts(question: Question) -> list[Text]:
    if isinstance(question, HiddenField):
        return []
    texts: list[Text] = [question.text]
    if question.help:
        texts.append(question.help)
    if isinstance(question, ChoiceQuestion):
        texts += [c.label for c in question.choices]
    return texts


def localise(text: Text | None, language: str, default: str) -> str:
    """The text in ``language``, else its base language (``de`` for ``de-AT``), else default."""
    if not text:
        return ""
    return text.get(language) or text.get(language.partition("-")[0]) or text.get(default, "")


def pipe(template: str, *, customer_name: str = "", attributes: dict[str, Any] | None = None,
         hidden: dict[str, Any] | None = None) -> str:
    """Fill ``{{customer.name}}``, ``{{attributes.tier}}`` and ``{{hidden.store}}``.

    Unknown placeholders become empty text. The result is plain text: templates escape it.
    """
    attributes, hidden = attributes or {}, hidden or {}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "customer.name":
            return customer_name
        scope, _, name = key.partition(".")
        source = attributes if scope == "attributes" else hidden
        found = source.get(name)
        return "" if found is None or isinstance(found, dict | list) else str(found)

    return PIPE_RE.sub(value, template)
