"""Small trained heads on top of the sentence embeddings: multinomial logistic regression.

The weights are trained by ``python -m opencem.textanalytics.training`` (reproducible, see
the app's README) and committed as ``model/sentiment_head.npz`` (a few kilobytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from opencem.textanalytics.nlp.encoder import MODEL_DIR, Vectors

SENTIMENT_HEAD = MODEL_DIR / "sentiment_head.npz"
FAST_HEAD = MODEL_DIR / "fast_sentiment_head.npz"
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Head:
    """``softmax(x @ weights + bias)`` over ``classes``; ``accept`` is the least top
    probability the cascade takes from this head without asking the larger model (0: always)."""

    classes: tuple[str, ...]
    weights: Floats
    bias: Floats
    accept: float = 0.0

    def probabilities(self, vectors: Vectors) -> Floats:
        logits = vectors @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: Floats = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return result

    def save(self, path: Path) -> None:
        np.savez_compressed(path, classes=np.array(self.classes), weights=self.weights,
                            bias=self.bias, accept=np.array(self.accept))

    @classmethod
    def load(cls, path: Path) -> Head:
        with np.load(path) as data:
            accept = float(data["accept"]) if "accept" in data.files else 0.0
            return cls(tuple(str(c) for c in data["classes"]),
                       data["weights"].astype(np.float32), data["bias"].astype(np.float32),
                       accept)


def train_softmax(x: Vectors, y: npt.NDArray[np.int64], classes: tuple[str, ...], *,
                  l2: float = 1e-3, epochs: int = 400, rate: float = 0.5) -> Head:
    """Fit a class-balanced multinomial logistic regression by full-batch gradient descent
    with Adam (deterministic: no sampling)."""
    n, d = x.shape
    k = len(classes)
    counts = np.bincount(y, minlength=k).astype(np.float32)
    sample_weight = (n / (k * np.maximum(counts, 1)))[y]
    onehot = np.eye(k, dtype=np.float32)[y]
    w = np.zeros((d, k), dtype=np.float32)
    b = np.zeros(k, dtype=np.float32)
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    for step in range(1, epochs + 1):
        head = Head(classes, w, b)
        grad_logits = (head.probabilities(x) - onehot) * sample_weight[:, None] / n
        g_w = x.T @ grad_logits + l2 * w
        g_b = grad_logits.sum(axis=0)
        _adam(w, g_w, m_w, v_w, step=step, rate=rate)
        _adam(b, g_b, m_b, v_b, step=step, rate=rate)
    return Head(classes, w.astype(np.float32), b.astype(np.float32))


def _adam(param: Floats, grad: Floats, m: Floats, v: Floats, *, step: int, rate: float) -> None:
    """One Adam step, in place."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    param -= rate * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + eps)


@lru_cache(maxsize=1)
def sentiment_head() -> Head:
    """The committed sentiment head (negative / neutral / positive)."""
    return Head.load(SENTIMENT_HEAD)


@lru_cache(maxsize=1)
def fast_sentiment_head() -> Head:
    """The committed head on the fast encoder's vectors, with the cascade's threshold."""
    return Head.load(FAST_HEAD)
