"""One French per message: a msgid (with its msgctxt) is translated once across the catalogs.

The French catalogs are merged into one set of translations (``townsquare.i18n``), the
later file winning: a msgid defined in two catalogs with different French would show one or
the other depending on file names. Each string is owned by one catalog (docs/i18n.md).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from babel.messages.pofile import read_po

from townsquare.i18n import LOCALES_DIR


def definitions(directory: Path) -> dict[tuple[str, str | None], dict[str, str]]:
    """(msgid, msgctxt) → {catalog file name: its French} over the catalogs of a directory."""
    found: dict[tuple[str, str | None], dict[str, str]] = defaultdict(dict)
    for path in sorted(directory.glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="fr")
        for message in catalog:
            if not message.id:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            string = message.string
            french = string if isinstance(string, str) else " | ".join(string)
            found[(msgid, message.context)][path.name] = french
    return found


def conflicts(directory: Path) -> list[str]:
    return sorted(
        f"{msgid!r}"
        + (f" (msgctxt {context!r})" if context else "")
        + ": "
        + "; ".join(f"{name} {french!r}" for name, french in sorted(where.items()))
        for (msgid, context), where in definitions(directory).items()
        if len(set(where.values())) > 1
    )


def test_no_msgid_has_two_french_translations() -> None:
    found = conflicts(LOCALES_DIR / "fr" / "LC_MESSAGES")
    assert not found, (
        f"{len(found)} msgids are translated differently in several catalogs; keep the entry "
        "in the catalog that owns the string (docs/i18n.md) and remove the others:\n"
        + "\n".join(found)
    )


def test_a_second_french_is_found(tmp_path: Path) -> None:
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    (tmp_path / "a.po").write_text(
        header + 'msgid "Measure"\nmsgstr "Mesure"\n\nmsgid "Save"\nmsgstr "Enregistrer"\n',
        encoding="utf-8",
    )
    (tmp_path / "b.po").write_text(
        header + 'msgid "Measure"\nmsgstr "Mesurer"\n\nmsgid "Save"\nmsgstr "Enregistrer"\n'
        'msgctxt "verb"\nmsgid "Measure"\nmsgstr "Mesurer"\n',
        encoding="utf-8",
    )
    assert conflicts(tmp_path) == ["'Measure': a.po 'Mesure'; b.po 'Mesurer'"]
