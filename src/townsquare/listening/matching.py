"""What a query means for a document: the reference evaluator (pure, no I/O).

This evaluator is the definition; :mod:`townsquare.listening.index` is the fast path and
must agree with it on every document (a property test checks that).

- A term matches a word whose folded form equals it (its form as written for ``=Word``, its
  beginning for ``lumi*``); a bare term matches the word with or without sign, ``#tag`` and
  ``@name`` only the word with that sign.
- A phrase matches consecutive words.
- ``x NEAR/n y``: some occurrence of x and some occurrence of y at most n words apart
  (words between their nearest ends, plus one: neighbours are 1 apart); ``ONEAR/n``: and y
  starts after x ends.
- Terms, phrases and NEAR look in the title and the text, never across the two;
  ``title:t`` and ``url:t`` look in that field only.
- ``site:d``: the URL's host is d or one of its subdomains; ``author:a``: the author equals a
  ignoring case, accents and a leading ``@``; ``lang:`` and ``network:`` equal the
  document's fields (ignoring case).
"""

from __future__ import annotations

from townsquare.listening.query import (
    And,
    Filter,
    InField,
    Item,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Term,
)
from townsquare.listening.text import Document, Word, Words, fold, normal_author, url_host

Span = tuple[int, int]  # first and last position of an occurrence


def term_matches(term: Term, word: Word) -> bool:
    """Whether ``term`` matches one word (the definition the indexed search follows)."""
    if term.sign and word.sign != term.sign:
        return False
    value = word.raw if term.exact else word.folded
    return value.startswith(term.text) if term.prefix else value == term.text


def _matches_at(term: Term, words: Words, index: int) -> bool:
    if term.sign and words.signs[index] != term.sign:
        return False
    value = words.raws[index] if term.exact else words.folded[index]
    return value.startswith(term.text) if term.prefix else value == term.text


def _term_indices(term: Term, words: Words) -> list[int]:
    """Indices of the words ``term`` matches, found through the index by folded form."""
    key = fold(term.text) if term.exact else term.text
    if term.prefix:
        found = [i for word, at in words.by_folded.items() if word.startswith(key) for i in at]
    else:
        found = words.by_folded.get(key, [])
    if term.sign or term.exact:
        return [i for i in found if _matches_at(term, words, i)]
    return found


def occurrences(item: Item, words: Words) -> list[Span]:
    """Every span of ``words`` where ``item`` occurs."""
    positions = words.positions
    if isinstance(item, Term):
        return [(positions[i], positions[i]) for i in _term_indices(item, words)]
    first, rest = item.terms[0], item.terms[1:]
    count = len(positions)
    spans = []
    for start in _term_indices(first, words):
        origin = positions[start]
        if start + len(rest) < count and all(
            positions[start + k] == origin + k and _matches_at(term, words, start + k)
            for k, term in enumerate(rest, start=1)
        ):
            spans.append((origin, origin + len(rest)))
    return spans


def _near(node: Near, words: Words) -> bool:
    left = [span for item in node.left for span in occurrences(item, words)]
    if not left:
        return False
    right = [span for item in node.right for span in occurrences(item, words)]
    for a_start, a_end in left:
        for b_start, b_end in right:
            if b_start > a_end:
                gap = b_start - a_end
            elif node.ordered:
                continue
            elif a_start > b_end:
                gap = a_start - b_end
            else:
                gap = 0  # they overlap
            if gap <= node.distance:
                return True
    return False


def _filter(node: Filter, document: Document) -> bool:
    if node.field == "site":
        host = url_host(document.url)
        return host == node.value or host.endswith("." + node.value)
    if node.field == "author":
        return normal_author(document.author) == node.value
    if node.field == "lang":
        return document.lang.strip().lower() == node.value
    return document.network.strip().lower() == node.value


def matches(node: Node, document: Document) -> bool:
    """True when ``document`` is matched by the query tree ``node``."""
    if isinstance(node, Term | Phrase):
        return bool(occurrences(node, document.body_words))
    if isinstance(node, And):
        return all(matches(child, document) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, document) for child in node.children)
    if isinstance(node, Not):
        return not matches(node.child, document)
    if isinstance(node, Near):
        return _near(node, document.body_words)
    if isinstance(node, InField):
        words = document.title_words if node.field == "title" else document.url_words
        return bool(occurrences(node.item, words))
    return _filter(node, document)


def matched_spans(node: Node, document: Document) -> set[int]:
    """Positions of the title/text words that the query's positive terms hit (highlighting)."""
    found: set[int] = set()

    def walk(current: Node) -> None:
        if isinstance(current, Term | Phrase):
            for start, end in occurrences(current, document.body_words):
                found.update(range(start, end + 1))
        elif isinstance(current, Near):
            for item in (*current.left, *current.right):
                walk(item)
        elif isinstance(current, And | Or):
            for child in current.children:
                walk(child)

    walk(node)
    return found
