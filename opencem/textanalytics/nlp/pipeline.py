"""The whole text pipeline for a batch of comments, with no database.

redact PII -> detect language -> split sentences -> embed every sentence of the batch at once
-> sentiment per sentence and overall -> emotions, effort, pillars -> themes per sentence.
Everything after redaction reads the redacted text, so stored spans point into
``redacted_text`` and no model or mention ever holds the PII.

By default sentences are embedded by the fast encoder (``nlp.fast``, static vectors distilled
from MiniLM) and its head decides their sentiment; only the sentences it is unsure of (top
probability under the head's ``accept`` threshold) are embedded by MiniLM and take its head's
sentiment. Semantic theme matching needs MiniLM's vectors (the static ones are too coarse for
it), so in the cascade it covers the sentences that went to MiniLM; phrase rules cover every
sentence. ``OPENCEM_NLP_MODE=minilm`` (or ``Analyzer(cascade=False)``) runs MiniLM on every
sentence instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from opencem.textanalytics.nlp.encoder import DIMENSIONS, Encoder, Vectors, shared_encoder
from opencem.textanalytics.nlp.fast import FastEncoder, shared_fast_encoder
from opencem.textanalytics.nlp.heads import Head, fast_sentiment_head, sentiment_head
from opencem.textanalytics.nlp.pii import redact
from opencem.textanalytics.nlp.signals import effort_of, emotions_of, pillars_of, sentiment_cues
from opencem.textanalytics.nlp.text import detect_language, sentence_spans
from opencem.textanalytics.nlp.themes import ThemeMatcher, ThemeSpec

MINILM_VERSION = "minilm-int8+sentiment-head-1+cues-1"
CASCADE_VERSION = "cascade-1+static-1+minilm-int8+sentiment-head-1+cues-1"
CASCADE = os.environ.get("OPENCEM_NLP_MODE", "cascade") != "minilm"
MODEL_VERSION = CASCADE_VERSION if CASCADE else MINILM_VERSION
# How far one customer-service cue moves the head's log-odds (see ``signals.sentiment_cues``).
CUE_WEIGHT = 1.0


@dataclass(frozen=True)
class SentenceResult:
    """One sentence of the redacted text and its sentiment."""

    start: int
    end: int
    sentiment: str
    score: float


@dataclass(frozen=True)
class MentionResult:
    """A theme in one sentence: the sentence's span (in the redacted text) and sentiment."""

    theme: str
    start: int
    end: int
    sentiment: str
    score: float
    method: str


@dataclass(frozen=True)
class TextResult:
    """Everything the pipeline says about one comment."""

    language: str
    redacted_text: str
    pii: tuple[str, ...]
    sentiment: str
    score: float
    sentences: tuple[SentenceResult, ...] = ()
    emotions: tuple[str, ...] = ()
    effort: tuple[str, ...] = ()
    pillars: tuple[str, ...] = ()
    mentions: tuple[MentionResult, ...] = field(default=())

    @property
    def themes(self) -> list[str]:
        """The theme codes mentioned, each once, in order of first mention."""
        return list(dict.fromkeys(m.theme for m in self.mentions))


def _label(probabilities: np.ndarray, classes: tuple[str, ...]) -> tuple[str, float]:
    positive, negative = classes.index("positive"), classes.index("negative")
    score = float(probabilities[positive] - probabilities[negative])
    return classes[int(probabilities.argmax())], round(score, 3)


class Analyzer:
    """Analyses batches of comments; build one per process and per taxonomy."""

    def __init__(self, *, themes: Sequence[ThemeSpec] = (), encoder: Encoder | None = None,
                 head: Head | None = None, cascade: bool = CASCADE,
                 fast: FastEncoder | None = None, fast_head: Head | None = None) -> None:
        self.encoder = encoder or shared_encoder()
        self.head = head or sentiment_head()
        self.fast = (fast or shared_fast_encoder()) if cascade else None
        self.fast_head = (fast_head or fast_sentiment_head()) if cascade else None
        self.matcher = ThemeMatcher(themes, encoder=self.encoder)
        self.sentences_seen = 0
        self.sentences_to_minilm = 0

    @property
    def model_version(self) -> str:
        """What produced the results (stored with each analysis)."""
        return CASCADE_VERSION if self.fast is not None else MINILM_VERSION

    def _embed(self, sentences: list[str]) -> tuple[Vectors, np.ndarray]:
        """MiniLM vectors (for themes; zero rows for sentences the cascade did not send to
        MiniLM) and sentiment probabilities, one row per sentence."""
        self.sentences_seen += len(sentences)
        if self.fast is None or self.fast_head is None:
            vectors = self.encoder.encode(sentences)
            self.sentences_to_minilm += len(sentences)
            return vectors, self.head.probabilities(vectors)
        probabilities = self.fast_head.probabilities(self.fast.encode(sentences))
        unsure = np.flatnonzero(probabilities.max(axis=1) < self.fast_head.accept)
        vectors = np.zeros((len(sentences), DIMENSIONS), dtype=np.float32)
        if len(unsure):
            vectors[unsure] = self.encoder.encode([sentences[i] for i in unsure])
            probabilities[unsure] = self.head.probabilities(vectors[unsure])
            self.sentences_to_minilm += len(unsure)
        return vectors, probabilities

    def analyze(self, texts: Sequence[str], *, languages: Sequence[str] = ()) -> list[TextResult]:
        """One result per text, in order. ``languages`` gives known languages (blank: detect)."""
        redacted = [redact(t or "") for t in texts]
        spans = [sentence_spans(r) for r, _ in redacted]
        flat = [r[s:e] for (r, _), sp in zip(redacted, spans, strict=True) for s, e in sp]
        if flat:
            vectors, probabilities = self._embed(flat)
            probabilities = self._with_cues(probabilities, flat)
        else:
            vectors = np.zeros((0, DIMENSIONS), np.float32)
            probabilities = vectors[:, :3]
        results: list[TextResult] = []
        at = 0
        for i, ((clean, findings), sp) in enumerate(zip(redacted, spans, strict=True)):
            known = languages[i] if i < len(languages) else ""
            rows = slice(at, at + len(sp))
            at += len(sp)
            results.append(self._one(clean, tuple(f.kind for f in findings), sp,
                                     (vectors[rows], probabilities[rows]), known))
        return results

    def _with_cues(self, probabilities: np.ndarray, sentences: list[str]) -> np.ndarray:
        cues = np.array([sentiment_cues(s) for s in sentences], dtype=np.float32)
        if not cues.any():
            return probabilities
        classes = self.head.classes
        shift = np.zeros_like(probabilities)
        shift[:, classes.index("positive")] = CUE_WEIGHT * cues
        shift[:, classes.index("negative")] = -CUE_WEIGHT * cues
        shift[:, classes.index("neutral")] = -0.5 * CUE_WEIGHT * np.abs(cues)
        logits = np.log(np.maximum(probabilities, 1e-6)) + shift
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        shifted: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return shifted

    def _one(self, text: str, pii: tuple[str, ...], spans: list[tuple[int, int]],
             embedded: tuple[Vectors, np.ndarray], language: str) -> TextResult:
        vectors, probabilities = embedded
        language = language or detect_language(text)
        if not spans:
            return TextResult(language, text, pii, "neutral", 0.0)
        classes = self.head.classes
        sentences = tuple(SentenceResult(s, e, *_label(p, classes))
                          for (s, e), p in zip(spans, probabilities, strict=True))
        overall, score = _label(probabilities.mean(axis=0), classes)
        words = [text[s.start:s.end] for s in sentences]
        # "The queue was short" is no effort: only sentences that are not positive count.
        effort = effort_of(" \n".join(w for w, s in zip(words, sentences, strict=True)
                                      if s.sentiment != "positive"))
        mentions = tuple(
            MentionResult(m.code, sentences[m.sentence].start, sentences[m.sentence].end,
                          sentences[m.sentence].sentiment, sentences[m.sentence].score, m.method)
            for m in self.matcher.match(words, vectors))
        return TextResult(
            language=language, redacted_text=text, pii=pii, sentiment=overall, score=score,
            sentences=sentences,
            emotions=tuple(emotions_of(zip(words, (s.sentiment for s in sentences), strict=True))),
            effort=tuple(effort), pillars=tuple(pillars_of(text, effort=effort)),
            mentions=mentions)
