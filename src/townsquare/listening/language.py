"""Which language a text is written in, offline (py3langid ships its model in the package)."""

from __future__ import annotations

from functools import cache
from typing import Any

# The languages townsquare's users mostly meet; fewer choices make short texts more reliable.
LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "nl", "ca", "br", "oc", "ar", "ja", "zh", "ru")
MIN_CONFIDENCE = 0.5


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, or "" when it cannot be told."""
    if sum(ch.isalpha() for ch in text) < 3:
        return ""
    language, confidence = _identifier().classify(text)
    return str(language) if confidence >= MIN_CONFIDENCE else ""
