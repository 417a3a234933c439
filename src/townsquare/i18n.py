"""The gettext catalogs of French and English, loaded once, for any package.

The catalogs are files: ``web/locales/<lang>/LC_MESSAGES/*.po``, one per capability
(messages.po for the house, measure.po, links.po, …), merged into one set of translations
per language. The .po files are the source of truth and are compiled in memory on first
use, so there is no build step and no stale .mo file. This module reads them as files and
imports nothing of the web, so that a capability (reports rendered by the CLI or a
scheduled job) translates without importing ``townsquare.web``; ``web/i18n.py`` adds the
request's side (choosing the language, a translator of messages with values).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent / "web" / "locales"


@cache
def catalogs(language: str) -> NullTranslations:
    """Every catalog of ``language`` merged (NullTranslations when it has none)."""
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
