"""Discovery: cluster recent comments that no theme covers and propose new themes (a label,
keywords and example comments) for an analyst to accept, rename or reject.

Comments are embedded with the pipeline's encoder and grouped by leader clustering on cosine
similarity (taken densest first, a comment far from every centre starts a cluster), then
three rounds of joining the closest centre and recomputing the centres. Keywords
are the words most over-represented in a cluster against all uncovered comments.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from opencem.textanalytics.nlp.encoder import Encoder, Vectors, shared_encoder

SIMILARITY = 0.55
_WORD = re.compile(r"[a-zA-Z][a-zA-Z'\-]{2,}")
_STOP = frozenset([
    "the", "and", "for", "was", "were", "with", "that", "this", "have", "has", "had", "not",
    "but", "are", "you", "your", "our", "they", "them", "their", "his", "her", "she", "him",
    "its", "from", "very", "just", "all", "any", "can", "could", "would", "should", "will",
    "been", "being", "there", "here", "what", "when", "where", "which", "who", "why", "how",
    "out", "about", "into", "over", "than", "then", "too", "also", "only", "some", "more",
    "most", "much", "many", "one", "two", "get", "got", "did", "does", "done", "don't",
    "didn't", "wasn't", "weren't", "isn't", "i'm", "i've", "it's", "that's", "there's",
    "again", "still", "even", "really", "well", "back", "like", "made", "make", "time",
    "times", "day", "days", "told", "said", "say", "asked", "ask", "went", "came", "come",
    "going", "after", "before", "because", "while",
])


@dataclass(frozen=True)
class Cluster:
    """A group of similar uncovered comments: indexes into the input, nearest first."""

    members: list[int]
    keywords: list[str]

    @property
    def label(self) -> str:
        return " / ".join(k.capitalize() for k in self.keywords[:2])


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP
            and not w.isupper()}


def cluster(texts: Sequence[str], *, encoder: Encoder | None = None, min_size: int = 5,
            similarity: float = SIMILARITY, max_clusters: int = 10) -> list[Cluster]:
    """Clusters of at least ``min_size`` texts, largest first."""
    if len(texts) < min_size:
        return []
    vectors: Vectors = (encoder or shared_encoder()).encode(list(texts))
    # Leaders, densest first (the comment with the most close neighbours), so the result does
    # not depend on the order the comments came in: a comment far from every centre so far
    # starts a cluster.
    density = (vectors @ vectors.T >= similarity).sum(axis=1)
    centres: list[np.ndarray] = []
    for i in np.argsort(-density, kind="stable"):
        v = vectors[int(i)]
        if not centres or float((np.stack(centres) @ v).max()) < similarity:
            centres.append(v.copy())
    # Then a few rounds of "join the closest centre (if close enough), recompute the centres",
    # so the result barely depends on the order the comments came in.
    assignment = np.full(len(texts), -1)
    for _ in range(3):
        sims = vectors @ np.stack(centres).T
        best = sims.argmax(axis=1)
        close = sims[np.arange(len(texts)), best] >= similarity - 0.05
        assignment = np.where(close, best, -1)
        fresh = []
        for c in range(len(centres)):
            members = vectors[assignment == c]
            mean = members.mean(axis=0) if len(members) else centres[c]
            fresh.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        centres = fresh
    everywhere = Counter(w for t in texts for w in _words(t))
    found: list[Cluster] = []
    for c, centre in enumerate(centres):
        members = np.flatnonzero(assignment == c)
        if len(members) < min_size:
            continue
        order = members[np.argsort(-(vectors[members] @ centre))]
        counts = Counter(w for i in order for w in _words(texts[int(i)]))
        score = {w: n / len(members) - everywhere[w] / len(texts)
                 for w, n in counts.items() if n >= 2}
        keywords = sorted(score, key=lambda w: (-score[w], w))[:5]
        if keywords:
            found.append(Cluster([int(i) for i in order], keywords))
    found.sort(key=lambda cl: -len(cl.members))
    return found[:max_clusters]
