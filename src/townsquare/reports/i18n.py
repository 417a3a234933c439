"""The reader's language for reports rendered outside a web request (CLI, scheduled runs).

A report is written in its own language (French or English), whoever renders it, so it
cannot use the request's translations. This reads the same catalogs as the web app
(``web/locales/<lang>/LC_MESSAGES/*.po``, reports.po holding the report's own strings)
as files: a capability does not import the web package.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "web" / "locales"
LANGUAGES = ("en", "fr")


@cache
def translations(language: str) -> NullTranslations:
    paths = sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po"))
    if language == "en" or not paths:
        return NullTranslations()
    merged: Translations | None = None
    for path in paths:
        with path.open("rb") as handle:
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
