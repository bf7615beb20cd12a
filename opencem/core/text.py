"""Text rules shared by every input path (API, import, forms)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    return value


CleanStr = Annotated[str, AfterValidator(_no_nul)]
"""A string that no database refuses: NUL bytes are an error, not silently dropped."""


def check_json_object(value: Any, *, max_depth: int = 5, max_keys: int = 200) -> dict[str, Any]:
    """Validate a free-form attributes object: a JSON object of bounded size, no NUL bytes."""
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    _check_json(value, depth=0, max_depth=max_depth, max_keys=max_keys)
    return value


def _check_json(value: Any, *, depth: int, max_depth: int, max_keys: int) -> None:
    if depth > max_depth:
        raise ValueError(f"is nested deeper than {max_depth} levels")
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, dict):
        if len(value) > max_keys:
            raise ValueError(f"has more than {max_keys} keys")
        for key, item in value.items():
            if not isinstance(key, str) or not key or len(key) > 100:
                raise ValueError("keys must be text of 1 to 100 characters")
            _no_nul(key)
            _check_json(item, depth=depth + 1, max_depth=max_depth, max_keys=max_keys)
    elif isinstance(value, list):
        if len(value) > max_keys:
            raise ValueError(f"has a list longer than {max_keys}")
        for item in value:
            _check_json(item, depth=depth + 1, max_depth=max_depth, max_keys=max_keys)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must not contain NaN or infinity")
