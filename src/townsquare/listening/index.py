"""Many watches against one stream of documents, fast: one automaton, then candidates only.

Each query yields *anchors*: words (or word beginnings, or a site, an author, a language, a
network) at least one of which every matching document must contain, chosen to be as rare
as possible by the words' frequencies in French and English (wordfreq). The anchors of all
watches go into one Aho–Corasick automaton (pyahocorasick, in C) and a few dictionaries; a
document is scanned once, and only the watches whose anchors it contains are evaluated in
full by :mod:`townsquare.listening.matching`. A query with no anchor (``NOT spam``, say) is
evaluated on every document. The answer is always the reference evaluator's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import ahocorasick

from townsquare.listening.matching import matches
from townsquare.listening.query import And, Filter, InField, Item, Near, Node, Not, Or, Phrase, Term
from townsquare.listening.text import Document, fold, normal_author, url_host

Anchor = tuple[
    str, str
]  # (kind, key): ("word" | "prefix" | "site" | "author" | "lang" | "network")
WatchId = Any  # whatever the caller numbers its watches with


@cache
def word_frequency(word: str) -> float:
    """How often ``word`` appears in French or English text, per billion words (wordfreq).

    Judges which of a query's words makes the best anchor: the rarest. Invented words (most
    brand names) are 0; the floor keeps a word's beginning (``lumi*``) from looking free.
    """
    import wordfreq

    zipf = max(wordfreq.zipf_frequency(word, "fr"), wordfreq.zipf_frequency(word, "en"))
    return max(10**zipf, 1.0)


# A language or network filter holds a large share of all posts.
_FIELD_FILTER_FREQUENCY = 3e8


class _AnchorChooser:
    """Chooses each query's anchors so that as few posts as possible make it a candidate."""

    def item_anchor(self, item: Item) -> Anchor:
        # Any word of a phrase must be there: take the rarest.
        if isinstance(item, Phrase):
            term = min(item.terms, key=lambda t: (word_frequency(t.text), -len(t.text)))
        else:
            term = item
        key = fold(term.text) if term.exact else term.text
        return ("prefix" if term.prefix else "word", key)

    def cost(self, found: frozenset[Anchor]) -> float:
        """About how many posts per billion words hold one of the anchors."""
        total = 0.0
        for kind, key in found:
            if kind in ("word", "prefix"):
                total += word_frequency(key) * (10 if kind == "prefix" else 1)
            elif kind in ("lang", "network"):
                total += _FIELD_FILTER_FREQUENCY
            else:
                total += 1.0  # a site or an author: rare
        return total

    def anchors(self, node: Node) -> frozenset[Anchor] | None:
        """Anchors one of which every matching document holds; None when there is none."""
        if isinstance(node, Term | Phrase):
            return frozenset({self.item_anchor(node)})
        if isinstance(node, InField):
            return frozenset({self.item_anchor(node.item)})
        if isinstance(node, Filter):
            return frozenset({(node.field, node.value)})
        if isinstance(node, Near):
            sides = [frozenset(self.item_anchor(i) for i in s) for s in (node.left, node.right)]
            return min(sides, key=self.cost)
        if isinstance(node, And):
            options = [a for a in (self.anchors(c) for c in node.children) if a is not None]
            return min(options, key=self.cost) if options else None
        if isinstance(node, Or):
            union: set[Anchor] = set()
            for child in node.children:
                child_anchors = self.anchors(child)
                if child_anchors is None:
                    return None
                union |= child_anchors
            return frozenset(union)
        assert isinstance(node, Not)
        return None


def anchors(node: Node) -> frozenset[Anchor] | None:
    """The anchors of one query (see :class:`_AnchorChooser`)."""
    return _AnchorChooser().anchors(node)


def deciding_terms(node: Node) -> list[Term]:
    """Terms whose match alone makes the query match (the query, or one of its OR-ed terms).

    The automaton's hit on such a term's word, with the right sign before it, is the answer:
    no need to read the document's words.
    """
    if isinstance(node, Term):
        return [] if node.exact else [node]
    if isinstance(node, Or):
        return [term for child in node.children for term in deciding_terms(child)]
    return []


def required_words(node: Node) -> frozenset[str]:
    """Folded words (or word beginnings) that every matching document's title, text or URL
    holds somewhere as a substring: a cheap test that rules most candidates out."""
    if isinstance(node, Term):
        return frozenset({fold(node.text) if node.exact else node.text})
    if isinstance(node, Phrase):
        return frozenset(word for term in node.terms for word in required_words(term))
    if isinstance(node, InField):
        return required_words(node.item)
    if isinstance(node, Near):
        sides = [side[0] for side in (node.left, node.right) if len(side) == 1]
        return frozenset(word for item in sides for word in required_words(item))
    if isinstance(node, And):
        return frozenset(word for child in node.children for word in required_words(child))
    if isinstance(node, Or):
        common = [required_words(child) for child in node.children]
        return frozenset.intersection(*common) if common else frozenset()
    return frozenset()  # NOT, filters


@dataclass
class _Key:
    length: int
    whole_word: list[WatchId] = field(default_factory=list)
    beginning: list[WatchId] = field(default_factory=list)
    # (watch, sign) that a hit decides: a whole word, or the beginning of one.
    decides_word: list[tuple[WatchId, str]] = field(default_factory=list)
    decides_beginning: list[tuple[WatchId, str]] = field(default_factory=list)


class WatchIndex:
    """Compiled watches; :meth:`match` gives the ids of the watches a document matches."""

    def __init__(self, queries: Mapping[WatchId, Node]) -> None:
        self.queries = dict(queries)
        self.required = {watch_id: required_words(q) for watch_id, q in self.queries.items()}
        self.always: list[WatchId] = []
        self.by_field: dict[tuple[str, str], list[WatchId]] = {}
        keys: dict[str, _Key] = {}
        chooser = _AnchorChooser()
        for watch_id, query in self.queries.items():
            found = chooser.anchors(query)
            if found is None:
                self.always.append(watch_id)
                continue
            for kind, key in found:
                if kind in ("word", "prefix"):
                    entry = keys.setdefault(key, _Key(len(key)))
                    (entry.whole_word if kind == "word" else entry.beginning).append(watch_id)
                else:
                    self.by_field.setdefault((kind, key), []).append(watch_id)
            for term in deciding_terms(query):
                entry = keys.setdefault(term.text, _Key(len(term.text)))
                deciders = entry.decides_beginning if term.prefix else entry.decides_word
                deciders.append((watch_id, term.sign))
        self.automaton: ahocorasick.Automaton | None = None
        if keys:
            automaton = ahocorasick.Automaton()
            for key, entry in keys.items():
                automaton.add_word(key, (entry.length, entry.whole_word, entry.beginning,
                    entry.decides_word, entry.decides_beginning))  # fmt: skip
            automaton.make_automaton()
            self.automaton = automaton
        self.site_keys = {key for kind, key in self.by_field if kind == "site"}

    def __len__(self) -> int:
        return len(self.queries)

    def candidates(self, document: Document) -> set[WatchId]:
        """Watches whose anchors ``document`` contains (a superset of its matches)."""
        decided, undecided = self._scan(document)
        return decided | undecided

    def _scan(self, document: Document) -> tuple[set[WatchId], set[WatchId]]:
        """(watches the scan alone shows matched, watches to evaluate in full)."""
        found: set[WatchId] = set(self.always)
        decided: set[WatchId] = set()
        text = ""
        if self.automaton is not None:
            title, body = fold(document.title), fold(document.text)
            text = "\n".join((title, body, fold(document.url)))
            last = len(text) - 1
            url_starts = len(title) + len(body) + 2  # a hit there is in the URL only
            for end, (
                length,
                whole,
                beginning,
                decides_word,
                decides_beginning,
            ) in self.automaton.iter(text):
                start = end - length + 1
                if start > 0 and text[start - 1].isalnum():
                    continue
                is_word = end == last or not text[end + 1].isalnum()
                if beginning:
                    found.update(beginning)
                if whole and is_word:
                    found.update(whole)
                if start >= url_starts:
                    continue
                sign = text[start - 1] if start > 0 and text[start - 1] in "#@" else ""
                for watch_id, wanted in decides_beginning:
                    if not wanted or wanted == sign:
                        decided.add(watch_id)
                if is_word:
                    for watch_id, wanted in decides_word:
                        if not wanted or wanted == sign:
                            decided.add(watch_id)
        if self.by_field:
            by_field = self.by_field
            if self.site_keys and document.url:
                host = url_host(document.url)
                while host:
                    if host in self.site_keys:
                        found.update(by_field[("site", host)])
                    host = host.partition(".")[2]
            for kind, value in (
                ("author", normal_author(document.author)),
                ("lang", document.lang.strip().lower()),
                ("network", document.network.strip().lower()),
            ):
                if value and (kind, value) in by_field:
                    found.update(by_field[(kind, value)])
        undecided = found - decided
        if undecided:
            if not text:
                text = "\n".join((fold(document.title), fold(document.text), fold(document.url)))
            required = self.required
            undecided = {w for w in undecided if all(word in text for word in required[w])}
        return decided, undecided

    def match(self, document: Document) -> set[WatchId]:
        """The ids of the watches ``document`` matches."""
        decided, undecided = self._scan(document)
        if not undecided:
            return decided
        queries = self.queries
        return decided | {w for w in undecided if matches(queries[w], document)}
