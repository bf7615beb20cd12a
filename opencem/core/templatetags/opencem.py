"""Template filters every app may use: ``{% load opencem %}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def pairs(value: Any) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of a mapping, sorted by key.

    ``{% for k, v in attrs.items %}`` looks up the key ``"items"`` before the dict method, so
    customer data with an attribute named ``items`` (or ``keys``, ``values``) would break the
    page; this filter never consults the keys.
    """
    if not isinstance(value, Mapping):
        return []
    return sorted(value.items(), key=lambda kv: str(kv[0]))
