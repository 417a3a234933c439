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


@dataclass
class Document:
    """A document to match: a post, a feed item, a page change. Only ``text`` is required."""

    text: str
    title: str = ""
    url: str = ""
    author: str = ""
    lang: str = ""
    network: str = ""
    _body: list[Word] | None = None
    _title_words: list[Word] | None = None
    _url_words: list[Word] | None = None

    @property
    def body_words(self) -> list[Word]:
        """Title and text words; the text's positions start at TEXT_OFFSET."""
        if self._body is None:
            self._body = self.title_words + words(self.text, TEXT_OFFSET)
        return self._body

    @property
    def title_words(self) -> list[Word]:
        if self._title_words is None:
            self._title_words = words(self.title)
        return self._title_words

    @property
    def url_words(self) -> list[Word]:
        if self._url_words is None:
            self._url_words = words(self.url)
        return self._url_words
