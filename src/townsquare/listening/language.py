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
# Texts walked together (sorted by length, so that few steps are wasted): the more, the
# fewer numpy steps per text; the padded bytes of a chunk stay under _CELLS (a long page
# is walked with few others).
_CHUNK = 2048
_CELLS = 4_000_000


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
    for chunk in _chunks(encoded):
        for (_data, number), language in zip(chunk, _classify([d for d, _ in chunk]), strict=True):
            found[number] = language
    return found


def _chunks(encoded: list[tuple[bytes, int]]) -> list[list[tuple[bytes, int]]]:
    """The texts (sorted by length) in chunks walked together: as many as fit in _CELLS
    bytes once padded to the longest of their chunk, at most _CHUNK."""
    chunks: list[list[tuple[bytes, int]]] = []
    current: list[tuple[bytes, int]] = []
    for pair in encoded:
        if current and (len(current) >= _CHUNK or (len(current) + 1) * len(pair[0]) > _CELLS):
            chunks.append(current)
            current = []
        current.append(pair)
    if current:
        chunks.append(current)
    return chunks


def _classify(texts: list[bytes]) -> list[str]:
    """py3langid's naive Bayes over the automaton's features, for texts of similar length.

    The arrays are laid out step by step (one row per byte position), so that each step of
    the automaton reads and writes one contiguous row for all the texts."""
    import numpy as np

    next_move, row_base, output, weights, priors = _tables()
    identifier = _identifier()
    count, longest = len(texts), max(len(text) for text in texts)
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=count)
    data = np.zeros((count, max(longest, 1)), dtype=np.uint8)
    for row, text in enumerate(texts):
        data[row, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    steps = np.ascontiguousarray(data.T)
    features = np.empty((longest, count), dtype=np.int32)
    base = np.full(count, row_base[0], dtype=np.int64)
    for step in range(longest):
        state = next_move[base + steps[step]]
        features[step] = output[state]
        base = row_base[state]
    features[np.arange(longest)[:, None] >= lengths[None, :]] = -1  # past a text's end
    positions, rows = np.nonzero(features >= 0)
    kinds = weights.shape[0]
    keys, counts = np.unique(rows * kinds + features[positions, rows], return_counts=True)
    scores = np.zeros((count, weights.shape[1]), dtype=np.float32)
    if len(keys):
        # The keys are sorted, so each text's features are together: summed in their order
        # (as np.add.at would, far faster).
        text_of = keys // kinds
        starts = np.flatnonzero(np.r_[True, text_of[1:] != text_of[:-1]])
        terms = np.log1p(counts.astype(np.float32))[:, None] * weights[keys % kinds]
        scores[text_of[starts]] = np.add.reduceat(terms, starts, axis=0)
        scores[text_of[starts]] += priors
    factors = np.array([1.0 / math.sqrt(int(n) or 1) for n in lengths], dtype=np.float32)
    lines = scores * factors[:, None]
    lines = np.exp(lines - lines.max(axis=1, keepdims=True))
    lines /= lines.sum(axis=1, keepdims=True)
    best = lines.argmax(axis=1)
    confident = lines[np.arange(count), best] >= MIN_CONFIDENCE
    classes = identifier.nb_classes
    return [
        str(classes[b]) if ok else ""
        for b, ok in zip(best.tolist(), confident.tolist(), strict=True)
    ]
