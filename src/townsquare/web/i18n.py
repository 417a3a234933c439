"""French and English: gettext catalogs read from ``locales/<lang>/LC_MESSAGES/*.po``.

Each capability keeps its own catalog file (messages.po for the house, measure.po,
links.po, …); they are merged. The .po files are the source of truth and are compiled in
memory at start-up, so there is no build step and no stale .mo file. English is the source
language: its one catalog, en/LC_MESSAGES/web.po, only rephrases for web pages the server
messages written for the command line.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from townsquare.messages import translate

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"


@cache
def translations(language: str) -> NullTranslations:
    # English is the source language; its only catalog (en/web.po) rephrases for web pages
    # the few server messages that speak to the command line.
    po_paths = sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po"))
    if not po_paths:
        return NullTranslations()
    merged: Translations | None = None
    for po_path in po_paths:
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    assert merged is not None
    return merged


class Translator:
    """gettext for one language that also translates a Message with its values (numbers
    written the language's way): ``tr("Log in")``, ``tr(error.message)``."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.translations = translations(language)

    def __call__(self, text: str) -> str:
        return translate(text, self.translations.gettext, self.number)

    def number(self, value: int | float) -> str:
        # Whole numbers in messages are mostly line numbers, ids and years: as they are.
        if isinstance(value, int):
            return str(value)
        return str(format_decimal(value, locale=self.language))

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)


@cache
def translator(language: str) -> Translator:
    return Translator(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def choose_language(
    user_language: str | None, cookie_language: str | None, accept_language: str | None
) -> str:
    """The user's choice, else the cookie's, else the browser's, else English."""
    for choice in (user_language, cookie_language):
        if choice in LANGUAGES:
            return choice
    if accept_language:
        preferred = []
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().replace("-", "_")
            if tag and tag != "*":
                preferred.append(tag)
        found = negotiate_locale(preferred, list(LANGUAGES), sep="_")
        if found:
            return str(Locale.parse(found).language)
    return DEFAULT_LANGUAGE
