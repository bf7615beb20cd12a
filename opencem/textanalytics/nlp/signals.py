"""Emotions, effort signals and the Six Pillars, read from the words of a comment.

These are rules, written for customer-service English: each emotion, effort signal and
pillar has its own phrases. Emotions are gated by the sentence's sentiment where the phrase
alone is ambiguous ("I can't believe how quick" is joy and surprise, not anger).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMOTIONS = ("anger", "frustration", "sadness", "fear", "joy", "trust", "surprise",
            "disappointment", "gratitude")
EFFORT = ("repeat", "wait", "call_back", "visit_twice", "transfer", "chase")
PILLARS = ("personalisation", "integrity", "expectations", "resolution", "time_and_effort",
           "empathy")
PILLAR_LABELS = {"personalisation": "Personalisation", "integrity": "Integrity",
                 "expectations": "Expectations", "resolution": "Resolution",
                 "time_and_effort": "Time and Effort", "empathy": "Empathy"}
EFFORT_LABELS = {"repeat": "Had to repeat themselves", "wait": "Had to wait",
                 "call_back": "Had to call back", "visit_twice": "Had to come back",
                 "transfer": "Passed between people", "chase": "Had to chase"}


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


# Emotion -> (pattern, the sentiment it needs or None for any).
_EMOTION_RULES: dict[str, tuple[re.Pattern[str], str | None]] = {
    "anger": (_words(r"angry", r"furious", r"livid", r"outraged?", r"disgust(?:ed|ing)",
                     r"appall(?:ed|ing)", r"unacceptable", r"rude", r"ridiculous",
                     r"disgrace(?:ful)?", r"shocking", r"fuming", r"how dare", r"insult(?:ing)?",
                     r"worst", r"scandal(?:ous)?", r"never again"), None),
    "frustration": (_words(r"frustrat\w*", r"annoy\w*", r"fed up", r"irritat\w*",
                           r"hassle", r"nightmare", r"pointless", r"useless", r"still waiting",
                           r"again and again", r"keep(?:s)? (?:getting|being|saying)",
                           r"no one", r"nobody", r"waste of time", r"going round in circles",
                           r"not (?:once|twice)"), None),
    "sadness": (_words(r"sad", r"upset", r"heartbroken", r"unhappy", r"gutted",
                       r"let down", r"sorry to say", r"shame", r"miss(?:ed)? out"), None),
    "fear": (_words(r"worried", r"anxious", r"scared", r"afraid", r"concern(?:ed|ing)",
                    r"nervous", r"unsafe", r"fraud", r"scam", r"stressed?", r"stressful"), None),
    "joy": (_words(r"happy", r"delighted", r"love(?:d|ly)?", r"great", r"amazing",
                   r"fantastic", r"brilliant", r"excellent", r"wonderful", r"pleased",
                   r"perfect", r"superb", r"enjoy(?:ed)?", r"awesome", r"glad"), "positive"),
    "trust": (_words(r"trust(?:ed|worthy)?", r"reliable", r"rely on", r"honest(?:ly)?",
                     r"confiden(?:t|ce)", r"recommend(?:ed)?", r"dependable",
                     r"always (?:good|great)",
                     r"kept (?:me|us) (?:informed|updated)", r"loyal"), "positive"),
    "surprise": (_words(r"surpris\w*", r"unexpected(?:ly)?", r"can'?t believe",
                        r"couldn'?t believe", r"shocked", r"astonish\w*", r"wow",
                        r"out of the blue"), None),
    "disappointment": (_words(r"disappoint\w*", r"expected (?:more|better)", r"not as described",
                              r"let down", r"underwhelm\w*", r"not what i (?:expected|ordered)",
                              r"should have been"), None),
    "gratitude": (_words(r"thank(?:s| you)", r"grateful", r"appreciate[d]?", r"cheers"),
                  "positive"),
}

_EFFORT_RULES: dict[str, re.Pattern[str]] = {
    "repeat": _words(r"repeat(?:ed|ing)? (?:myself|my|the|it|everything)",
                     r"explain(?:ed)? (?:it )?(?:again|(?:it )?(?:twice|three times))",
                     r"had to (?:say|tell|explain) (?:it )?again", r"same (?:story|details) again",
                     r"over and over", r"start(?:ed)? (?:all )?over"),
    "wait": _words(r"wait(?:ed|ing)?", r"queue(?:d|s|ing)?", r"on hold", r"still no",
                   r"took (?:ages|forever|hours|days|weeks)", r"(?:hours|days|weeks) late",
                   r"late", r"delay(?:ed|s)?", r"slow", r"hasn'?t arrived", r"never arrived",
                   r"still not (?:arrived|here|delivered)"),
    "call_back": _words(r"call(?:ed|ing)? (?:back|again)", r"ring(?:ing)? back",
                        r"rang (?:back|again)", r"phone(?:d)? (?:back|again)",
                        r"(?:second|third|fourth|\d+(?:st|nd|rd|th)) (?:call|time calling)",
                        r"(?:several|many|multiple|three|four|five) (?:calls|times)",
                        r"never called (?:me )?back", r"promised to call",
                        r"(?:second|third|fourth|fifth) time "
                        r"(?:i(?:'ve| have)? )?(?:called|rung|phoned)"),
    "visit_twice": _words(r"(?:go|went|come|came|gone|drive|drove) back",
                          r"(?:second|another|third) (?:trip|visit)",
                          r"visit(?:ed)? (?:twice|again)",
                          r"return(?:ed)? to the (?:store|shop|branch)",
                          r"two trips", r"wasted (?:a|the) (?:trip|journey)"),
    "transfer": _words(r"transferr?(?:ed|ing)", r"passed (?:around|from|between)",
                       r"pass(?:ed)? me (?:on|around)", r"put through to",
                       r"different (?:person|department|agent)", r"another department"),
    "chase": _words(r"chas(?:e|ed|ing)", r"follow(?:ed)? up (?:again|myself)",
                    r"kept (?:calling|emailing|asking)", r"(?:several|many|multiple) emails",
                    r"no (?:reply|response|answer)", r"ignored"),
}

_PILLAR_RULES: dict[str, re.Pattern[str]] = {
    "personalisation": _words(r"remember(?:ed)? (?:me|my)", r"knew (?:me|my|what)",
                              r"by (?:my )?name", r"personal(?:ised|ized|ly)?", r"tailored",
                              r"recommend(?:ed)? (?:me|something)", r"generic",
                              r"just a number",
                              r"loyal(?:ty)? (?:customer|card)", r"my (?:needs|preferences)",
                              r"went (?:the )?extra mile", r"individual"),
    "integrity": _words(r"honest(?:y|ly)?", r"lie[ds]?", r"lying", r"misled", r"mislead(?:ing)?",
                        r"promis(?:e|ed|es)", r"trust(?:ed|worthy)?", r"hidden (?:fees|charges)",
                        r"overcharg(?:ed|ing)", r"scam", r"fair(?:ly)?", r"unfair",
                        r"transparent", r"kept (?:their|his|her) word", r"false"),
    "expectations": _words(r"expect(?:ed|ation|ations)?", r"as described", r"as advertised",
                           r"not as (?:described|advertised|pictured)", r"exceed(?:ed|s)?",
                           r"better than", r"worse than", r"disappoint\w*", r"on time",
                           r"as promised", r"quality", r"standard", r"kept (?:me|us) informed",
                           r"updates?"),
    "resolution": _words(r"resolv(?:e|ed|ing)", r"fix(?:ed)?", r"sort(?:ed)? (?:it|out|things)",
                         r"solv(?:e|ed)", r"refund(?:ed|s)?", r"replac(?:e|ed|ement)",
                         r"compensat(?:e|ed|ion)", r"still (?:not|no|broken|waiting)",
                         r"complain(?:t|ed)", r"apolog(?:y|ised|ized|ise)", r"first time",
                         r"problem", r"issue", r"return(?:ed|s)?", r"exchange(?:d)?"),
    "time_and_effort": _words(r"quick(?:ly)?", r"fast", r"easy", r"easily", r"effortless",
                              r"simple", r"hassle", r"convenient", r"took (?:ages|forever)",
                              r"wait(?:ed|ing)?", r"queue(?:d|s)?", r"on hold", r"slow", r"late",
                              r"delay(?:ed|s)?", r"hard to", r"difficult", r"complicated",
                              r"in minutes", r"straight away", r"no time"),
    "empathy": _words(r"understand(?:ing)?", r"car(?:e|ed|ing)", r"kind(?:ly|ness)?",
                      r"listen(?:ed|ing)?", r"patient", r"friendly", r"helpful", r"rude",
                      r"dismissive", r"didn'?t care", r"couldn'?t care less", r"sympath\w*",
                      r"compassion\w*", r"reassur\w*", r"polite", r"warm", r"lovely",
                      r"attentive", r"condescending", r"arrogant"),
}


def emotions_of(sentences: Iterable[tuple[str, str]]) -> list[str]:
    """The emotions of a comment given its ``(sentence, sentiment)`` pairs, in ``EMOTIONS``
    order."""
    found: set[str] = set()
    for sentence, sentiment in sentences:
        for emotion, (pattern, needs) in _EMOTION_RULES.items():
            if emotion in found or (needs is not None and sentiment != needs):
                continue
            if emotion in {"joy", "trust"} and sentiment == "negative":
                continue
            if pattern.search(sentence):
                found.add(emotion)
        if sentiment == "negative" and _EFFORT_RULES["wait"].search(sentence):
            found.add("frustration")
    return [e for e in EMOTIONS if e in found]


def effort_of(text: str) -> list[str]:
    """The effort signals of a comment, in ``EFFORT`` order."""
    return [name for name, pattern in _EFFORT_RULES.items() if pattern.search(text)]


def pillars_of(text: str, *, effort: Iterable[str] = ()) -> list[str]:
    """The Six Pillars a comment speaks to, in ``PILLARS`` order; any effort signal counts
    for Time and Effort."""
    found = {name for name, pattern in _PILLAR_RULES.items() if pattern.search(text)}
    if any(True for _ in effort):
        found.add("time_and_effort")
    return [p for p in PILLARS if p in found]


# Sentiment cues of customer-service text. The sentiment head learnt from reviews, where
# "short" or "damaged" say little; in service comments they say a lot. Each cue moves the
# head's log-odds by one step (see ``pipeline``), so the head still decides without cues.
_POSITIVE_CUES = _words(
    r"friendly", r"helpful", r"polite", r"lovely", r"great", r"excellent", r"brilliant",
    r"quick(?:ly)?", r"fast", r"easy", r"on time", r"efficient", r"professional",
    r"sorted (?:it|out|quickly)", r"resolved", r"recommend(?:ed)?", r"thank(?:s| you)",
    r"happy", r"pleased", r"perfect", r"smooth(?:ly)?", r"spot on", r"well done",
    r"above and beyond", r"amazing", r"fantastic", r"kind", r"patient", r"knowledgeable",
    r"no (?:problems?|complaints?|issues?|hassle|fuss)", r"first class", r"superb",
    r"arrived (?:early|quickly|on time)", r"short (?:queue|wait)", r"(?:queue|wait) was short",
    r"straight away", r"understood", r"listened", r"went out of (?:her|his|their) way",
    r"(?:queues?|waits?) (?:were|was) (?:short|quick)", r"no (?:queue|wait(?:ing)?)")
_NEGATIVE_CUES = _words(
    r"damaged", r"broken", r"late", r"delayed?", r"still (?:waiting|no|not)",
    r"never (?:arrived|came|called|turned up|received)", r"hasn'?t (?:arrived|come)",
    r"missing", r"wrong", r"rude", r"unhelpful", r"useless", r"nobody", r"no one",
    r"waste(?:d)?", r"cancell?ed", r"faulty", r"dirty", r"slow", r"ignored", r"hung up",
    r"on hold", r"overcharged", r"charged twice", r"disappointed", r"disappointing",
    r"terrible", r"awful", r"worst", r"appalling", r"shocking", r"poor", r"unacceptable",
    r"no (?:reply|response|answer|update|apology|help)", r"(?:three|four|five|several) times",
    r"(?:hours|days|weeks) (?:late|later|waiting)", r"took (?:ages|forever)",
    r"not (?:happy|good|helpful|resolved|sorted|impressed|working|arrived)",
    r"(?:didn'?t|did not|doesn'?t|does not|won'?t|would not|wouldn'?t) "
    r"(?:work|arrive|help|answer|call)",
    r"complain(?:t|ed)?", r"mess(?:ed)? up", r"fed up", r"let (?:me )?down")
_NEGATION = re.compile(r"\b(?:not|never|n't|no|hardly|wasn'?t|weren'?t|isn'?t|aren'?t)\W+"
                       r"(?:\w+\W+){0,2}$", re.IGNORECASE)


def sentiment_cues(sentence: str) -> int:
    """Positive minus negative customer-service cues in a sentence (a negated positive cue,
    "not helpful", counts as negative)."""
    score = 0
    taken: list[tuple[int, int]] = []
    for m in _POSITIVE_CUES.finditer(sentence):
        negated = _NEGATION.search(sentence[:m.start()]) and not m.group().lower().startswith("no ")
        score += -1 if negated else 1
        taken.append(m.span())
    for m in _NEGATIVE_CUES.finditer(sentence):
        if not any(s <= m.start() < e for s, e in taken):
            score -= 1
    return max(-3, min(3, score))
