"""The query language: the exact semantics the issue writes down, and its errors."""

from __future__ import annotations

import pytest

from townsquare.listening.matching import matches
from townsquare.listening.query import QuerySyntaxError, parse
from townsquare.listening.text import Document, fold, words


def hit(query: str, text: str, **fields: str) -> bool:
    return matches(parse(query), Document(text, **fields))


def test_words_are_runs_of_letters_and_digits_with_their_sign() -> None:
    found = [(w.sign, w.raw) for w in words("L'avenir, c'est #Soldes2026 chez @acme_fr e-mail")]
    assert found == [
        ("", "L"),
        ("", "avenir"),
        ("", "c"),
        ("", "est"),
        ("#", "Soldes2026"),
        ("", "chez"),
        ("@", "acme"),
        ("", "fr"),
        ("", "e"),
        ("", "mail"),
    ]


def test_folding_ignores_case_and_accents() -> None:
    assert fold("Lumière CAFÉ Noël") == "lumiere cafe noel"
    assert hit("cafe", "Un Café, svp")
    assert hit("lumiere", "LUMIÈRE sur la ville")
    assert hit("Lumière", "lumiere")
    # A decomposed accent (e + U+0301) is the same word.
    assert hit("café", "cafe\u0301 noir")


def test_word_boundaries_are_respected() -> None:
    assert not hit("art", "what a party")
    assert hit("art", "l'art moderne")
    assert not hit("soldes", "soldesmania")


def test_exact_terms_match_case_and_accents() -> None:
    assert hit("=Apple", "I like Apple")
    assert not hit("=Apple", "an apple a day")
    assert not hit("=Café", "un cafe")
    assert hit('="Le Monde"', "lu dans Le Monde hier")
    assert not hit('="Le Monde"', "le monde entier")


def test_signs() -> None:
    assert hit("soldes", "les #soldes arrivent")
    assert hit("soldes", "les soldes arrivent")
    assert hit("#soldes", "les #Soldes arrivent")
    assert not hit("#soldes", "les soldes arrivent")
    assert not hit("#acme", "merci @acme")
    assert hit("@acme", "merci @ACME !")


def test_wildcards_need_three_letters() -> None:
    assert hit("lumi*", "Lumineux")
    assert hit("lumi*", "lumière")
    assert not hit("lumi*", "allumer")
    with pytest.raises(QuerySyntaxError, match="at least 3 letters"):
        parse("lu*")


def test_phrases_are_consecutive_words() -> None:
    assert hit('"prix de lancement"', "Le prix de lancement est bas")
    assert not hit('"prix de lancement"', "le prix, puis de lancement")
    assert hit("l'avenir", "L’avenir est là")  # a term with several words is a phrase


def test_phrases_ignore_punctuation_between_words() -> None:
    # Punctuation only separates words: "prix, de" are still consecutive words.
    assert hit('"prix de"', "le prix, de toute façon")


def test_boolean_operators_and_precedence() -> None:
    assert hit("a b", "b then a")
    assert not hit("a b", "only a")
    assert hit("a OR b", "only b")
    assert hit("a -b", "a alone")
    assert not hit("a -b", "a and b")
    assert not hit("a NOT b", "a and b")
    # NOT > AND > OR: "a NOT b OR c" is "(a AND NOT b) OR c".
    assert hit("a NOT b OR c", "a b c")
    assert not hit("a NOT b OR c", "a b")
    assert hit("a (b OR c)", "a c")
    assert not hit("a (b OR c)", "b c")
    assert hit("-(spam OR promo) offre", "une offre")
    assert not hit("-(spam OR promo) offre", "une offre promo")
    # Lower-case operators are words.
    assert hit("rock and roll", "rock and roll")
    assert not hit("rock and roll", "rock roll")


def test_near_and_onear() -> None:
    assert hit("prix NEAR/2 avis", "prix et avis")
    assert hit("prix NEAR/2 avis", "avis et prix")
    assert not hit("prix NEAR/1 avis", "prix et avis")
    assert hit("prix NEAR/1 avis", "prix avis")
    assert hit("prix ONEAR/3 avis", "prix puis avis")
    assert not hit("prix ONEAR/3 avis", "avis puis prix")
    assert hit('"prix bas" NEAR/2 avis', "prix bas selon avis")
    assert hit("(prix OR tarif) NEAR/2 (avis OR critique)", "le tarif fait critique")
    assert not hit("(prix OR tarif) NEAR/2 (avis OR critique)", "le tarif fait une grosse critique")


def test_title_and_text_never_join() -> None:
    assert hit("lancement", "nothing", title="Le lancement")
    assert not hit('"grand lancement"', "lancement du produit", title="Un grand")
    assert not hit("grand NEAR/1 lancement", "lancement du produit", title="Un grand")
    assert hit("title:lancement", "x", title="Le lancement")
    assert not hit("title:lancement", "Le lancement", title="x")


def test_field_filters() -> None:
    assert hit("site:example.com", "x", url="https://www.Example.com/a")
    assert hit("site:example.com", "x", url="https://example.com./a")
    assert not hit("site:example.com", "x", url="https://notexample.com/a")
    assert hit("author:jdupont", "x", author="@JDupont")
    assert hit("author:élodie", "x", author="Elodie")
    assert not hit("author:jdupont", "x", author="jdupont2")
    assert hit("lang:fr", "x", lang="FR")
    assert not hit("lang:fr", "x", lang="en")
    assert hit("network:mastodon", "x", network="mastodon")
    assert hit("url:promo", "x", url="https://a.test/promo-2026")
    assert not hit("url:promo", "promo", url="https://a.test/x")
    assert hit('author:"Jean Dupont"', "x", author="jean dupont")


@pytest.mark.parametrize(
    ("query", "column", "words_in_message"),
    [
        ('marque AND "sans fin', 12, "unclosed quote"),
        ("a NEAR/ b", 3, "NEAR/ needs a number"),
        ("a ONEAR/x b", 3, "ONEAR/ needs a number"),
        ("(a OR b", 1, "unclosed parenthesis"),
        ("a OR b)", 7, "unexpected )"),
        ("a OR", 5, "OR needs a term after it"),
        ("OR a", 1, "OR needs a term before it"),
        ("a AND AND b", 7, "AND needs a term after it"),
        ("", 1, "empty query"),
        ("()", 1, "empty parentheses"),
        ("lu*", 1, "at least 3 letters"),
        ("lu*mi", 1, "only ends a word"),
        ("a NEAR/2 (b c)", 3, "joins words, phrases"),
        ("a NEAR/2 b NEAR/2 c", 12, "right after another NEAR"),
        ("lang:", 1, "needs a value"),
        ("!!!", 1, "no letters or digits"),
    ],
)
def test_errors_name_the_column_and_a_fix(query: str, column: int, words_in_message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.column == column
    assert words_in_message in caught.value.message
    assert f"at column {column}:" in caught.value.message
    assert caught.value.field == "query"
