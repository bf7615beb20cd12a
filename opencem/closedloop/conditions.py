"""Alert rule conditions: a pydantic-validated tree of ``all``/``any`` groups, and how a
response or feedback item (its ``Facts``) is judged against it.

A condition is ``{"field": ..., "op": ..., "value": ...}``; a group is ``{"match": "all" |
"any", "conditions": [...]}`` and may nest. Fields:

- scores ``nps``, ``csat``, ``ces``, ``rating``, ``sentiment_score``: ``lt lte eq ne gte gt``
- ``sentiment`` (negative, neutral, positive), ``touchpoint``, ``channel``, ``kind``:
  ``eq ne in not_in``
- ``theme``, ``emotion``: ``in`` (any of the codes)
- ``keyword``: ``in`` (any of the words or phrases, whole words, any case)
- ``unit``: ``in`` (unit codes; their subtrees)
- ``customer.<attribute>`` (value, tier, ...): any of the above operators

A fact that is unknown (no NPS on a CSAT survey, no customer) makes its condition false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NUMERIC_OPS = ("lt", "lte", "eq", "ne", "gte", "gt")
CHOICE_OPS = ("eq", "ne", "in", "not_in")
SCORE_FIELDS = ("nps", "csat", "ces", "rating", "sentiment_score")
CHOICE_FIELDS = ("sentiment", "touchpoint", "channel", "kind")
LIST_FIELDS = ("theme", "emotion", "keyword", "unit")
TEXT_FIELDS = frozenset({"sentiment", "sentiment_score", "theme", "emotion"})
SENTIMENTS = ("negative", "neutral", "positive")
ATTRIBUTE_RE = re.compile(r"^customer\.[A-Za-z0-9_]{1,64}$")
Op = Literal["lt", "lte", "eq", "ne", "gte", "gt", "in", "not_in"]
Scalar = str | int | float | bool


class Condition(BaseModel):
    """One test of one fact."""

    model_config = ConfigDict(extra="forbid")

    field: Annotated[str, Field(min_length=1, max_length=80)]
    op: Op
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _check(self) -> Condition:
        name, op, value = self.field, self.op, self.value
        listed = op in ("in", "not_in")
        if listed != isinstance(value, list):
            raise ValueError(f"'{op}' takes {'a list' if listed else 'one value'}")
        if isinstance(value, list) and not 1 <= len(value) <= 100:
            raise ValueError("give between 1 and 100 values")
        if name in SCORE_FIELDS:
            if op not in NUMERIC_OPS or isinstance(value, bool | str | list):
                raise ValueError(f"{name} is compared with a number ({', '.join(NUMERIC_OPS)})")
        elif name in CHOICE_FIELDS:
            if op not in CHOICE_OPS:
                raise ValueError(f"{name} takes {', '.join(CHOICE_OPS)}")
            if name == "sentiment":
                values = value if isinstance(value, list) else [value]
                if any(v not in SENTIMENTS for v in values):
                    raise ValueError(f"sentiment is one of {', '.join(SENTIMENTS)}")
        elif name in LIST_FIELDS:
            if op != "in" or not isinstance(value, list):
                raise ValueError(f"{name} takes 'in' with a list")
            if any(not isinstance(v, str) or not v.strip() for v in value):
                raise ValueError(f"{name} values are non-empty texts")
        elif not ATTRIBUTE_RE.match(name):
            raise ValueError(f"unknown field {name!r}: one of "
                             f"{', '.join(SCORE_FIELDS + CHOICE_FIELDS + LIST_FIELDS)} "
                             "or customer.<attribute>")
        return self


class Group(BaseModel):
    """Conditions combined: all of them hold, or any of them."""

    model_config = ConfigDict(extra="forbid")

    match: Literal["all", "any"] = "all"
    conditions: Annotated[list[Condition | Group], Field(min_length=1, max_length=50)]


def parse(data: Any) -> Group:
    """The conditions as a ``Group``; raises pydantic's ``ValidationError``."""
    return Group.model_validate(data)


def fields_of(group: Group) -> set[str]:
    found: set[str] = set()
    for item in group.conditions:
        found |= fields_of(item) if isinstance(item, Group) else {item.field}
    return found


def needs_text(group: Group) -> bool:
    """Whether a condition looks at text analytics' findings."""
    return bool(fields_of(group) & TEXT_FIELDS)


def unit_codes(group: Group) -> set[str]:
    codes: set[str] = set()
    for item in group.conditions:
        if isinstance(item, Group):
            codes |= unit_codes(item)
        elif item.field == "unit" and isinstance(item.value, list):
            codes |= {str(v) for v in item.value}
    return codes


@dataclass
class Facts:
    """What a rule may look at about one response or feedback item."""

    unit_id: int
    unit_path: str
    nps: int | None = None
    csat: int | None = None
    ces: int | None = None
    rating: int | None = None
    touchpoint: str = ""
    channel: str = ""
    kind: str = ""
    text: str = ""
    customer_id: int | None = None
    customer: dict[str, Any] = field(default_factory=dict)
    sentiment: str | None = None
    sentiment_score: float | None = None
    themes: list[str] = field(default_factory=list)
    emotions: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The facts worth keeping with an alert (no free text)."""
        return {k: v for k, v in (("nps", self.nps), ("csat", self.csat), ("ces", self.ces),
                                  ("rating", self.rating), ("touchpoint", self.touchpoint),
                                  ("channel", self.channel), ("kind", self.kind),
                                  ("sentiment", self.sentiment), ("themes", self.themes))
                if v not in (None, "", [])}


def _compare(op: str, fact: Any, value: Any) -> bool:
    if fact is None:
        return False
    try:
        if op == "lt":
            return bool(fact < value)
        if op == "lte":
            return bool(fact <= value)
        if op == "gt":
            return bool(fact > value)
        if op == "gte":
            return bool(fact >= value)
    except TypeError:
        return False
    if op == "eq":
        return bool(fact == value)
    if op == "ne":
        return bool(fact != value)
    if op == "in":
        return fact in value
    return fact not in value


def _number(value: Any) -> Any:
    """A customer attribute as a number where it reads as one (``"1200"`` for value)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


_WORDS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _keyword_pattern(words: list[Any]) -> re.Pattern[str]:
    key = tuple(str(w).strip().lower() for w in words)
    found = _WORDS.get(key)
    if found is None:
        found = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in key) + r")\b",
                           re.IGNORECASE)
        if len(_WORDS) < 1000:
            _WORDS[key] = found
        return found
    return found


def _holds(item: Condition, facts: Facts, unit_paths: dict[str, str]) -> bool:
    name, op, value = item.field, item.op, item.value
    if name in ("nps", "csat", "ces", "rating", "sentiment_score", "sentiment", "touchpoint",
                "channel", "kind"):
        fact = getattr(facts, name)
        if fact == "" and name in ("touchpoint", "channel", "kind"):
            fact = None
        return _compare(op, fact, value)
    values = value if isinstance(value, list) else [value]
    if name == "keyword":
        return bool(facts.text) and bool(_keyword_pattern(values).search(facts.text))
    if name in ("theme", "emotion"):
        have = set(facts.themes if name == "theme" else facts.emotions)
        return bool(have & {str(v) for v in values})
    if name == "unit":
        return any(facts.unit_path.startswith(unit_paths[str(code)])
                   for code in values if str(code) in unit_paths)
    attribute = facts.customer.get(name.removeprefix("customer."))
    if op in ("lt", "lte", "gt", "gte"):
        return _compare(op, _number(attribute), value)
    if op in ("eq", "ne") and isinstance(value, int | float):
        return _compare(op, _number(attribute), value)
    return _compare(op, attribute, value)


def matches(group: Group, facts: Facts, unit_paths: dict[str, str]) -> bool:
    """Whether ``facts`` meet the conditions; ``unit_paths`` maps the codes of ``unit``
    conditions to their materialised paths."""
    results = (matches(item, facts, unit_paths) if isinstance(item, Group)
               else _holds(item, facts, unit_paths) for item in group.conditions)
    return all(results) if group.match == "all" else any(results)
