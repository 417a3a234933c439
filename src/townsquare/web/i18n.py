"""French and English for web pages: the reader's language and a translator of messages.

The catalogs themselves (``locales/<lang>/LC_MESSAGES/*.po``, one per capability, merged
and compiled in memory) are loaded by ``townsquare.i18n``, which capabilities use outside
a request too. English is the source language: its one catalog,
en/LC_MESSAGES/web.po, only rephrases for web pages the server messages written for the
command line.
"""

from __future__ import annotations

from functools import cache

from babel import Locale, negotiate_locale
from babel.numbers import format_decimal
from babel.support import NullTranslations

from townsquare.i18n import LOCALES_DIR as LOCALES_DIR
from townsquare.i18n import catalogs
from townsquare.messages import translate

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"


def translations(language: str) -> NullTranslations:
    """The merged catalogs of ``language``; English's (en/web.po) rephrases for web pages
    the few server messages that speak to the command line."""
    return catalogs(language)


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
