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
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

LEXICONS = Path(__file__).parent / "lexicons"
LANGUAGES = ("en", "fr")
LABELS = ("negative", "neutral", "positive")
THRESHOLD = 0.05

B_INCR = 0.293
C_INCR = 0.733
N_SCALAR = -0.74
ALPHA = 15.0
TOO_MUCH = -1.0  # "too" before a word with no valence of its own
NEGATION_ALONE = -0.9  # the valence of a negation in a text with no word of feeling
# Negative valences count this many times (after negation and contrast): a lexicon method
# otherwise leans positive, as people soften blame with praise (Taboada et al. 2011, SO-CAL,
# weigh them 1.5). Chosen on the design rows only: Allociné train, UCI even rows.
NEGATIVE_WEIGHT = 1.8


def _words(text: str) -> list[str]:
    return text.split()


_EN_NEGATORS = frozenset(
    _words("""aint arent cannot cant couldnt darent didnt doesnt dont hadnt hasnt havent isnt
    mightnt mustnt neither neednt never none nope nor not nothing nowhere oughtnt shant
    shouldnt uhuh wasnt werent without wont wouldnt rarely seldom no""")
)
# "plus" negates only beside "ne"/"n'" (else it is "more"); "personne", "point" likewise.
_FR_NEGATORS = frozenset(_words("pas jamais rien aucun aucune aucunement nullement sans ni guère"))
_FR_NE = frozenset(("ne", "n'"))
_FR_WITH_NE = frozenset(("plus", "personne", "point"))
# "manque de rythme", "manquent d'humour": what is lacking counts against.
_FR_LACKING = frozenset(("manque", "manquent", "manquait", "manquaient"))
# "peu crédible", "peu d'intérêt" negate; "un peu long" only softens ("peu" stays a booster).
_FR_LITTLE = "peu"
# Words whose negation is no praise: "pas terrible", "pas fameux" are mediocre, not good.
_FR_NEGATED_STAYS_LOW = {"terrible": -1.5, "terribles": -1.5, "fameux": -1.5, "folichon": -1.5}
# Set phrases, valued as a whole (their words count for nothing on their own).
_FR_PHRASES: dict[tuple[str, ...], float] = {
    ("chef", "d'", "oeuvre"): 3.2,
    ("chef", "d'", "œuvre"): 3.2,
    ("à", "voir"): 1.5,
    ("a", "voir"): 1.5,
    ("à", "éviter"): -2.5,
    ("a", "eviter"): -2.5,
    ("à", "fuir"): -2.5,
    ("laisse", "à", "désirer"): -2.0,
    ("laissent", "à", "désirer"): -2.0,
    ("n'", "importe", "quoi"): -2.0,
    ("perte", "de", "temps"): -2.5,
    ("pas", "mal"): 1.5,
    ("pas", "grand", "chose"): -1.5,
}
_PHRASES: dict[str, dict[tuple[str, ...], float]] = {"en": {}, "fr": _FR_PHRASES}
_PHRASE_FIRSTS = {language: {key[0] for key in keys} for language, keys in _PHRASES.items()}
# A rating written as a fraction ("1/5", "8,5/10", "18/20"): its place on the scale counts.
_RATING = re.compile(r"^(\d{1,3}(?:[.,]\d)?)/(5|10|20)$")
RATING_SPAN = 8.0  # 0/5 is −4, 5/5 is +4

_EN_BOOSTERS = {
    **dict.fromkeys(
        _words("""absolutely amazingly awfully completely considerably crazy decidedly deeply
        effing enormously entirely especially exceptionally extremely fabulously flipping
        flippin frackin fracking fricking frickin frigging friggin fully fuckin fucking
        greatly hella highly hugely incredibly intensely majorly more most particularly
        purely quite really remarkably so substantially thoroughly totally tremendously
        uber unbelievably unusually utterly very truly super"""),
        B_INCR,
    ),
    **dict.fromkeys(
        _words("""almost barely hardly kinda kindof less little marginally occasionally partly
        scarcely slightly somewhat sorta sortof"""),
        -B_INCR,
    ),
}
_FR_BOOSTERS = {
    **dict.fromkeys(
        _words("""absolument archi beaucoup bigrement carrément complètement considérablement
        diablement drôlement entièrement exceptionnellement excessivement extrêmement
        fabuleusement fort grandement hyper incroyablement infiniment particulièrement
        profondément rudement sacrément spécialement super superbement tellement
        terriblement totalement trop très ultra vachement vraiment énormément si"""),
        B_INCR,
    ),
    **dict.fromkeys(
        _words("""assez difficilement guère légèrement moins peu plutôt presque quasi quasiment
        rarement"""),
        -B_INCR,
    ),
}
_CONTRAST = {"en": frozenset(("but",)), "fr": frozenset(("mais", "cependant", "pourtant"))}
# Elided French words: the apostrophe ends the word (l'avenir, j'adore, qu'il, n'aime).
_FR_ELIDED = re.compile(r"^(j|l|d|n|m|t|s|c|qu|jusqu|lorsqu|puisqu|quoiqu)['’](.+)$", re.I)
_TOKEN_RE = re.compile(r"\S+")
_EDGE_PUNCT = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’…'


@dataclass(frozen=True)
class Sentiment:
    """A text's label (negative, neutral, positive) and score (−1 to 1)."""

    label: str
    score: float


def fold(word: str) -> str:
    """``word`` without its accents (déçu → decu)."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _read_tsv(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (LEXICONS / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("# "):
            key, _, value = line.partition("\t")
            rows.append((key, value))
    return rows


# A later file wins: Pattern's rated French adjectives correct the translated lexicon.
_LAYERS = {
    "en": ("en.tsv", "en-extra.tsv"),
    "fr": ("fr.tsv", "fr-pattern.tsv", "fr-extra.tsv"),
}


@cache
def lexicon(language: str) -> dict[str, float]:
    """The language's words (lower case, and without accents too) and their valences."""
    words: dict[str, float] = {}
    for name in _LAYERS[language]:  # a later file wins
        for word, text in _read_tsv(name):
            words[word.lower()] = float(text)
    for word, valence in list(words.items()):
        words.setdefault(fold(word), valence)
    return words


@cache
def emoji_valences() -> dict[str, float]:
    """Each emoji's valence: the sum of its English description's words (VADER's way)."""
    english = lexicon("en")
    valences: dict[str, float] = {}
    for emoji, description in _read_tsv("emoji.tsv"):
        value = sum(english.get(word, 0.0) for word in description.lower().split())
        if value:
            valences[emoji] = max(-3.0, min(3.0, value))
    for emoji, text in _read_tsv("emoji-extra.tsv"):  # the additions win
        valences[emoji] = float(text)
    return valences


def _split_emoji(token: str, emojis: dict[str, float]) -> list[str]:
    """``token`` with its emoji set apart (``super😍`` → ``super``, ``😍``)."""
    if token.isascii():
        return [token]
    parts: list[str] = []
    current = ""
    for char in token:
        if char in emojis:
            if current:
                parts.append(current)
            parts.append(char)
            current = ""
        elif unicodedata.category(char) in ("So", "Sk", "Mn", "Cf") and not char.isalnum():
            continue  # skin tones, variation selectors, joiners
        else:
            current += char
    if current:
        parts.append(current)
    return parts


def tokens(text: str, language: str) -> list[str]:
    """Words, emoticons and emoji of ``text`` in order, French elision split off."""
    found: list[str] = []
    for raw in _TOKEN_RE.findall(text):
        found.extend(_pieces(raw, language))
    return found


@lru_cache(maxsize=100_000)
def _pieces(raw: str, language: str) -> tuple[str, ...]:
    """The tokens of one run of non-space characters (the same runs come back in every
    text: split once)."""
    emojis = emoji_valences()
    words = lexicon(language)
    found: list[str] = []
    for piece in _split_emoji(raw, emojis):
        if piece in emojis or piece.lower() in words:
            found.append(piece)  # an emoji, or an emoticon such as :) or :-(
            continue
        stripped = piece.strip(_EDGE_PUNCT)
        if not stripped:
            continue
        if language == "fr":
            elided = _FR_ELIDED.match(stripped)
            if elided:
                found.append(elided.group(1) + "'")
                stripped = elided.group(2)
        found.append(stripped)
    return tuple(found)


def _variants(word: str, language: str) -> list[str]:
    """Other forms of a word missing from the lexicon: plural, feminine, accents."""
    forms = [word, fold(word)]
    if language == "en":
        for suffix, replacement in (("'s", ""), ("s", ""), ("es", ""), ("ies", "y")):
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                forms.append(word[: -len(suffix)] + replacement)
    else:
        for suffix in ("es", "s", "e", "x"):
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                forms.append(word[: -len(suffix)])
                forms.append(fold(word[: -len(suffix)]))
    return forms


def _valence(word: str, language: str, emojis: dict[str, float]) -> float:
    if word in emojis:
        return emojis[word]
    return _word_valence(word.lower(), language)


@lru_cache(maxsize=100_000)
def _word_valence(lower: str, language: str) -> float:
    """The lexicon's valence of a lower-case word or of one of its variants (the same few
    thousand words come back in every text: looked up once)."""
    words = lexicon(language)
    for form in _variants(lower, language):
        if form in words:
            return words[form]
    return 0.0


def _is_negator(word: str, language: str) -> bool:
    lower = word.lower().replace("’", "'")
    if language == "en":
        return lower in _EN_NEGATORS or lower.replace("'", "") in _EN_NEGATORS or "n't" in lower
    return lower in _FR_NEGATORS or lower in _FR_NE


def _rating(word: str) -> float:
    """The valence of a rating such as ``2/5`` (0 when the word is none)."""
    found = _RATING.match(word) if "/" in word else None
    if not found:
        return 0.0
    value, scale = float(found.group(1).replace(",", ".")), float(found.group(2))
    return max(-4.0, min(4.0, (value / scale - 0.5) * RATING_SPAN))


def _phrase_valences(words: list[str], language: str) -> tuple[dict[int, float], dict[int, int]]:
    """The valence of each word that is part of a set phrase (the phrase's on its last word,
    0 on the others), and where each phrase starts, by its last word."""
    phrases = _PHRASES[language]
    firsts = _PHRASE_FIRSTS[language]
    found: dict[int, float] = {}
    starts: dict[int, int] = {}
    lowered: list[str] = []
    for index, word in enumerate(words):
        if word.lower() not in firsts:
            continue
        lowered = lowered or [word.lower().replace("’", "'") for word in words]
        for size in (3, 2):
            valence = phrases.get(tuple(lowered[index : index + size]))
            if valence is not None and index + size <= len(words):
                found.update(dict.fromkeys(range(index, index + size - 1), 0.0))
                found[index + size - 1] = valence
                starts[index + size - 1] = index
                break
    return found, starts


def _negated(before: list[str], language: str) -> bool:
    """Whether the (up to three) words before a word negate it."""
    lowered = [word.lower().replace("’", "'") for word in before]
    if any(_is_negator(word, language) for word in lowered):
        return True
    if language == "fr":
        if any(word in _FR_LACKING for word in lowered):
            return True
        if any(
            word == _FR_LITTLE and (position == 0 or lowered[position - 1] != "un")
            for position, word in enumerate(lowered)
        ):
            return True
        # "ne … plus", "ne … personne": the second word only negates with the first.
        return any(word in _FR_WITH_NE for word in lowered) and any(
            word in _FR_NE for word in lowered
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
    emojis = emoji_valences()
    boosters = _EN_BOOSTERS if language == "en" else _FR_BOOSTERS
    words = tokens(text, language)
    # A word with a letter (isalpha first: most words are all letters, and it is C).
    cased = [word for word in words if word.isalpha() or any(ch.isalpha() for ch in word)]
    shouting_differs = any(w.isupper() for w in cased) and not all(w.isupper() for w in cased)
    phrases, phrase_starts = _phrase_valences(words, language)
    too = "too" if language == "en" else "trop"
    valences: list[float] = []
    for index, word in enumerate(words):
        lower = word.lower()
        if lower in boosters and lower != "super" and index not in phrases:
            valences.append(0.0)
            continue
        value = phrases.get(index, _valence(word, language, emojis) or _rating(word))
        if value == 0.0:
            # "too slow", "trop bavard": excess, when the word itself is mute.
            excess = index > 0 and index not in phrases and words[index - 1].lower() == too
            valences.append(TOO_MUCH if excess and word.isalpha() else 0.0)
            continue
        if shouting_differs and word.isupper() and len(word) > 1:
            value += C_INCR if value > 0 else -C_INCR
        for distance in (1, 2, 3):
            if index - distance < 0:
                break
            previous = words[index - distance].lower()
            if previous in boosters:
                boost = boosters[previous] * (1.0, 0.95, 0.9)[distance - 1]
                value += boost if value > 0 else -boost
        start = phrase_starts.get(index, index)  # a phrase is negated as a whole
        if _negated(words[max(0, start - 3) : start], language):
            low = _FR_NEGATED_STAYS_LOW.get(lower) if language == "fr" else None
            value = low if low is not None else value * N_SCALAR
        valences.append(value)
    contrast = _CONTRAST[language]
    for index, word in enumerate(words):
        if word.lower() in contrast:
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
        negations = sum(1 for word in words if _is_negator(word, language))
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
