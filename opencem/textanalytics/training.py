"""Train the sentiment heads: ``python -m opencem.textanalytics.training [--data var/nlpdata]``.

Reproducible: the data come from pinned registry packages (see ``nlp.datasets``), the split is
a hash of each movie's name, and the optimiser samples nothing. Writes
``model/sentiment_head.npz`` (on MiniLM's embeddings) and ``model/fast_sentiment_head.npz``
(on the fast encoder's vectors, with the cascade's threshold) and prints what it measured on
the training and validation rows (the held-out evaluation is ``make bench-text``).
``--fast-only`` keeps the committed MiniLM head and trains only the fast one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from opencem.textanalytics.nlp.datasets import CLASSES, is_validation, training_set
from opencem.textanalytics.nlp.encoder import Encoder
from opencem.textanalytics.nlp.fast import FastEncoder
from opencem.textanalytics.nlp.heads import (
    FAST_HEAD,
    SENTIMENT_HEAD,
    Head,
    train_softmax,
)

# Chosen on a validation split of the training rows (3,000 of them), never the held-out sets.
L2 = 1e-4
EPOCHS = 1000
FAST_L2 = 1e-5
FAST_EPOCHS = 2000
# The cascade's threshold: the lowest whose macro-F1 on the validation split stays within
# this of MiniLM alone.
F1_GIVE = 0.015
THRESHOLDS = tuple(round(0.35 + 0.025 * i, 3) for i in range(26))


def macro_f1(truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64], k: int) -> float:
    """Mean over the ``k`` classes of each class's F1."""
    scores = []
    for c in range(k):
        tp = int(((truth == c) & (predicted == c)).sum())
        fp = int(((truth != c) & (predicted == c)).sum())
        fn = int(((truth == c) & (predicted != c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def pick_threshold(fast: npt.NDArray[np.float32], slow: npt.NDArray[np.float32],
                   y: npt.NDArray[np.int64], *, give: float = F1_GIVE,
                   thresholds: Sequence[float] = THRESHOLDS) -> tuple[float, float, float]:
    """``(threshold, share sent to the slow head, macro-F1)``: the lowest threshold whose
    cascade macro-F1 is within ``give`` of the slow head alone (the highest otherwise)."""
    k = fast.shape[1]
    target = macro_f1(y, slow.argmax(axis=1), k) - give
    for threshold in sorted(thresholds):
        unsure = fast.max(axis=1) < threshold
        predicted = np.where(unsure, slow.argmax(axis=1), fast.argmax(axis=1))
        f1 = macro_f1(y, predicted, k)
        if f1 >= target:
            return threshold, float(unsure.mean()), f1
    return max(thresholds), float((fast.max(axis=1) < max(thresholds)).mean()), f1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("var/nlpdata"))
    parser.add_argument("--out", type=Path, default=SENTIMENT_HEAD)
    parser.add_argument("--fast-out", type=Path, default=FAST_HEAD)
    parser.add_argument("--fast-only", action="store_true")
    args = parser.parse_args(argv)
    rows = training_set(args.data)
    texts = [r.text for r in rows]
    y = np.array([CLASSES.index(r.label) for r in rows], dtype=np.int64)
    encoder = Encoder()
    if args.fast_only:
        head = Head.load(args.out)
    else:
        x = encoder.encode(texts)
        head = train_softmax(x, y, CLASSES, l2=L2, epochs=EPOCHS)
        accuracy = float((head.probabilities(x).argmax(axis=1) == y).mean())
        head.save(args.out)
        counts = dict(zip(CLASSES, (int(c) for c in np.bincount(y)), strict=True))
        sys.stdout.write(f"trained on {len(rows)} rows ({counts}); "
                         f"training accuracy {accuracy:.3f}; wrote {args.out}\n")
    validation = np.array([is_validation(t) for t in texts])
    fast_x = FastEncoder().encode(texts)
    fast = train_softmax(fast_x[~validation], y[~validation], CLASSES, l2=FAST_L2,
                         epochs=FAST_EPOCHS)
    slow = head.probabilities(encoder.encode([t for t, v in zip(texts, validation,
                                                                 strict=True) if v]))
    fast_p = fast.probabilities(fast_x[validation])
    threshold, share, f1 = pick_threshold(fast_p, slow, y[validation])
    Head(fast.classes, fast.weights, fast.bias, threshold).save(args.fast_out)
    k = len(CLASSES)
    sys.stdout.write(
        f"fast head: {int((~validation).sum())} rows; validation ({int(validation.sum())} rows) "
        f"macro-F1 fast {macro_f1(y[validation], fast_p.argmax(axis=1), k):.3f}, "
        f"MiniLM {macro_f1(y[validation], slow.argmax(axis=1), k):.3f}, cascade {f1:.3f} at "
        f"threshold {threshold} ({share:.0%} of sentences to MiniLM); wrote {args.fast_out}\n")


if __name__ == "__main__":
    main()
