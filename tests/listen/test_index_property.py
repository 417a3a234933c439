"""The fast index gives exactly the reference evaluator's matches (property test)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from townsquare.listening.index import WatchIndex
from townsquare.listening.matching import matches
from townsquare.listening.query import QuerySyntaxError, parse
from townsquare.listening.text import Document

VOCABULARY = ["café", "Cafe", "lumière", "lumi", "art", "party", "prix", "Avis", "l", "avenir"]
VOCABULARY += ["soldes", "SOLDES", "noël", "e\u0301te\u0301", "été", "2026", "ß", "straße", "日本"]
SEPARATORS = [" ", " ", ", ", "'", "-", "\n", " — ", "_", ".", "! ", "👍🏽 "]
SIGNS = ["", "", "", "#", "@"]

word = st.builds(lambda sign, w: sign + w, st.sampled_from(SIGNS), st.sampled_from(VOCABULARY))
text = st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda parts: "".join(w + s for w, s in parts)
)
term = st.one_of(
    word,
    st.sampled_from(["lumi*", "caf*", "sold*", "=Cafe", "=café", "l'avenir", '"prix avis"']),
    st.sampled_from(['"art party"', '"Soldes 2026"', '"café =Cafe"', '"#art prix"']),
    st.sampled_from(["site:example.com", "author:jdupont", "lang:fr", "network:bluesky"]),
    st.sampled_from(["title:prix", "url:promo", 'title:"prix avis"']),
)


def _query(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return term
    smaller = _query(depth - 1)
    return st.one_of(
        term,
        st.builds(lambda a, b: f"{a} {b}", smaller, smaller),
        st.builds(lambda a, b: f"{a} AND {b}", smaller, smaller),
        st.builds(lambda a, b: f"({a}) OR ({b})", smaller, smaller),
        st.builds(lambda a: f"NOT ({a})", smaller),
        st.builds(lambda a: f"-{a}", term),
        st.builds(
            lambda a, b, n, o: f"{a} {o}NEAR/{n} ({b})",
            word,
            st.lists(word, min_size=1, max_size=3).map(" OR ".join),
            st.integers(0, 4),
            st.sampled_from(["", "O"]),
        ),
    )


document = st.builds(
    Document,
    text=text,
    title=st.one_of(st.just(""), text),
    url=st.sampled_from(["", "https://www.example.com/promo-2026", "https://other.test/a"]),
    author=st.sampled_from(["", "@JDupont", "someone"]),
    lang=st.sampled_from(["", "fr", "en"]),
    network=st.sampled_from(["", "bluesky", "mastodon"]),
)


def _parsed(queries: list[str]) -> dict[int, object]:
    parsed = {}
    for number, query in enumerate(queries):
        try:
            parsed[number] = parse(query)
        except QuerySyntaxError:
            continue  # e.g. a wildcard shorter than 3 letters: refused, nothing to compare
    return parsed


@settings(max_examples=200, deadline=None)
@given(st.lists(_query(3), min_size=1, max_size=12), st.lists(document, min_size=1, max_size=6))
def test_index_agrees_with_the_reference_evaluator(
    queries: list[str], documents: list[Document]
) -> None:
    parsed = _parsed(queries)
    index = WatchIndex(parsed)  # type: ignore[arg-type]
    expected = [
        {number for number, node in parsed.items() if matches(node, doc)}  # type: ignore[arg-type]
        for doc in documents
    ]
    for doc, wanted in zip(documents, expected, strict=True):
        assert index.match(doc) == wanted, (queries, doc)
    # The same documents in one batch (one automaton pass; latin-1 or not, as they come).
    assert index.match_many(documents) == expected, (queries, documents)
