"""Many watches against one stream of documents, fast: one automaton, then candidates only.

Each query yields *anchors*: words (or word beginnings, or a site, an author, a language, a
network) at least one of which every matching document must contain, chosen to be as rare
as possible by the words' frequencies in French and English (wordfreq). The anchors of all
watches go into one Aho–Corasick automaton (ahocorasick-rs, a DFA in Rust) and a few
dictionaries; a batch of documents is folded at once (one ``bytes.translate`` when it is
latin-1, as most French and English is) and scanned in one pass, and only the watches whose
anchors a document contains are evaluated in full by :mod:`townsquare.listening.matching`.
A query with no anchor (``NOT spam``, say) is evaluated on every document. The answer is
always the reference evaluator's.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate, count
from operator import add, attrgetter
from typing import Any

import ahocorasick_rs

from townsquare.listening.matching import matches
from townsquare.listening.patterns import compiled, holds
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
    whole_word: list[WatchId] = field(default_factory=list)
    beginning: list[WatchId] = field(default_factory=list)
    # (watch, sign) that a hit decides: a whole word, or the beginning of one.
    decides_word: list[tuple[WatchId, str]] = field(default_factory=list)
    decides_beginning: list[tuple[WatchId, str]] = field(default_factory=list)

    def payload(self) -> _Payload:
        return (self.whole_word, self.beginning, self.decides_word, self.decides_beginning)


# (whole word, beginning, decides as a word, decides as a beginning)
_Payload = tuple[list[WatchId], list[WatchId], list[tuple[WatchId, str]], list[tuple[WatchId, str]]]


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _all_latin1(document: Document) -> bool:
    return all(map(_is_latin1, (document.title, document.text, document.url)))


class WatchIndex:
    """Compiled watches; :meth:`match` gives the ids of the watches a document matches."""

    def __init__(self, queries: Mapping[WatchId, Node]) -> None:
        self.queries = dict(queries)
        self.required = {watch_id: required_words(q) for watch_id, q in self.queries.items()}
        self.patterns = {watch_id: compiled(q) for watch_id, q in self.queries.items()}
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
                    entry = keys.setdefault(key, _Key())
                    (entry.whole_word if kind == "word" else entry.beginning).append(watch_id)
                else:
                    self.by_field.setdefault((kind, key), []).append(watch_id)
            for term in deciding_terms(query):
                entry = keys.setdefault(term.text, _Key())
                deciders = entry.decides_beginning if term.prefix else entry.decides_word
                deciders.append((watch_id, term.sign))
        # Two automata over the same keys: bytes for a batch of latin-1 texts (the usual
        # case, and the fastest), text for a batch with other characters (emoji, scripts).
        self.automaton: ahocorasick_rs.AhoCorasick | None = None
        self.bytes_automaton: ahocorasick_rs.BytesAhoCorasick | None = None
        self.payloads: list[_Payload] = []
        self.bytes_payloads: list[_Payload] = []
        if keys:
            dfa = ahocorasick_rs.Implementation.DFA
            self.payloads = [entry.payload() for entry in keys.values()]
            self.automaton = ahocorasick_rs.AhoCorasick(list(keys), implementation=dfa)
            latin = [(key, entry) for key, entry in keys.items() if _is_latin1(key)]
            if latin:
                self.bytes_payloads = [entry.payload() for _key, entry in latin]
                self.bytes_automaton = ahocorasick_rs.BytesAhoCorasick(
                    [key.encode("latin-1") for key, _entry in latin], implementation=dfa
                )
        self.site_keys = {key for kind, key in self.by_field if kind == "site"}
        self.field_kinds = {kind for kind, _key in self.by_field}

    def __len__(self) -> int:
        return len(self.queries)

    def candidates(self, document: Document) -> set[WatchId]:
        """Watches whose anchors ``document`` contains (a superset of its matches)."""
        decided, undecided = self._scan([document]).get(0, (set(), set()))
        return decided | undecided

    def _scan(self, documents: Sequence[Document]) -> dict[int, _Scan]:
        """(watches the scan alone shows matched, watches to evaluate in full) of each
        document that has any, by its number in ``documents``. One automaton pass over the
        folded batch; nothing is done document by document for those it finds nothing in."""
        scans: dict[int, _Scan] = {}
        if not documents or not self.queries:
            return scans
        if self.always:
            scans = {number: (set(), set(self.always)) for number in range(len(documents))}
        batch = FoldedBatch.of(documents)
        if self.automaton is not None:
            if batch.latin is not None:
                if self.bytes_automaton is not None:
                    found = self.bytes_automaton.find_matches_as_indexes(
                        batch.latin, overlapping=True
                    )
                    self._scan_words(batch, found, self.bytes_payloads, scans)
            else:
                found = self.automaton.find_matches_as_indexes(batch.text, overlapping=True)
                self._scan_words(batch, found, self.payloads, scans)
        if self.by_field:
            self._scan_fields(documents, scans)
        required, patterns = self.required, self.patterns
        for number, (decided, candidates) in scans.items():
            candidates -= decided
            if candidates:
                own = batch.document_text(number)
                kept = [w for w in candidates if all(word in own for word in required[w])]
                if kept and (batch.latin is not None or _all_latin1(documents[number])):
                    # Its folded text has exactly its folded words: the patterns hold.
                    kept = [w for w in kept if holds(patterns[w], own)]
                candidates.intersection_update(kept)
        return scans

    def _scan_words(
        self,
        batch: FoldedBatch,
        hits: list[tuple[int, int, int]],
        payloads: list[_Payload],
        scans: dict[int, _Scan],
    ) -> None:
        """What the automaton's hits (key, start, end) in the folded batch say."""
        text = batch.text
        last = len(text) - 1
        ends = batch.ends
        for key, start, stop in hits:
            # Fields and documents are separated by "\n": a word never runs into the next.
            if start > 0 and text[start - 1].isalnum():
                continue
            end = stop - 1
            is_word = end == last or not text[stop].isalnum()
            whole, beginning, decides_word, decides_beginning = payloads[key]
            number = bisect_right(ends, end)
            scan = scans.get(number)
            if scan is None:
                scan = scans[number] = (set(), set())
            decided, found = scan
            if beginning:
                found.update(beginning)
            if whole and is_word:
                found.update(whole)
            if start >= batch.url_start(number):
                continue  # a hit in the URL only counts for anchors
            sign = text[start - 1] if start > 0 and text[start - 1] in "#@" else ""
            for watch_id, wanted in decides_beginning:
                if not wanted or wanted == sign:
                    decided.add(watch_id)
            if is_word:
                for watch_id, wanted in decides_word:
                    if not wanted or wanted == sign:
                        decided.add(watch_id)

    def _scan_fields(self, documents: Sequence[Document], scans: dict[int, _Scan]) -> None:
        by_field = self.by_field
        kinds = self.field_kinds
        for number, document in enumerate(documents):
            keys: list[tuple[str, str]] = []
            if self.site_keys and document.url:
                host = url_host(document.url)
                while host:
                    if host in self.site_keys:
                        keys.append(("site", host))
                    host = host.partition(".")[2]
            if "author" in kinds and document.author:
                keys.append(("author", normal_author(document.author)))
            if "lang" in kinds and document.lang:
                keys.append(("lang", document.lang.strip().lower()))
            if "network" in kinds and document.network:
                keys.append(("network", document.network.strip().lower()))
            for key in keys:
                if key in by_field:
                    scan = scans.get(number)
                    if scan is None:
                        scan = scans[number] = (set(), set())
                    scan[1].update(by_field[key])

    def match(self, document: Document) -> set[WatchId]:
        """The ids of the watches ``document`` matches."""
        return set(self.match_many([document])[0])

    def match_many(self, documents: Sequence[Document]) -> list[AbstractSet[WatchId]]:
        """For each of ``documents``, the ids of the watches it matches (one automaton pass
        for the whole batch: ingestion gives a poll's new mentions at once). Read-only:
        the documents that match nothing share one empty set."""
        queries = self.queries
        results: list[AbstractSet[WatchId]] = [_NOTHING] * len(documents)
        for number, (decided, undecided) in self._scan(documents).items():
            document = documents[number]
            if undecided:
                decided |= {w for w in undecided if matches(queries[w], document)}
            results[number] = decided
        return results


_Scan = tuple[set[WatchId], set[WatchId]]
_NOTHING: frozenset[WatchId] = frozenset()


def _fold_table() -> bytes:
    """``fold`` of every latin-1 character, as a bytes.translate table.

    Each latin-1 character folds to one latin-1 character (checked here, at import), so a
    latin-1 text folds with one ``translate`` and keeps its length.
    """
    folded = [fold(chr(byte)) for byte in range(256)]
    assert all(len(char) == 1 and ord(char) < 256 for char in folded)
    return "".join(folded).encode("latin-1")


_FOLD_TABLE = _fold_table()


def _fold_one(text: str) -> str:
    try:
        return text.encode("latin-1").translate(_FOLD_TABLE).decode("latin-1")
    except UnicodeEncodeError:
        return fold(text)


_TITLE, _TEXT, _URL = attrgetter("title"), attrgetter("text"), attrgetter("url")


@dataclass(frozen=True, slots=True)
class FoldedBatch:
    """The folded title, text and URL of every document of a batch in one string, all
    separated by "\\n" (``text``); the same in latin-1 bytes when every character is
    latin-1, else None (``latin``); where each field ends (``field_ends``, exclusive) and
    where each document ends (``ends``)."""

    text: str
    latin: bytes | None
    field_ends: list[int]
    ends: list[int]

    @classmethod
    def of(cls, documents: Sequence[Document]) -> FoldedBatch:
        # Built with C-level map/join/accumulate: no Python step and no object that the
        # garbage collector tracks per document (strings only).
        fields: list[str] = [""] * (3 * len(documents))
        fields[0::3] = map(_TITLE, documents)
        fields[1::3] = map(_TEXT, documents)
        fields[2::3] = map(_URL, documents)
        joined = "\n".join(fields)
        latin: bytes | None
        try:
            latin = joined.encode("latin-1").translate(_FOLD_TABLE)
        except UnicodeEncodeError:
            latin = None
        if latin is not None:  # folding kept every length
            text = latin.decode("latin-1")
        else:  # some text is not latin-1 (emoji, other scripts): field by field
            fields = list(map(_fold_one, fields))
            text = "\n".join(fields)
        field_ends = list(map(add, accumulate(map(len, fields)), count()))
        return cls(text, latin, field_ends, field_ends[2::3])

    def url_start(self, number: int) -> int:
        return self.field_ends[3 * number + 1] + 1

    def document_text(self, number: int) -> str:
        start = self.ends[number - 1] + 1 if number else 0
        return self.text[start : self.ends[number]]
