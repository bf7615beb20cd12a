"""Pydantic models of what journeys take in: a touchpoint's mapping rule, and a whole
journey as a JSON document (the API's export and import, and the demo's map)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opencem.core.text import CleanStr
from opencem.customers.choices import Channel
from opencem.journeys.choices import JourneyMetric

Slug = Annotated[CleanStr, Field(min_length=1, max_length=64)]
AttributeValue = str | bool | int | float
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MappingRule(_Strict):
    """Which interactions (and the responses and feedback about them) belong to a touchpoint.

    Every condition given must hold: the interaction's kind is one of ``kinds``, its channel
    one of ``channels``, its touchpoint slug one of ``touchpoints``, and each of
    ``attributes`` equals the interaction's attribute of that name. A response or feedback
    item with no interaction matches on its own touchpoint and channel, when the rule asks
    nothing of kinds or attributes.
    """

    kinds: list[Slug] = Field(default_factory=list, max_length=20)
    channels: list[Channel] = Field(default_factory=list, max_length=20)
    touchpoints: list[Slug] = Field(default_factory=list, max_length=20)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, max_length=10)

    @field_validator("attributes")
    @classmethod
    def _keys(cls, value: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
        for key in value:
            # The key becomes a JSON path in a query: plain names only.
            if not key or len(key) > 64 or not set(key) <= _KEY_CHARS or key[0].isdigit():
                raise ValueError(f"attribute name {key!r} must be lower-case letters, digits "
                                 "and _, not starting with a digit")
        for item in value.values():
            if isinstance(item, str) and "\x00" in item:
                raise ValueError("must not contain NUL bytes")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> MappingRule:
        if not (self.kinds or self.channels or self.touchpoints or self.attributes):
            raise ValueError("a mapping rule needs at least one condition (kinds, channels, "
                             "touchpoints or attributes)")
        return self

    @property
    def interaction_only(self) -> bool:
        """Whether only interactions can tell (kind or attribute conditions)."""
        return bool(self.kinds or self.attributes)


class TouchpointDoc(_Strict):
    """A touchpoint in a journey document."""

    name: CleanStr = Field(min_length=1, max_length=100)
    channel: Channel | None = None
    owner_unit: CleanStr = Field(min_length=1, max_length=64, description="a unit code")
    rule: MappingRule
    metric: JourneyMetric = JourneyMetric.CSAT
    target: float
    desired: CleanStr = Field("", max_length=300)
    importance: float = Field(1.0, gt=0, le=10)


class StageDoc(_Strict):
    """A stage in a journey document, with its touchpoints in order."""

    name: CleanStr = Field(min_length=1, max_length=100)
    touchpoints: list[TouchpointDoc] = Field(default_factory=list, max_length=50)


class JourneyDoc(_Strict):
    """A whole journey as JSON: what ``GET /journeys/{id}/export`` gives and
    ``POST /journeys/import`` takes."""

    format: str = Field("opencem.journey/1", pattern=r"^opencem\.journey/1$")
    name: CleanStr = Field(min_length=1, max_length=200)
    unit: CleanStr = Field(min_length=1, max_length=64, description="the owning unit's code")
    persona: CleanStr = Field("", max_length=200)
    segment_attribute: CleanStr = Field("", max_length=100)
    segment_value: CleanStr = Field("", max_length=200)
    description: CleanStr = Field("", max_length=5000)
    stages: list[StageDoc] = Field(default_factory=list, max_length=20)
