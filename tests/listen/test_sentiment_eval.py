"""Sentiment measured on texts written and labelled by others, beside VADER.

The English set is UCI's "Sentiment Labelled Sentences" (3,003 Amazon, IMDb and Yelp
sentences, CC BY 4.0; tests/data/sentiment/README.md). The rules of listening/sentiment.py
were designed on the even rows; the figures that count are those of the odd rows, held out.
The French set is Allociné (film reviews written by Allociné.fr users, labelled from their own
rating; Théophile Blard, MIT; tests/data/sentiment/README.md): 1,228 reviews of at most 300
characters, balanced; the French rules were designed on its 754 *train* rows, the figures
that count are those of its 474 *test* rows, held out (Allociné's own test split).
The labels are positive or negative only: a text classified neutral is a miss for its class
(for VADER and vadersentiment-fr too, with their own ±0.05 threshold). macro-F1 is the mean
of the two classes' F1. Beside it, the "by sign" figure forces a choice: a score above 0 is
positive, below 0 negative (a score of exactly 0, no word of feeling, stays a miss).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import data_file
from townsquare.listening.sentiment import classify

# Set from the measurement (held-out macro-F1 0.808 against VADER's 0.763, 0.814 since the
# negative weight), with a margin.
ENGLISH_FLOOR = 0.79
# Set from the measurement on the 474 held-out Allociné rows (macro-F1 0.827 against
# vadersentiment-fr's 0.709; 0.733 before the French rules were designed on the train rows),
# with a margin.
FRENCH_FLOOR = 0.80
BINARY = ("negative", "positive")


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


def _by_sign(score: float) -> str:
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


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
            macro_f1(ours, BINARY),
            macro_f1(theirs, BINARY),
        )
        print(
            f"\nEnglish, UCI sentences ({part}, {len(texts)} texts): macro-F1 townsquare "
            f"{figures[part][0]:.3f}, VADER {figures[part][1]:.3f}"
        )
    ours_held_out, vader_held_out = figures["held-out"]
    assert ours_held_out >= ENGLISH_FLOOR
    assert ours_held_out > vader_held_out


def french_texts() -> list[tuple[str, str, str]]:
    """(text, truth, split) of the Allociné sample; split is train or test."""
    rows = json.loads(data_file("sentiment/allocine.json").read_text(encoding="utf-8"))
    return [
        (row["text"], "positive" if row["class"] == 1 else "negative", row["split"]) for row in rows
    ]


@pytest.mark.filterwarnings("ignore:Using slow pure-python SequenceMatcher")
def test_macro_f1_in_french_beats_vadersentiment_fr() -> None:
    from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer

    rows = french_texts()
    assert len(rows) == 1228
    held_out = [(text, truth) for text, truth, split in rows if split == "test"]
    assert len(held_out) == 474
    theirs_analyzer = SentimentIntensityAnalyzer()
    figures = {}
    for part, texts in (("all", [(t, truth) for t, truth, _ in rows]), ("held-out", held_out)):
        ours = [(truth, classify(text, "fr").score) for text, truth in texts]
        theirs = [
            (truth, theirs_analyzer.polarity_scores(text)["compound"]) for text, truth in texts
        ]
        figures[part] = {
            name: (
                macro_f1([(truth, label(score)) for truth, score in ours], BINARY),
                macro_f1([(truth, label(score)) for truth, score in theirs], BINARY),
            )
            for name, label in (("neutral a miss", _vader_label), ("by sign", _by_sign))
        }
        for name, (us, them) in figures[part].items():
            print(
                f"\nFrench, Allociné reviews ({part}, {len(texts)} texts, {name}): macro-F1 "
                f"townsquare {us:.3f}, vadersentiment-fr {them:.3f}"
            )
    ours_held_out, theirs_held_out = figures["held-out"]["neutral a miss"]
    assert ours_held_out >= FRENCH_FLOOR
    assert ours_held_out > theirs_held_out


# Behaviour cases written for the French rules (not an evaluation set: the Allociné rows are).
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
