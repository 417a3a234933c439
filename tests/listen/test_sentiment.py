"""The sentiment rules, French and English: negation, intensifiers, emoji, elision."""

from __future__ import annotations

import pytest

from townsquare.listening.sentiment import classify, score_text, tokens


def test_french_elision_is_split() -> None:
    assert tokens("j'adore, n'aime pas", "fr") == ["j'", "adore", "n'", "aime", "pas"]
    assert tokens("l’avenir", "fr") == ["l'", "avenir"]
    assert classify("j'adore", "fr").label == "positive"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("satisfait", "fr"),
        ("j'aime ce service", "fr"),
        ("good", "en"),
        ("I like it", "en"),
    ],
)
def test_negation_turns_the_sentiment_over(text: str, language: str) -> None:
    negated = {
        "satisfait": "pas satisfait",
        "j'aime ce service": "je n'aime pas ce service",
        "good": "not good",
        "I like it": "I don't like it",
    }[text]
    assert classify(text, language).label == "positive"
    assert classify(negated, language).label == "negative"


def test_ne_plus_negates_but_plus_alone_does_not() -> None:
    assert classify("ça ne fonctionne plus bien", "fr").label == "negative"
    assert classify("plus efficace que jamais", "fr").label == "positive"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("peu crédible", "negative"),  # "peu" before a word negates it...
        ("crédible", "positive"),
        ("un peu long", "negative"),  # ...but "un peu" only softens
        ("le film manque d'humour", "negative"),  # what is lacking counts against
        ("pas terrible", "negative"),  # mediocre, not praise
        ("pas fameux ce restaurant", "negative"),
        ("trop bavard", "negative"),  # excess, when the word has no valence of its own
        ("un vrai chef d'oeuvre", "positive"),  # set phrases, valued as a whole
        ("à voir absolument", "positive"),
        ("à éviter", "negative"),
        ("le service laisse à désirer", "negative"),
        ("c'est n'importe quoi", "negative"),
        ("le colis est arrivé mardi", "neutral"),
    ],
)
def test_french_phrases_and_little_lacking_excess(text: str, label: str) -> None:
    assert classify(text, "fr").label == label


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        ("1/5", "fr", "negative"),
        ("2,5/10 pour ce film", "fr", "negative"),
        ("17/20", "fr", "positive"),
        ("10/10 would buy again", "en", "positive"),
        ("0/5", "en", "negative"),
        ("le 12/05", "fr", "neutral"),  # a date is no rating
    ],
)
def test_a_rating_counts_by_its_place_on_the_scale(text: str, language: str, label: str) -> None:
    assert classify(text, language).label == label


@pytest.mark.parametrize(
    ("plain", "strong", "language"),
    [("bien", "très bien", "fr"), ("nul", "vraiment nul", "fr"), ("good", "very good", "en")],
)
def test_intensifiers_strengthen(plain: str, strong: str, language: str) -> None:
    assert abs(score_text(strong, language)) > abs(score_text(plain, language)) > 0


def test_dampeners_weaken() -> None:
    assert 0 < score_text("slightly good", "en") < score_text("good", "en")


def test_capitals_and_exclamations_strengthen() -> None:
    assert score_text("this is GREAT", "en") > score_text("this is great", "en")
    assert score_text("génial !!!", "fr") > score_text("génial", "fr")


def test_emoji_count_attached_or_alone() -> None:
    assert classify("😍", "fr").label == "positive"
    assert classify("😡", "en").label == "negative"
    assert classify("livraison reçue😡😡", "fr").label == "negative"
    assert score_text("super 👍", "fr") > score_text("super", "fr")


def test_accents_may_be_missing() -> None:
    assert classify("tres decu", "fr").label == "negative"
    assert score_text("decu", "fr") == score_text("déçu", "fr")


def test_contrast_weighs_what_follows() -> None:
    assert classify("the food was good but the service was horrible", "en").label == "negative"
    assert classify("c'est cher mais génial", "fr").label == "positive"


def test_neutral_and_bounds() -> None:
    assert classify("le colis est arrivé mardi", "fr") == classify("", "fr")
    assert classify("", "en").label == "neutral" and classify("", "en").score == 0.0
    for text in ("!!!!! GREAT GREAT GREAT 😍😍😍 love love", "horrible " * 50):
        assert -1.0 <= score_text(text, "en") <= 1.0


def test_other_languages_use_the_english_rules() -> None:
    assert classify("great", "de") == classify("great", "en")
