"""The reader's language for reports rendered outside a web request (CLI, scheduled runs).

A report is written in its own language (French or English), whoever renders it, so it
cannot use the request's translations. The catalogs are the web app's
(``townsquare.i18n``; reports.po holds the report's own strings); a report in English is
the source English, not the web's rephrasing of command-line hints (en/web.po).
"""

from __future__ import annotations

from babel.support import NullTranslations

from townsquare.i18n import catalogs

LANGUAGES = ("en", "fr")


def translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    return catalogs(language)
