"""Which language a text is written in, offline (py3langid ships its model in the package).

:func:`detect_many` gives py3langid's answers for many texts at once: its byte automaton is
walked for all of them together, one numpy step per byte position, where py3langid walks
each text byte by byte in Python (most of a poll's time went there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from itertools import islice
from typing import Any

# The languages townsquare's users mostly meet; fewer choices make short texts more reliable.
LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "nl", "ca", "br", "oc", "ar", "ja", "zh", "ru")
MIN_CONFIDENCE = 0.5
_CHUNK = 256  # texts walked together (sorted by length, so that few steps are wasted)


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


@cache
def _tables() -> tuple[Any, Any, Any, Any, Any]:
    """The identifier's automaton and weights as numpy arrays."""
    import numpy as np  # here, not at import: the CLI starts without it

    identifier = _identifier()
    assert not identifier._alias_pairs  # none among LANGUAGES: no columns to fold
    return (
        np.frombuffer(identifier.tk_nextmove, dtype=np.dtype(identifier.tk_nextmove.typecode)),
        np.asarray(identifier._rowbase, dtype=np.int64),
        np.asarray(identifier.tk_output, dtype=np.int64),
        np.asarray(identifier.nb_ptc, dtype=np.float32),
        np.asarray(identifier.nb_pc, dtype=np.float32),
    )


def _readable(text: str) -> bool:
    """At least three letters (it stops at the third: texts are often long)."""
    return len(list(islice(filter(str.isalpha, text), 3))) == 3


def detect(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, or "" when it cannot be told."""
    if not _readable(text):
        return ""
    language, confidence = _identifier().classify(text)
    return str(language) if confidence >= MIN_CONFIDENCE else ""


def detect_many(texts: Sequence[str]) -> list[str]:
    """:func:`detect` of each of ``texts`` (the same answers, computed together)."""
    identifier = _identifier()
    found = [""] * len(texts)
    encoded = sorted(
        (
            (identifier._encode(text), number)
            for number, text in enumerate(texts)
            if _readable(text)
        ),
        key=lambda pair: len(pair[0]),
    )
    for first in range(0, len(encoded), _CHUNK):
        chunk = encoded[first : first + _CHUNK]
        for (_data, number), language in zip(chunk, _classify([d for d, _ in chunk]), strict=True):
            found[number] = language
    return found


def _classify(texts: list[bytes]) -> list[str]:
    """py3langid's naive Bayes over the automaton's features, for texts of similar length."""
    import numpy as np

    next_move, row_base, output, weights, priors = _tables()
    identifier = _identifier()
    count, longest = len(texts), max(len(text) for text in texts)
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=count)
    data = np.zeros((count, max(longest, 1)), dtype=np.int64)
    for row, text in enumerate(texts):
        data[row, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    features = np.full((count, longest), -1, dtype=np.int64)
    state = np.zeros(count, dtype=np.int64)
    for step in range(longest):
        state = next_move[row_base[state] + data[:, step]].astype(np.int64)
        features[:, step] = output[state]
    features[np.arange(longest)[None, :] >= lengths[:, None]] = -1  # past a text's end
    rows, columns = np.nonzero(features >= 0)
    kinds = weights.shape[0]
    keys, counts = np.unique(rows * kinds + features[rows, columns], return_counts=True)
    scores = np.zeros((count, weights.shape[1]), dtype=np.float32)
    np.add.at(
        scores,
        keys // kinds,
        np.log1p(counts.astype(np.float32))[:, None] * weights[keys % kinds],
    )
    has_features = np.zeros(count, dtype=bool)
    has_features[keys // kinds] = True
    scores[has_features] += priors
    languages = []
    for row in range(count):
        line = scores[row] * np.float32(1.0 / math.sqrt(int(lengths[row]) or 1))
        line = np.exp(line - line.max())
        line /= line.sum()
        best = int(line.argmax())
        confident = float(line[best]) >= MIN_CONFIDENCE
        languages.append(str(identifier.nb_classes[best]) if confident else "")
    return languages
