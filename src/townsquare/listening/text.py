"""Words of a document as the query language sees them (pure functions, no I/O).

A word is a maximal run of Unicode letters and digits; a ``#`` or ``@`` right before a run
is kept as its *sign* (``#soldes``, ``@acme``). Everything else separates words: ``l'avenir``
is ``l`` + ``avenir``, ``e-mail`` is ``e`` + ``mail``. Matching ignores case and accents
unless a term asks for the exact form, so every word is kept twice: as written (NFC) and
*folded* (lower case, accents removed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

# [^\W_] is "a word character that is not the underscore": Unicode letters and digits.
WORD_RE = re.compile(r"([#@]?)([^\W_]+)")
_COMBINING_ACCENTS = re.compile("[\u0300-\u036f]+")
# Positions of the title and of the text never meet: a phrase or NEAR cannot span both.
TEXT_OFFSET = 1_000_000


def fold(text: str) -> str:
    """``text`` in lower case without accents: ``Lumière`` → ``lumiere``.

    Only the combining diacritical marks (U+0300–U+036F) are removed, so folding never
    joins or splits words (marks of other scripts separate words before and after). The
    result stays decomposed (NFD): it is only ever compared with other folded text.
    """
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    return _COMBINING_ACCENTS.sub("", unicodedata.normalize("NFD", lowered))


@dataclass(frozen=True, slots=True)
class Word:
    position: int
    sign: str  # "", "#" or "@"
    raw: str  # as written (NFC)
    folded: str


def clean(text: str) -> str:
    """``text`` in NFC without the accents that did not compose with their letter.

    A stray combining accent would split a word as written but not once folded; without
    it, a text has the same words as written and folded.
    """
    normal = unicodedata.normalize("NFC", text)
    return normal if normal.isascii() else _COMBINING_ACCENTS.sub("", normal)


def words(text: str, offset: int = 0) -> list[Word]:
    """The words of ``text``, numbered from ``offset``."""
    normal = clean(text)
    found = []
    for index, match in enumerate(WORD_RE.finditer(normal)):
        raw = match.group(2)
        found.append(Word(offset + index, match.group(1), raw, fold(raw)))
    return found


def url_host(url: str | None) -> str:
    """The host of ``url`` in lower case without a trailing dot, or "" when there is none."""
    if not url:
        return ""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def normal_author(author: str | None) -> str:
    """An author name compared ignoring case, accents and a leading ``@``."""
    return fold((author or "").strip().lstrip("@"))


@dataclass(slots=True)
class Words:
    """The words of one field as parallel lists, with an index by folded form."""

    positions: list[int]
    signs: list[str]
    raws: list[str]
    folded: list[str]
    by_folded: dict[str, list[int]]  # folded form -> indices into the lists

    @classmethod
    def of(cls, text: str, offset: int = 0) -> Words:
        return cls.joined(((text, offset),))

    @classmethod
    def joined(cls, fields: Iterable[tuple[str, int]]) -> Words:
        """The words of several fields, each (text, offset) numbered from its offset, with
        one index (a document's title and text: read once, no index copied)."""
        positions: list[int] = []
        signs: list[str] = []
        raws: list[str] = []
        folded: list[str] = []
        for text, offset in fields:
            raw_text = clean(text)
            raw_pairs = WORD_RE.findall(raw_text)
            field_raws = [word for _, word in raw_pairs]
            if raw_text.isascii():
                folded += [word.lower() for word in field_raws]
            else:
                folded_pairs = WORD_RE.findall(fold(raw_text))
                # clean() makes the folded text split into the same words; checked.
                if len(folded_pairs) == len(raw_pairs):
                    folded += [word for _, word in folded_pairs]
                else:  # pragma: no cover - a character whose folding changes boundaries
                    folded += [fold(word) for word in field_raws]
            positions += range(offset, offset + len(field_raws))
            signs += [sign for sign, _ in raw_pairs]
            raws += field_raws
        by_folded: dict[str, list[int]] = {}
        for index, word in enumerate(folded):
            by_folded.setdefault(word, []).append(index)
        return cls(positions, signs, raws, folded, by_folded)


@dataclass
class Document:
    """A document to match: a post, a feed item, a page change. Only ``text`` is required."""

    text: str
    title: str = ""
    url: str = ""
    author: str = ""
    lang: str = ""
    network: str = ""
    _body: Words | None = None
    _title_words: Words | None = None
    _url_words: Words | None = None

    @property
    def body_words(self) -> Words:
        """Title and text words; the text's positions start at TEXT_OFFSET."""
        if self._body is None:
            title = [(self.title, 0)] if self.title else []
            self._body = Words.joined([*title, (self.text, TEXT_OFFSET)])
        return self._body

    @property
    def title_words(self) -> Words:
        if self._title_words is None:
            self._title_words = Words.of(self.title)
        return self._title_words

    @property
    def url_words(self) -> Words:
        if self._url_words is None:
            self._url_words = Words.of(self.url)
        return self._url_words
