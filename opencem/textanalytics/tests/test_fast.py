"""The fast encoder's table and the cascade (fast head first, MiniLM when it is unsure)."""

from __future__ import annotations

import numpy as np
import pytest

from opencem.textanalytics.nlp import fast
from opencem.textanalytics.nlp.encoder import shared_encoder
from opencem.textanalytics.nlp.fast import (
    FIRST_REAL_TOKEN,
    generate_table,
    load_table,
    shared_fast_encoder,
    table_path,
)
from opencem.textanalytics.nlp.heads import fast_sentiment_head
from opencem.textanalytics.nlp.pipeline import CASCADE_VERSION, MINILM_VERSION, Analyzer
from opencem.textanalytics.training import pick_threshold

# A slice of the vocabulary: the real table (30,522 rows) is generated once, by the first
# analyzer of the session, and cached under the data directory.
ROWS = FIRST_REAL_TOKEN + 24


@pytest.fixture(scope="module")
def partial_table():
    return generate_table(vocab_size=ROWS)


def test_the_table_is_generated_deterministically_from_the_model(partial_table):
    again = generate_table(vocab_size=ROWS)
    assert partial_table.shape == (ROWS, 384)
    assert np.array_equal(partial_table, again)
    assert not partial_table[:FIRST_REAL_TOKEN].any()  # special and unused tokens
    assert np.all(np.linalg.norm(partial_table[FIRST_REAL_TOKEN:], axis=1) > 0)


def test_the_table_is_cached_and_regenerated_when_missing(tmp_path, monkeypatch, partial_table):
    calls: list[int | None] = []

    real = fast.generate_table

    def counting(*, vocab_size=None, threads=None):
        calls.append(vocab_size)
        return real(vocab_size=vocab_size, threads=threads)

    monkeypatch.setattr(fast, "generate_table", counting)
    first = load_table(directory=tmp_path, vocab_size=ROWS)
    assert table_path(tmp_path, vocab_size=ROWS).exists()
    second = load_table(directory=tmp_path, vocab_size=ROWS)
    assert calls == [ROWS]  # read from the file the second time
    assert np.array_equal(first, second)
    assert np.allclose(first, partial_table, atol=1e-2)  # stored as float16

    table_path(tmp_path, vocab_size=ROWS).unlink()
    third = load_table(directory=tmp_path, vocab_size=ROWS)
    assert calls == [ROWS, ROWS]
    assert np.array_equal(first, third)


def test_an_unreadable_table_file_is_regenerated(tmp_path, monkeypatch, partial_table):
    monkeypatch.setattr(fast, "generate_table", lambda **_: partial_table)
    table_path(tmp_path, vocab_size=ROWS).write_bytes(b"not a table")
    assert load_table(directory=tmp_path, vocab_size=ROWS).shape == (ROWS, 384)


def test_a_table_that_cannot_be_kept_is_still_used(tmp_path, monkeypatch, partial_table):
    monkeypatch.setattr(fast, "generate_table", lambda **_: partial_table)
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert load_table(directory=blocked / "nlp", vocab_size=ROWS).shape == (ROWS, 384)


def test_fast_vectors_are_unit_length_and_similar_for_similar_sentences():
    vectors = shared_fast_encoder().encode(["The delivery was late.", "Delivery came late.",
                                            "I love the new sofa colour!", ""])
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.fixture
def minilm_calls(monkeypatch):
    """The sentences MiniLM was asked to embed."""
    encoder = shared_encoder()
    seen: list[list[str]] = []
    original = encoder.encode

    def spy(texts, **kwargs):
        seen.append(list(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(encoder, "encode", spy)
    return seen


def _fast_confidence(sentence: str) -> float:
    probabilities = fast_sentiment_head().probabilities(shared_fast_encoder().encode([sentence]))
    return float(probabilities.max())


def test_a_confident_sentence_never_calls_minilm(minilm_calls):
    sentence = "Absolutely terrible service, the worst ever."
    assert _fast_confidence(sentence) >= fast_sentiment_head().accept
    analyzer = Analyzer(cascade=True)
    (result,) = analyzer.analyze([sentence])
    assert result.sentiment == "negative"
    assert minilm_calls == []
    assert analyzer.model_version == CASCADE_VERSION


def test_an_unsure_sentence_goes_to_minilm_and_takes_its_sentiment(minilm_calls):
    unsure, sure = "I rang the shop about my order.", "Great food and lovely staff."
    assert _fast_confidence(unsure) < fast_sentiment_head().accept <= _fast_confidence(sure)
    analyzer = Analyzer(cascade=True)
    (result,) = analyzer.analyze([f"{sure} {unsure}"])
    assert minilm_calls == [[unsure]]
    assert (analyzer.sentences_seen, analyzer.sentences_to_minilm) == (2, 1)
    slow = Analyzer(cascade=False).analyze([unsure])[0].sentences[0]
    assert (result.sentences[1].sentiment, result.sentences[1].score) == (slow.sentiment,
                                                                          slow.score)


def test_minilm_only_mode_embeds_every_sentence(minilm_calls):
    analyzer = Analyzer(cascade=False)
    analyzer.analyze(["Great food and lovely staff. I rang the shop about my order."])
    assert minilm_calls == [["Great food and lovely staff.", "I rang the shop about my order."]]
    assert analyzer.model_version == MINILM_VERSION


def test_the_threshold_is_the_lowest_that_keeps_macro_f1_close_to_the_slow_head():
    y = np.array([0, 1, 2, 0])
    slow = np.eye(3, dtype=np.float32)[y]  # always right
    fast_p = np.array([[0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.4, 0.5, 0.1]],
                      dtype=np.float32)  # right when sure, wrong when unsure
    threshold, share, f1 = pick_threshold(fast_p, slow, y, give=0.0,
                                          thresholds=(0.4, 0.5, 0.6, 0.7))
    assert (threshold, share, f1) == (0.6, 0.5, 1.0)
