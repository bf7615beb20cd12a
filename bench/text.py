"""Text analytics benchmark and evaluation: ``make bench-text`` (``python -m bench.text``).

Prints, in one run, for the default pipeline (the cascade: fast encoder, MiniLM for the
sentences its head is unsure of) and, for comparison, MiniLM on every sentence:
* comments per second of the full pipeline (redaction, language, sentences, embeddings,
  sentiment, emotions, effort, pillars, starter-taxonomy themes), warm, on the threads given
  by ``OPENCEM_NLP_THREADS`` (default: every core; ``make bench-text`` sets 2), and the share
  of sentences that went to MiniLM;
* accuracy and macro-F1 of sentiment on the held-out labelled sets, next to VADER on the same
  rows (3 classes where the data has a neutral class; on 2-class data a score ≥ 0 counts as
  positive for both);
* PII redaction recall on a generated set of patterned PII, and how many benign numbers
  (order numbers, prices, dates) were masked by mistake.

Needs ``make nlp-data`` (the labelled data packages in ``var/nlpdata``) and vaderSentiment.
Environment: ``BENCH_TEXT_COMMENTS`` (comments timed, default 2,000), ``NLP_DATA``.
"""

from __future__ import annotations

import os
import random
import string
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from opencem.textanalytics.nlp.datasets import CLASSES, held_out_sets
from opencem.textanalytics.nlp.pii import luhn_ok, redact
from opencem.textanalytics.nlp.pipeline import Analyzer
from opencem.textanalytics.nlp.starter import starter_themes


def macro_f1(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> float:
    scores = []
    for c in classes:
        tp = sum(t == c and p == c for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != c and p == c for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == c and p != c for t, p in zip(truth, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)


def _vader_label(compound: float, three: bool) -> str:
    if not three:
        return "positive" if compound >= 0 else "negative"
    if compound >= 0.05:
        return "positive"
    return "negative" if compound <= -0.05 else "neutral"


def evaluate(analyzers: dict[str, Analyzer], data_dir: Path) -> None:
    vader = SentimentIntensityAnalyzer()
    print("\nSentiment on held-out sets (never trained on)")
    print(f"{'set':<42} {'rows':>5} {'method':<22} {'acc':>6} {'F1':>6} {'to MiniLM':>9}")
    for name, rows in held_out_sets(data_dir).items():
        truth = [r.label for r in rows]
        classes = [c for c in CLASSES if c in set(truth)]
        three = len(classes) == 3
        for method, analyzer in analyzers.items():
            seen, slow = analyzer.sentences_seen, analyzer.sentences_to_minilm
            results = analyzer.analyze([r.text for r in rows])
            share = ((analyzer.sentences_to_minilm - slow)
                     / max(analyzer.sentences_seen - seen, 1))
            ours = [r.sentiment if three else ("positive" if r.score >= 0 else "negative")
                    for r in results]
            print(f"{name:<42} {len(rows):>5} {method:<22} {accuracy(truth, ours):>6.3f} "
                  f"{macro_f1(truth, ours, classes):>6.3f} {share:>9.0%}")
        theirs = [_vader_label(vader.polarity_scores(r.text)["compound"], three) for r in rows]
        print(f"{name:<42} {len(rows):>5} {'VADER':<22} {accuracy(truth, theirs):>6.3f} "
              f"{macro_f1(truth, theirs, classes):>6.3f}")


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        if luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable")


def _iban(country: str, length: int, rng: random.Random) -> str:
    bban = "".join(rng.choice(string.digits) for _ in range(length - 4))
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in moved)) % 97
    return f"{country}{check:02d}{bban}"


def _amex(v: str) -> str:
    return f"{v[:4]} {v[4:10]} {v[10:]}"


def _grouped(value: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(value[i:i + size] for i in range(0, len(value), size))


def pii_cases(n: int, seed: int = 7) -> tuple[list[tuple[str, str]], list[str]]:
    """``(comment, pii value)`` pairs and comments with benign numbers only."""
    rng = random.Random(seed)
    first = ["john", "mary", "a.khan", "li.wei", "sophie_m", "j-p.dupont", "ravi99"]
    domains = ["example.com", "mail.co.uk", "post.de", "web-mail.fr", "corp.example.org"]
    phones = [
        lambda: f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        lambda: f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        lambda: f"+44 (0)20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        lambda: f"0{rng.randint(1000, 1999)} {rng.randint(100000, 999999)}",
        lambda: f"({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        lambda: f"{rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        lambda: f"+1 {rng.randint(200, 999)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
        lambda: f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
                f"{rng.randint(10, 99)}",
        lambda: f"0049 30 {rng.randint(1000000, 9999999)}",
        lambda: f"07{rng.randint(100000000, 999999999)}",
    ]
    cards = [lambda: _grouped(_luhn_complete("4", 16, rng)),
             lambda: _grouped(_luhn_complete("5" + str(rng.randint(1, 5)), 16, rng), sep="-"),
             lambda: _luhn_complete("4", 16, rng),
             lambda: _amex(_luhn_complete("37", 15, rng))]
    ibans = [lambda: _grouped(_iban("GB", 22, rng)), lambda: _iban("DE", 22, rng),
             lambda: _grouped(_iban("FR", 27, rng)), lambda: _iban("NL", 18, rng),
             lambda: _grouped(_iban("ES", 24, rng))]
    emails = [lambda: f"{rng.choice(first)}@{rng.choice(domains)}",
              lambda: f"{rng.choice(first).upper()}.{rng.randint(1, 99)}@{rng.choice(domains)}"]
    templates = ["Please call me on {} about my order.", "My number is {}, nobody rang back.",
                 "Refund it to {} please.", "Contact: {}.", "I paid with {} and was charged twice",
                 "({}) is where you can reach me", "email me at {} or I'll complain"]
    cases: list[tuple[str, str]] = []
    for i in range(n):
        kind = [phones, cards, ibans, emails][i % 4]
        value = rng.choice(kind)()
        cases.append((rng.choice(templates).format(value), value))
    benign = [f"Order {rng.randint(10000000, 99999999)} arrived on "
              f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/2026 and cost £{rng.randint(5, 900)}.99"
              for _ in range(n // 4)]
    return cases, benign


def pii_recall(n: int = 2000) -> None:
    cases, benign = pii_cases(n)
    missed = [(c, v) for c, v in cases if v in redact(c)[0] or
              "".join(ch for ch in v if ch.isalnum())[-6:] in redact(c)[0]]
    masked = sum(1 for b in benign if redact(b)[1])
    print(f"\nPII redaction recall on {len(cases)} generated comments (emails, phones in 10 "
          f"formats, Luhn-valid cards, valid IBANs): {1 - len(missed) / len(cases):.4f}")
    for comment, _ in missed[:5]:
        print(f"  missed: {comment}")
    print(f"Benign comments (order number, date, price) with something masked: "
          f"{masked}/{len(benign)}")


def _timed(analyzer: Analyzer, comments: list[str], warm: list[str], what: str) -> None:
    analyzer.analyze(warm)  # warm: models loaded, code paths run
    analyzer.encoder.clear_cache()  # no sentence timed below was embedded before
    seen, slow = analyzer.sentences_seen, analyzer.sentences_to_minilm
    started = time.perf_counter()
    for at in range(0, len(comments), 256):
        analyzer.analyze(comments[at:at + 256])
    seconds = time.perf_counter() - started
    threads = os.environ.get("OPENCEM_NLP_THREADS", "all")
    words = sum(len(c.split()) for c in comments) / len(comments)
    share = (analyzer.sentences_to_minilm - slow) / max(analyzer.sentences_seen - seen, 1)
    print(f"  {threads} threads, {what} ({words:.0f} words on average): {len(comments)} in "
          f"{seconds:.1f} s = {len(comments) / seconds:.0f} comments/s "
          f"({share:.0%} of sentences to MiniLM)")


def throughput(analyzer: Analyzer, data_dir: Path, n: int) -> None:
    sets = held_out_sets(data_dir)
    rows = [r.text for rows in sets.values() for r in rows]
    rng = random.Random(3)
    rng.shuffle(rows)
    # Every sentence once: the encoder's cache of repeated sentences must not flatter this.
    n = min(n, len(rows) // 2 - 64)
    pairs = [f"{rows[2 * i]} {rows[2 * i + 1]}" for i in range(n + 64)]
    _timed(analyzer, pairs[:n], pairs[n:], "two-sentence comments")
    short = [r.text for r in next(iter(sets.values()))]  # Yelp: one short sentence each
    _timed(analyzer, short[64:], short[:64], "one-sentence comments")


def main() -> int:
    data_dir = Path(os.environ.get("NLP_DATA", "var/nlpdata"))
    if not data_dir.is_dir():
        print(f"{data_dir} is missing: run `make nlp-data` first", file=sys.stderr)
        return 2
    default = Analyzer(themes=starter_themes())
    analyzers = {f"default ({'cascade' if default.fast else 'MiniLM'})": default}
    if default.fast is not None:
        analyzers["MiniLM only"] = Analyzer(themes=starter_themes(), cascade=False)
    n = int(os.environ.get("BENCH_TEXT_COMMENTS", "2000"))
    for method, analyzer in analyzers.items():
        print(f"Full pipeline, warm, {method}:")
        throughput(analyzer, data_dir, n)
    evaluate(analyzers, data_dir)
    pii_recall()
    return 0


if __name__ == "__main__":
    sys.exit(main())
