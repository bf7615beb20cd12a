"""The pipeline itself, without a database."""

from __future__ import annotations

import pytest

from opencem.textanalytics.nlp.pii import iban_ok, luhn_ok, redact
from opencem.textanalytics.nlp.pipeline import Analyzer
from opencem.textanalytics.nlp.starter import starter_themes
from opencem.textanalytics.nlp.text import detect_language, sentence_spans
from opencem.textanalytics.nlp.themes import ThemeMatcher, ThemeSpec, phrase_pattern


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(themes=starter_themes())


@pytest.mark.parametrize(("text", "kind"), [
    ("write to dee.smith+cx@example.co.uk today", "EMAIL"),
    ("call me on 07700 900123 please", "PHONE"),
    ("my number is +44 (0)20 7946 0018", "PHONE"),
    ("ring (212) 555-0100 after six", "PHONE"),
    ("paid with 4111 1111 1111 1111 yesterday", "CARD"),
    ("card 5500-0000-0000-0004 was charged", "CARD"),
    ("refund to GB82 WEST 1234 5698 7654 32 please", "IBAN"),
    ("refund to DE89370400440532013000 please", "IBAN"),
    ("Hello, my name is Priya Patel and I am angry", "NAME"),
    ("Mrs Okafor at the desk was lovely", "NAME"),
    ("deliver to 14 Baker Street instead", "ADDRESS"),
    ("my postcode is LS1 4AP", "POSTCODE"),
])
def test_patterned_pii_is_replaced_by_its_kind(text, kind):
    redacted, findings = redact(text)
    assert f"[{kind}]" in redacted
    assert [f.kind for f in findings] == [kind]


@pytest.mark.parametrize("text", [
    "order 50103282 arrived on 19/10/2026 and cost £456.99",
    "card 4111 1111 1111 1112 is not a real one",  # fails the Luhn check
    "I am very disappointed with the service",
    "2026-11-30 at 10:30, gate 12",
])
def test_numbers_and_words_that_are_not_pii_are_kept(text):
    assert redact(text) == (text, [])


def test_a_mistyped_iban_is_not_taken_for_one():
    assert "[IBAN]" not in redact("iban GB82WEST12345698765433 is mistyped")[0]


def test_luhn_and_iban_checks():
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert not iban_ok("GB82 WEST 1234 5698 7654 31")


def test_sentences_are_split_with_their_spans():
    text = "The sofa arrived late!  Nobody called.\nStill waiting"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "The sofa arrived late!", "Nobody called.", "Still waiting"]
    assert sentence_spans("   ") == []


def test_language_is_detected_and_left_blank_when_too_short():
    assert detect_language("The delivery was late and nobody called me back") == "en"
    assert detect_language("La livraison est arrivée en retard et personne ne m'a rappelé") == "fr"
    assert detect_language("ok") == ""


def test_phrase_rules_match_whole_words_and_wildcards():
    pattern = phrase_pattern(["refund*", "on hold"])
    assert pattern is not None
    assert pattern.search("still no refunds")
    assert pattern.search("kept ON   hold")
    assert not pattern.search("holdall")
    assert phrase_pattern(["", "  "]) is None


def test_an_exclusion_vetoes_its_theme_in_that_sentence():
    matcher = ThemeMatcher([ThemeSpec("q", "Queues", "Store", ("queue*",), ("phone queue",))])
    found = matcher.match(["The queue at the till was long.", "The phone queue took ages."])
    assert [(m.code, m.sentence, m.method) for m in found] == [("q", 0, "rule")]


def test_a_complaint_reads_negative_with_effort_emotion_themes_and_pillars(analyzer):
    (result,) = analyzer.analyze([
        "The sofa arrived damaged. I have called three times and nobody called me back. "
        "Call me on 07700 900123."])
    assert result.sentiment == "negative"
    assert -1 <= result.score < 0
    assert "[PHONE]" in result.redacted_text
    assert "07700" not in result.redacted_text
    assert result.pii == ("PHONE",)
    assert "call_back" in result.effort
    assert "frustration" in result.emotions
    assert "delivery.damage" in result.themes
    assert "service.callback" in result.themes
    assert "time_and_effort" in result.pillars
    assert len(result.sentences) == 3
    damage = next(m for m in result.mentions if m.theme == "delivery.damage")
    assert result.redacted_text[damage.start:damage.end] == "The sofa arrived damaged."
    assert damage.sentiment == "negative"


def test_praise_reads_positive_with_joy_and_no_effort(analyzer):
    (result,) = analyzer.analyze(["The staff were friendly and helpful, and the queue was "
                                  "short. Lovely visit, thank you!"])
    assert result.sentiment == "positive"
    assert result.score > 0.3
    assert "joy" in result.emotions
    assert result.effort == ()
    assert "staff.friendliness" in result.themes
    assert "empathy" in result.pillars


def test_a_sentence_about_a_theme_without_its_words_matches_by_meaning(analyzer):
    (result,) = analyzer.analyze(["Nobody ever picked up the telephone when I rang."])
    assert any(m.method == "semantic" for m in result.mentions), result.mentions


def test_each_sentence_keeps_its_own_sentiment(analyzer):
    (result,) = analyzer.analyze(["The driver was lovely and very helpful. "
                                  "But the table was broken and the refund is still missing."])
    first, second = result.sentences
    assert first.sentiment == "positive"
    assert second.sentiment == "negative"


def test_empty_text_is_neutral_with_nothing_found(analyzer):
    (result,) = analyzer.analyze([""])
    assert (result.sentiment, result.score, result.themes, result.sentences) == (
        "neutral", 0.0, [], ())
