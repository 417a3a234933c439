"""Files people download: the one CSV writer of the product and the Content-Disposition header.

CSV exports hold text from outside (a visitor's Referer, a post's text, a tag): a cell
that a spreadsheet would take for a formula is neutralised by OWASP's rule — a cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``
(https://owasp.org/www-community/attacks/CSV_Injection). Numbers the product writes itself
are not text and are left alone (``-3`` stays a number).

Two conventions: :data:`ENGLISH` (``,`` and ``.``, the API's and the command line's) and
:data:`FRENCH` (``;`` and a decimal comma, with a byte-order mark so that Excel reads UTF-8),
which pages in French offer with their column headers translated by the caller.

:func:`content_disposition` builds the header of every download from any file name (user
data included): an ASCII ``filename`` fallback plus RFC 5987 ``filename*`` in UTF-8, with
no way to inject a quote, a parameter or a line break.

Pure functions; no I/O.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"


@dataclass(frozen=True)
class CsvDialect:
    """How numbers and cells are separated: the spreadsheet convention of a language."""

    separator: str = ","
    decimal: str = "."
    bom: bool = False


ENGLISH = CsvDialect()
FRENCH = CsvDialect(separator=";", decimal=",", bom=True)


def dialect_for(language: str | None) -> CsvDialect:
    """The convention of a page's language: French pages get ``;`` and decimal commas."""
    return FRENCH if language == "fr" else ENGLISH


def neutralise(text: str) -> str:
    """``text`` made inert in a spreadsheet: a leading ``'`` when it could start a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def cell(value: Any, dialect: CsvDialect = ENGLISH) -> str:
    """One value as CSV cell text: empty for unknown (never 0), numbers in the dialect."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        # repr round-trips a float exactly: the file holds the very figure computed.
        text = repr(value) if isinstance(value, float) else str(value)
        return text.replace(".", dialect.decimal) if dialect.decimal != "." else text
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return neutralise(";".join(str(item) for item in value))
    return neutralise(str(value))


class CsvWriter:
    """Rows to CSV text in a dialect; :meth:`take` hands out what is written so far
    (for streaming a large export in chunks)."""

    def __init__(self, dialect: CsvDialect = ENGLISH) -> None:
        self.dialect = dialect
        self._buffer = io.StringIO()
        # RFC 4180's CRLF: with both characters in the terminator, a cell holding a bare CR
        # or LF is quoted (with LF alone, "\r=1" went out unquoted and split the row).
        self._writer = csv.writer(self._buffer, delimiter=dialect.separator, lineterminator="\r\n")
        if dialect.bom:
            self._buffer.write(UTF8_BOM)

    def header(self, labels: Sequence[str]) -> None:
        self._writer.writerow([neutralise(str(label)) for label in labels])

    def row(self, values: Iterable[Any]) -> None:
        self._writer.writerow([cell(value, self.dialect) for value in values])

    def take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def to_csv(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
    *,
    dialect: CsvDialect = ENGLISH,
    labels: Callable[[str], str] | None = None,
) -> str:
    """CSV text: a header (``labels(column)``, default the column ids), then the rows
    (sequences in column order, or mappings read by column; a missing key is empty)."""
    writer = CsvWriter(dialect)
    writer.header([labels(column) if labels else column for column in columns])
    for row in rows:
        if isinstance(row, Mapping):
            writer.row(row.get(column) for column in columns)
        else:
            writer.row(row)
    return writer.take()


def stream_csv(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    dialect: CsvDialect = ENGLISH,
    labels: Callable[[str], str] | None = None,
    chunk_rows: int = 2000,
) -> Iterator[str]:
    """Like :func:`to_csv`, in chunks of ``chunk_rows`` rows (memory stays bounded)."""
    writer = CsvWriter(dialect)
    writer.header([labels(column) if labels else column for column in columns])
    for number, row in enumerate(rows, start=1):
        writer.row(row)
        if number % chunk_rows == 0:
            yield writer.take()
    yield writer.take()


# --- column headers in the page's language -------------------------------------------------


def N_(message: str) -> str:
    return message


# Column ids of the exports and their label for a reader (French pages translate these).
COLUMN_LABELS = {
    "date": N_("Date"),
    "human": N_("Human clicks"),
    "bot": N_("Bot clicks"),
    "unique_visitors": N_("Unique visitors"),
    "clicked_at": N_("Clicked at (UTC)"),
    "slug": N_("Short link"),
    "is_bot": N_("Bot"),
    "bot_name": N_("Bot name"),
    "referrer_domain": N_("Referring site"),
    "device": N_("Device"),
    "os": N_("Operating system"),
    "browser": N_("Browser"),
    "country": N_("Country"),
    "key": N_("Group"),
    "posts": N_("Posts"),
    "paid_posts": N_("Paid posts"),
    "n": N_("Posts"),
    "median": N_("Median"),
    "mean": N_("Mean"),
    "ci_low": N_("95% CI low"),
    "ci_high": N_("95% CI high"),
    "small_sample": N_("Small sample"),
    "a": N_("Format A"),
    "b": N_("Format B"),
    "p_value": N_("p-value"),
    "p_adjusted": N_("Adjusted p-value (Holm)"),
    "effect_size": N_("Effect size"),
    "weekday": N_("Weekday"),
    "hour": N_("Hour"),
    "name": N_("Name"),
    "label": N_("Label"),
    "label_fr": N_("French label"),
    "formula": N_("Formula"),
    "unit": N_("Unit"),
    "kind": N_("Kind"),
    "metrics": N_("Metrics"),
    "source": N_("Source"),
    "description": N_("Description"),
}


def header_labels(
    language: str | None,
    gettext: Callable[[str], str],
    more: Callable[[str], str | None] | None = None,
) -> Callable[[str], str] | None:
    """How a page in ``language`` names the columns: None (the ids, like the API) in
    English; in French the translated label of each id (``more`` names others, e.g. KPIs)."""
    if language != "fr":
        return None

    def label(column: str) -> str:
        if column in COLUMN_LABELS:
            return gettext(COLUMN_LABELS[column])
        named = more(column) if more else None
        return named if named is not None else column

    return label


# --- Content-Disposition -------------------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/]+')
ASCII_NAME_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _ascii(text: str) -> str:
    """Accents dropped (é → e), any other character outside ASCII replaced by ``_``."""
    kept = []
    for character in unicodedata.normalize("NFKD", text):
        if character.isascii():
            kept.append(character)
        elif not unicodedata.combining(character):
            kept.append("_")
    return "".join(kept)


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="…"`` (or ``inline``) for any name, safe to send as a header.

    Control characters (CR, LF), quotes, backslashes and slashes are dropped; the
    ``filename`` parameter is an ASCII fallback (accents stripped, anything else ``_``);
    when that differs from the real name, ``filename*=UTF-8''…`` (RFC 5987/6266) carries
    it percent-encoded. The header is always pure ASCII.
    """
    kind = "inline" if inline else "attachment"
    name = " ".join(_UNSAFE_IN_NAME.sub(" ", filename).split()).lstrip(". ") or "download"
    fallback = _NOT_ASCII_SAFE.sub("_", _ascii(name)).lstrip("._").rstrip("_") or "download"
    header = f'{kind}; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header
