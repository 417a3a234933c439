"""What a document's folded text must contain for a query to match it, as regular expressions.

The index's automaton finds a query's rarest word; many documents hold that word without
matching (``"boutique de Lyon"`` names Lyon, so does every other text about the city).
Reading such a document's words (:class:`townsquare.listening.text.Words`) costs far more
than one regular expression over its folded text: the patterns here rule most of them out
first. Each pattern is a *necessary* condition (a document that matches the query matches
every pattern of it); the reference evaluator still decides the documents that pass.

A pattern follows the word rules of :mod:`townsquare.listening.text`: a term is a maximal
run of letters and digits (``[^\\W_]``) equal to the folded term (or beginning with it,
``lumi*``), the words of a phrase are consecutive runs with only other characters between.
Signs and exact forms are not looked at (a necessary condition may let more through). This
holds only where the batch's folded text has exactly the documents' folded words: when
every character of the document is latin-1 (:data:`LATIN1_EXACT` checks, at import, that
folding keeps each latin-1 character a word character or not).
"""

from __future__ import annotations

import re

from townsquare.listening.query import And, Filter, InField, Item, Near, Node, Not, Or, Phrase, Term
from townsquare.listening.text import fold

_WORD_CHAR = re.compile(r"[^\W_]")


def _keeps_word_chars() -> bool:
    for byte in range(256):
        char = chr(byte)
        if bool(_WORD_CHAR.match(char)) != bool(_WORD_CHAR.match(fold(char) or " ")):
            return False
    return True


# Folding a latin-1 character never makes a word character of a separator or the reverse:
# in a latin-1 text, the folded text's runs are the folded words.
LATIN1_EXACT = _keeps_word_chars()


def _key(term: Term) -> str:
    return re.escape(fold(term.text) if term.exact else term.text)


def _rest(term: Term) -> str:
    return r"[^\W_]*" if term.prefix else ""


def item_pattern(item: Item) -> str:
    """A term or a phrase as whole words (consecutive ones for a phrase). The first word
    comes first, its start checked behind it: a literal start lets ``re`` skip ahead."""
    terms = item.terms if isinstance(item, Phrase) else (item,)
    first = _key(terms[0])
    pattern = first + rf"(?<![^\W_]{first})" + _rest(terms[0])
    pattern += "".join(r"[\W_]+" + _key(term) + _rest(term) for term in terms[1:])
    return pattern + ("" if terms[-1].prefix else r"(?![^\W_])")


# Alternatives one of which a document's folded text holds (each searched on its own: an
# alternation would keep ``re`` from skipping ahead to a literal).
Alternatives = tuple[str, ...]


def necessary_patterns(node: Node) -> list[Alternatives]:
    """Alternatives that the folded title, text and URL of every document ``node`` matches
    all hold one of (an empty list when there is none: ``NOT x``, filters)."""
    if isinstance(node, Term | Phrase):
        return [(item_pattern(node),)]
    if isinstance(node, InField):
        return [(item_pattern(node.item),)]
    if isinstance(node, Near):
        return [tuple(item_pattern(item) for item in side) for side in (node.left, node.right)]
    if isinstance(node, And):
        return [found for child in node.children for found in necessary_patterns(child)]
    if isinstance(node, Or):
        union: list[str] = []
        for child in node.children:
            found = necessary_patterns(child)
            if not found:
                return []
            union += found[0]
        return [tuple(dict.fromkeys(union))] if union else []
    assert isinstance(node, Not | Filter)
    return []


Compiled = list[tuple[re.Pattern[str], ...]]


def compiled(node: Node) -> Compiled:
    """:func:`necessary_patterns` of ``node``, compiled (none unless latin-1 is exact)."""
    if not LATIN1_EXACT:  # pragma: no cover - checked at import: true on every Python seen
        return []
    return [
        tuple(re.compile(pattern) for pattern in alternatives)
        for alternatives in dict.fromkeys(necessary_patterns(node))
    ]


def holds(patterns: Compiled, text: str) -> bool:
    """Whether ``text`` holds one alternative of each of ``patterns``."""
    return all(any(pattern.search(text) for pattern in options) for options in patterns)
