"""Sentence splitting and language detection, without a model download."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# A sentence ends at . ! ? … (with any closing quotes or brackets) before white space, or at
# a line break; "e.g." and "Mr." are too rare in customer comments to be worth a model.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\s*\n+\s*")
# Languages customers of a European retailer or service company write in; restricting the
# detector to them stops short comments being read as Latin or Afrikaans.
LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt", "pl", "sv", "da", "no", "fi", "cs",
             "ro", "hu", "el", "tr", "ru", "uk", "ar", "zh", "ja", "ko", "hi")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, trimmed of surrounding white space."""
    spans: list[tuple[int, int]] = []
    at = 0
    for m in _BOUNDARY.finditer(text):
        _add(spans, text, at, m.start())
        at = m.end()
    _add(spans, text, at, len(text))
    return spans


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


@lru_cache(maxsize=1)
def _identifier() -> Any:
    # Untyped package; loading its model takes half a second, so only on first use.
    from py3langid import langid  # type: ignore[import-untyped]  # noqa: PLC0415

    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str, *, default: str = "") -> str:
    """The ISO 639-1 code of ``text``'s language, or ``default`` when it is too short or too
    unclear to tell (fewer than three words, or under 50% confidence)."""
    if len(re.findall(r"\w+", text)) < 3:
        return default
    code, confidence = _identifier().classify(text)
    return str(code) if confidence >= 0.5 else default
