"""The words the sentiment rules read (:mod:`townsquare.listening.sentiment`): the lexicons'
valences, emoji, the French and English negators, boosters and set phrases, and the split
of a text into tokens.

Every token's reading (lower case, valence, booster, negator, case) depends on the token
and the language only: :func:`token_readings` reads each distinct run of characters once
and keeps it (the same few thousand words come back in every text).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

LEXICONS = Path(__file__).parent / "lexicons"
B_INCR = 0.293


def _words(text: str) -> list[str]:
    return text.split()


_EN_NEGATORS = frozenset(
    _words("""aint arent cannot cant couldnt darent didnt doesnt dont hadnt hasnt havent isnt
    mightnt mustnt neither neednt never none nope nor not nothing nowhere oughtnt shant
    shouldnt uhuh wasnt werent without wont wouldnt rarely seldom no""")
)
# "plus" negates only beside "ne"/"n'" (else it is "more"); "personne", "point" likewise.
_FR_NEGATORS = frozenset(_words("pas jamais rien aucun aucune aucunement nullement sans ni guère"))
FR_NE = frozenset(("ne", "n'"))
FR_WITH_NE = frozenset(("plus", "personne", "point"))
# "manque de rythme", "manquent d'humour": what is lacking counts against.
FR_LACKING = frozenset(("manque", "manquent", "manquait", "manquaient"))
# "peu crédible", "peu d'intérêt" negate; "un peu long" only softens ("peu" stays a booster).
FR_LITTLE = "peu"
# Words whose negation is no praise: "pas terrible", "pas fameux" are mediocre, not good.
FR_NEGATED_STAYS_LOW = {"terrible": -1.5, "terribles": -1.5, "fameux": -1.5, "folichon": -1.5}
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
PHRASES: dict[str, dict[tuple[str, ...], float]] = {"en": {}, "fr": _FR_PHRASES}
PHRASE_FIRSTS = {language: {key[0] for key in keys} for language, keys in PHRASES.items()}
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
CONTRAST = {"en": frozenset(("but",)), "fr": frozenset(("mais", "cependant", "pourtant"))}
# Elided French words: the apostrophe ends the word (l'avenir, j'adore, qu'il, n'aime).
_FR_ELIDED = re.compile(r"^(j|l|d|n|m|t|s|c|qu|jusqu|lorsqu|puisqu|quoiqu)['’](.+)$", re.I)
_TOKEN_RE = re.compile(r"\S+")
_EDGE_PUNCT = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’…'
BOOSTERS = {"en": _EN_BOOSTERS, "fr": _FR_BOOSTERS}


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
    return lower in _FR_NEGATORS or lower in FR_NE


def _rating(word: str) -> float:
    """The valence of a rating such as ``2/5`` (0 when the word is none)."""
    found = _RATING.match(word) if "/" in word else None
    if not found:
        return 0.0
    value, scale = float(found.group(1).replace(",", ".")), float(found.group(2))
    return max(-4.0, min(4.0, (value / scale - 0.5) * RATING_SPAN))


class Token(NamedTuple):
    """How the rules read one token (the token itself is ``word``)."""

    word: str
    lower: str
    plain: str  # lower case, with ' for ’
    valence: float  # the lexicon's, an emoji's, or a rating's; 0.0 for none
    boost: float | None  # as a booster of the words after it
    negator: bool  # the token is a negator (as written)
    negates: bool  # its plain form is one
    may_negate: bool  # it is one, or takes part in a negation (French "peu", "manque")
    cased: bool  # it has a letter
    upper: bool
    alpha: bool


def _reading(word: str, language: str, emojis: dict[str, float]) -> Token:
    lower = word.lower()
    plain = lower.replace("’", "'")
    negates = _is_negator(plain, language)
    return Token(
        word,
        lower,
        plain,
        _valence(word, language, emojis) or _rating(word),
        BOOSTERS["en" if language == "en" else "fr"].get(lower),
        _is_negator(word, language),
        negates,
        negates or (language == "fr" and (plain in FR_LACKING or plain == FR_LITTLE)),
        word.isalpha() or any(ch.isalpha() for ch in word),
        word.isupper(),
        word.isalpha(),
    )


_RUNS_KEPT = 200_000  # distinct runs of characters kept per language (then forgotten)
_runs: dict[str, dict[str, tuple[Token, ...]]] = {}


def token_readings(text: str, language: str) -> list[Token]:
    """:func:`tokens` of ``text``, each with its reading (language ``en`` or ``fr``)."""
    runs = _runs.setdefault(language, {})
    found: list[Token] = []
    for raw in _TOKEN_RE.findall(text):
        readings = runs.get(raw)
        if readings is None:
            if len(runs) >= _RUNS_KEPT:
                runs.clear()
            emojis = emoji_valences()
            readings = runs[raw] = tuple(
                _reading(word, language, emojis) for word in _pieces(raw, language)
            )
        found.extend(readings)
    return found
