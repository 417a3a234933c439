"""Sentiment measured on texts written and labelled by others, beside VADER.

The English set is UCI's "Sentiment Labelled Sentences" (3,003 Amazon, IMDb and Yelp
sentences, CC BY 4.0; tests/data/sentiment/README.md). The rules of listening/sentiment.py
were designed on the even rows; the figures that count are those of the odd rows, held out.
The labels are positive or negative only: a text classified neutral is a miss for its class
(for VADER too, with its own ±0.05 threshold). macro-F1 is the mean of the two classes' F1.
No French set with a clear licence exists in the registries (see the README): French is
checked by behaviour (test_sentiment.py), and here beside vadersentiment-fr on those cases.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import data_file
from townsquare.listening.sentiment import classify

# Set from the measurement (held-out macro-F1 0.808 against VADER's 0.763), with a margin.
ENGLISH_FLOOR = 0.79


def macro_f1(pairs: list[tuple[str, str]], labels: tuple[str, ...]) -> float:
    """Mean over ``labels`` of F1 = 2PR/(P+R), from (truth, prediction) pairs."""
    scores = []
    for label in labels:
        tp = sum(1 for truth, guess in pairs if truth == label and guess == label)
        fp = sum(1 for truth, guess in pairs if truth != label and guess == label)
        fn = sum(1 for truth, guess in pairs if truth == label and guess != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def _vader_label(compound: float) -> str:
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def english_texts() -> list[tuple[str, str]]:
    rows = []
    for name in ("amazon.json", "imdb.json", "yelp.json"):
        for row in json.loads(data_file(f"sentiment/{name}").read_text(encoding="utf-8")):
            rows.append((row["text"], "positive" if row["class"] == 1 else "negative"))
    return rows


def test_macro_f1_in_english_beats_vader() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    rows = english_texts()
    assert len(rows) == 3003
    vader = SentimentIntensityAnalyzer()
    figures = {}
    for part, texts in (("all", rows), ("held-out", rows[1::2])):
        ours = [(truth, classify(text, "en").label) for text, truth in texts]
        theirs = [
            (truth, _vader_label(vader.polarity_scores(text)["compound"])) for text, truth in texts
        ]
        figures[part] = (
            macro_f1(ours, ("negative", "positive")),
            macro_f1(theirs, ("negative", "positive")),
        )
        print(
            f"\nEnglish, UCI sentences ({part}, {len(texts)} texts): macro-F1 townsquare "
            f"{figures[part][0]:.3f}, VADER {figures[part][1]:.3f}"
        )
    ours_held_out, vader_held_out = figures["held-out"]
    assert ours_held_out >= ENGLISH_FLOOR
    assert ours_held_out > vader_held_out


# Behaviour cases written for the French rules (not an evaluation set: see the module text).
FRENCH_CASES = [
    ("je ne suis pas satisfait", "negative"),
    ("pas satisfait du service", "negative"),
    ("j'adore ce produit", "positive"),
    ("je n'aime pas du tout", "negative"),
    ("ça ne marche plus depuis hier", "negative"),
    ("je n'ai jamais été déçu", "positive"),
    ("vraiment génial !", "positive"),
    ("c'est nul", "negative"),
    ("livraison rapide, merci 😍", "positive"),
    ("service client horrible 😡", "negative"),
    ("pas mal du tout", "positive"),
    ("le colis est arrivé mardi", "neutral"),
]


@pytest.mark.filterwarnings("ignore:Using slow pure-python SequenceMatcher")
def test_french_rules_beside_vadersentiment_fr() -> None:
    from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer

    theirs_analyzer = SentimentIntensityAnalyzer()
    ours = sum(classify(text, "fr").label == truth for text, truth in FRENCH_CASES)
    theirs = sum(
        _vader_label(theirs_analyzer.polarity_scores(text)["compound"]) == truth
        for text, truth in FRENCH_CASES
    )
    print(
        f"\nFrench behaviour cases ({len(FRENCH_CASES)}, written for the rules, not an "
        f"evaluation): townsquare {ours}, vadersentiment-fr {theirs}"
    )
    assert ours == len(FRENCH_CASES)
