"""Theme matching: phrase rules with exclusions, and semantic matching by sentence embeddings.

A theme matches a sentence when one of its phrases appears in it (whole words, case-blind; a
trailing ``*`` matches any ending: ``refund*``), or when the sentence's embedding is close
enough to the theme's label or one of its phrases; either way not when one of the theme's
exclusions appears in the sentence. A mention keeps the sentence's span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from opencem.textanalytics.nlp.encoder import Encoder, Vectors

SEMANTIC_THRESHOLD = 0.5
SEMANTIC_PER_SENTENCE = 2


@dataclass(frozen=True)
class ThemeSpec:
    """What the matcher needs of a theme."""

    code: str
    label: str
    category: str
    phrases: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    semantic: bool = True


@dataclass(frozen=True)
class Match:
    """A theme found in one sentence; ``method`` is ``rule`` or ``semantic``."""

    code: str
    sentence: int
    method: str
    similarity: float


def phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """One case-blind whole-word pattern for ``phrases`` (``*`` at the end: any ending)."""
    parts = []
    for raw in phrases:
        phrase = raw.strip()
        if not phrase:
            continue
        wild = phrase.endswith("*")
        body = re.escape(phrase.rstrip("*").strip()).replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if wild else r"\b"))
    if not parts:
        return None
    return re.compile(r"\b(?:" + "|".join(parts) + ")", re.IGNORECASE)


class ThemeMatcher:
    """Matches sentences against a fixed list of themes."""

    def __init__(self, themes: Sequence[ThemeSpec], *, encoder: Encoder | None = None,
                 threshold: float = SEMANTIC_THRESHOLD) -> None:
        self.themes = list(themes)
        self.threshold = threshold
        self._phrases = [phrase_pattern(t.phrases) for t in self.themes]
        self._exclusions = [phrase_pattern(t.exclusions) for t in self.themes]
        self._prototypes: Vectors | None = None
        self._owner: list[int] = []
        if encoder is not None and any(t.semantic for t in self.themes):
            texts: list[str] = []
            for i, theme in enumerate(self.themes):
                if not theme.semantic:
                    continue
                for text in (theme.label, *(p.rstrip("*") for p in theme.phrases)):
                    texts.append(text)
                    self._owner.append(i)
            self._prototypes = encoder.encode(texts)

    def match(self, sentences: Sequence[str], vectors: Vectors | None = None) -> list[Match]:
        """The themes of each sentence (rules first; then up to two semantic matches)."""
        found: list[Match] = []
        sims: Vectors | None = None
        if vectors is not None and self._prototypes is not None and len(sentences):
            sims = vectors @ self._prototypes.T
        for s, sentence in enumerate(sentences):
            matched: set[int] = set()
            for i, pattern in enumerate(self._phrases):
                if pattern is None or not pattern.search(sentence):
                    continue
                if not self._excluded(i, sentence):
                    matched.add(i)
                    found.append(Match(self.themes[i].code, s, "rule", 1.0))
            if sims is None:
                continue
            best: dict[int, float] = {}
            for j in np.flatnonzero(sims[s] >= self.threshold):
                owner = self._owner[int(j)]
                best[owner] = max(best.get(owner, 0.0), float(sims[s, j]))
            ranked = sorted(best.items(), key=lambda kv: -kv[1])
            for owner, similarity in ranked[:SEMANTIC_PER_SENTENCE]:
                if owner in matched or self._excluded(owner, sentence):
                    continue
                found.append(Match(self.themes[owner].code, s, "semantic", round(similarity, 3)))
        return found

    def _excluded(self, i: int, sentence: str) -> bool:
        pattern = self._exclusions[i]
        return pattern is not None and pattern.search(sentence) is not None
