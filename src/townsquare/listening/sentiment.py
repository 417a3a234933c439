"""Sentiment of a short text in French or English, offline: negative, neutral or positive.

A lexicon and rule method in the manner of VADER (Hutto & Gilbert, 2014): each word found in
the language's lexicon (``lexicons/en.tsv``: VADER's; French: vaderSentiment-fr's
``fr.tsv``, corrected by Pattern's rated adjectives ``fr-pattern.tsv``, PDDL; MIT and public
domain, see ``lexicons/README.md``) brings its valence (−4 to +4), changed by the words
before it:

- **negation**: a negator within the three words before (``not``, ``never``, ``n't``;
  ``pas``, ``jamais``, ``rien``, ``sans``, ``ne``/``n'`` — ``n'aime``, ``pas satisfait``;
  ``peu`` but not ``un peu`` — ``peu crédible``; ``manque`` — ``manque d'humour``) turns the
  valence over and weakens it (× −0.74); ``pas terrible``, ``pas fameux`` stay low;
- **intensifiers**: ``very``, ``so``, ``très``, ``vraiment``, ``trop``… add 0.293 in the
  word's direction (``slightly``, ``un peu``, ``assez``… take it away), less the further back
  they are; ``too``/``trop`` before a word with no valence is excess (``trop bavard``, −1);
  a word in capitals in a text that is not all capitals adds 0.733;
- **set phrases** (French) count as a whole: ``chef d'oeuvre``, ``à voir``, ``à éviter``,
  ``laisse à désirer``, ``n'importe quoi``, ``pas mal``, ``pas grand chose``;
- **ratings** such as ``2/5``, ``8,5/10``, ``17/20`` count by their place on the scale
  (0/5 is −4, 5/5 is +4);
- **contrast**: after ``but``/``mais`` the words count 1.5×, before it 0.5×;
- **blame weighs more than praise**: negative valences count 1.8× (SO-CAL's negative
  weighting, Taboada et al., 2011);
- **emoji and emoticons**: their valence is that of their words (``😍`` "smiling face with
  heart-eyes"), ``:)`` and ``:(`` are in the lexicons; ``!`` adds up to 0.876.

French elision is split before the lexicon is read (``j'adore`` is ``j'`` + ``adore``,
``n'aime`` is the negator ``n'`` + ``aime``); words are also looked up without their accents
(``decu`` finds ``déçu``) and without an English plural or a French feminine/plural ending.

The score is VADER's compound, ``s / sqrt(s² + 15)`` for the sum ``s`` of the valences, in
[−1, 1]; a text is positive from +0.05, negative from −0.05, neutral in between. Measured on
labelled texts written by others (UCI sentences in English, Allociné reviews in French):
docs/listen.md, tests/listen/test_sentiment_eval.py.
Pure module: the lexicons are read once from the package, nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from townsquare.listening.sentiment_words import (
    CONTRAST,
    FR_LACKING,
    FR_LITTLE,
    FR_NE,
    FR_NEGATED_STAYS_LOW,
    FR_WITH_NE,
    PHRASE_FIRSTS,
    PHRASES,
    Token,
    token_readings,
    tokens,
)

__all__ = ["LABELS", "Sentiment", "classify", "label_for", "score_text", "tokens"]

LANGUAGES = ("en", "fr")
LABELS = ("negative", "neutral", "positive")
THRESHOLD = 0.05

C_INCR = 0.733
N_SCALAR = -0.74
ALPHA = 15.0
TOO_MUCH = -1.0  # "too" before a word with no valence of its own
NEGATION_ALONE = -0.9  # the valence of a negation in a text with no word of feeling
# Negative valences count this many times (after negation and contrast): a lexicon method
# otherwise leans positive, as people soften blame with praise (Taboada et al. 2011, SO-CAL,
# weigh them 1.5). Chosen on the design rows only: Allociné train, UCI even rows.
NEGATIVE_WEIGHT = 1.8
_BOOST_DECAY = (1.0, 0.95, 0.9)  # a booster one, two, three words before


@dataclass(frozen=True)
class Sentiment:
    """A text's label (negative, neutral, positive) and score (−1 to 1)."""

    label: str
    score: float


def _phrase_valences(
    words: Sequence[Token], language: str
) -> tuple[dict[int, float], dict[int, int]]:
    """The valence of each word that is part of a set phrase (the phrase's on its last word,
    0 on the others), and where each phrase starts, by its last word."""
    phrases = PHRASES[language]
    firsts = PHRASE_FIRSTS[language]
    found: dict[int, float] = {}
    starts: dict[int, int] = {}
    if not firsts:
        return found, starts
    lowered: list[str] = []
    for index, word in enumerate(words):
        if word.lower not in firsts:
            continue
        lowered = lowered or [word.plain for word in words]
        for size in (3, 2):
            valence = phrases.get(tuple(lowered[index : index + size]))
            if valence is not None and index + size <= len(words):
                found.update(dict.fromkeys(range(index, index + size - 1), 0.0))
                found[index + size - 1] = valence
                starts[index + size - 1] = index
                break
    return found, starts


def _negated(before: Sequence[Token], language: str) -> bool:
    """Whether the (up to three) words before a word negate it."""
    if any(word.negates for word in before):
        return True
    if language == "fr":
        lowered = [word.plain for word in before]
        if any(word in FR_LACKING for word in lowered):
            return True
        if any(
            word == FR_LITTLE and (position == 0 or lowered[position - 1] != "un")
            for position, word in enumerate(lowered)
        ):
            return True
        # "ne … plus", "ne … personne": the second word only negates with the first.
        return any(word in FR_WITH_NE for word in lowered) and any(
            word in FR_NE for word in lowered
        )
    return False


def _emphasis(text: str) -> float:
    """Exclamation marks (up to four) strengthen a text; so do several question marks."""
    exclamations = min(text.count("!"), 4) * 0.292
    questions = text.count("?")
    question_amp = 0.0
    if questions > 1:
        question_amp = 0.96 if questions > 3 else questions * 0.18
    return exclamations + question_amp


def score_text(text: str, language: str) -> float:
    """The compound score of ``text`` in ``language`` (en or fr), in [−1, 1]."""
    language = language if language in LANGUAGES else "en"
    words = token_readings(text, language)
    cased = [word.upper for word in words if word.cased]
    shouting_differs = any(cased) and not all(cased)
    phrases, phrase_starts = _phrase_valences(words, language)
    too = "too" if language == "en" else "trop"
    # Most texts hold no word that negates (nor "ne … plus", "peu", "manque"): no window
    # of three words to look at before each word of feeling.
    negations_possible = any(word.may_negate for word in words)
    valences: list[float] = []
    for index, word in enumerate(words):
        if word.boost is not None and word.lower != "super" and index not in phrases:
            valences.append(0.0)
            continue
        value = phrases.get(index, word.valence)
        if value == 0.0:
            # "too slow", "trop bavard": excess, when the word itself is mute.
            excess = index > 0 and index not in phrases and words[index - 1].lower == too
            valences.append(TOO_MUCH if excess and word.alpha else 0.0)
            continue
        if shouting_differs and word.upper and len(word.word) > 1:
            value += C_INCR if value > 0 else -C_INCR
        for distance in (1, 2, 3):
            if index - distance < 0:
                break
            boost = words[index - distance].boost
            if boost is not None:
                boost *= _BOOST_DECAY[distance - 1]
                value += boost if value > 0 else -boost
        start = phrase_starts.get(index, index)  # a phrase is negated as a whole
        if negations_possible and _negated(words[max(0, start - 3) : start], language):
            low = FR_NEGATED_STAYS_LOW.get(word.lower) if language == "fr" else None
            value = low if low is not None else value * N_SCALAR
        valences.append(value)
    contrast = CONTRAST[language]
    for index, word in enumerate(words):
        if word.lower in contrast:
            valences = [
                value * 0.5 if position < index else value * 1.5 if position > index else value
                for position, value in enumerate(valences)
            ]
            break
    # Blame weighs more than praise: a critic names what is good before what sinks it.
    total = sum(value * NEGATIVE_WEIGHT if value < 0 else value for value in valences)
    if not total:
        # No word of feeling: a negated statement ("it does not work", "ça ne marche pas")
        # is, in what people write about a brand, mostly a complaint.
        negations = sum(1 for word in words if word.negator)
        total = NEGATION_ALONE * min(negations, 2)
    if total:
        total += _emphasis(text) if total > 0 else -_emphasis(text)
    return total / math.sqrt(total * total + ALPHA) if total else 0.0


def label_for(score: float) -> str:
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


def classify(text: str, language: str) -> Sentiment:
    """The sentiment of ``text``: French rules for ``fr``, English for anything else."""
    score = round(score_text(text, language), 4)
    return Sentiment(label_for(score), score)
