"""Opening a CSV or XLSX file as a header and numbered rows, whatever its encoding/separator.

CSV files are read as a stream (a million-row file never sits in memory); the encoding is
detected on the first megabyte (UTF-8 with or without BOM first, then charset-normalizer)
and the separator from the header line. Line numbers are the file's own, 1 being the header,
so that a problem can be found in a spreadsheet or an editor.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from townsquare.errors import ValidationError

SAMPLE_BYTES = 1 << 20
SEPARATORS = (",", ";", "\t", "|")
XLSX_MAGIC = b"PK\x03\x04"

csv.field_size_limit(1 << 24)  # long post texts


@dataclass
class Table:
    """A file seen as a header and rows; ``rows()`` can be called again for another pass."""

    path: Path
    kind: str  # "csv" or "xlsx"
    header: list[str]
    encoding: str | None = None
    separator: str | None = None
    size: int = 0  # bytes (csv) or rows (xlsx): the unit of ``position``
    _position: Any = field(default=None, repr=False)

    def position(self) -> int:
        """How far the current pass has read, in the unit of ``size`` (for progress bars)."""
        return int(self._position()) if self._position else 0

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(line number, cells) of every data row; blank lines are skipped."""
        if self.kind == "xlsx":
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    def _csv_rows(self) -> Iterator[tuple[int, list[Any]]]:
        assert self.encoding is not None and self.separator is not None
        with self.path.open("rb") as raw:
            self._position = raw.tell
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            # strict: a quote left open is an error at the end of the file, instead of the
            # rest of the file silently becoming one text cell.
            reader = csv.reader(text, delimiter=self.separator, strict=True)
            last = 0
            try:
                next(reader, None)  # the header
                last = reader.line_num
                for cells in reader:
                    start, last = last + 1, reader.line_num
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue
                    yield start, cells
            except UnicodeDecodeError as error:
                line = _first_undecodable_line(self.path, self.encoding)
                raise ValidationError(
                    "line %(line)s: the file is not valid %(encoding)s (%(reason)s): give its "
                    "encoding (--encoding latin-1, cp1252…) or save it as UTF-8",
                    params={"line": line, "encoding": self.encoding, "reason": error.reason},
                    field="file",
                ) from None
            except csv.Error as error:
                start = last + 1  # the line where the row that failed begins
                if "unexpected end of data" in str(error):
                    raise ValidationError(
                        'line %(line)s: a quoted field is never closed (a " with no closing '
                        '"): close it, or double the quote ("") inside a quoted field',
                        params={"line": start},
                        field="file",
                        problems=[{"line": start, "message": "unterminated quoted field"}],
                    ) from None
                raise ValidationError(
                    "line %(line)s: the CSV cannot be read (%(error)s)",
                    params={"line": start, "error": str(error)},
                    field="file",
                    problems=[{"line": start, "message": str(error)}],
                ) from None
            finally:
                self._position = None

    def _xlsx_rows(self) -> Iterator[tuple[int, list[Any]]]:
        workbook = _open_workbook(self.path)
        try:
            sheet = workbook.worksheets[0]
            count = 0
            self._position = lambda: count
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                count = number
                if number == 1:
                    continue
                cells = list(values)
                if all(value is None or str(value).strip() == "" for value in cells):
                    continue
                yield number, cells
        finally:
            self._position = None
            workbook.close()


def _first_undecodable_line(path: Path, encoding: str) -> int:
    """The line of the first byte ``encoding`` cannot decode (the reader decodes ahead)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(SAMPLE_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return line + chunk[: max(error.start, 0)].count(b"\n")
            line += chunk.count(b"\n")
    return line


def _open_workbook(path: Path) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ValidationError(
            "cannot open %(name)s as an Excel workbook (%(error)s): save it as .xlsx or CSV",
            params={"name": path.name, "error": error},
            field="file",
        ) from None


# Codecs whose name asks for a byte-order mark to tell the byte order.
_NEEDS_BOM = {"utf_16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
              "utf_32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)}  # fmt: skip
# A guess below this plausibility (see _plausibility) is refused: pass --encoding instead.
MIN_PLAUSIBILITY = 0.98
_FALLBACKS = ("cp1252", "latin-1")


def text_encoding(name: str) -> str:
    """``name`` if it is a text codec (bytes → str), else ValidationError saying why.

    ``zlib``, ``base64``, ``hex``, ``uu_codec``, ``rot13``… exist in Python but turn bytes
    into bytes (or str into str): they cannot read a CSV.
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        raise ValidationError(
            "unknown encoding %(value)r: use e.g. utf-8, latin-1, cp1252",
            params={"value": name},
            field="encoding",
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValidationError(
            "%(value)r is not a text encoding (it encodes bytes, not text): use e.g. utf-8, "
            "latin-1, cp1252",
            params={"value": name},
            field="encoding",
        )
    return name


def _check_bom(sample: bytes, encoding: str) -> None:
    boms = _NEEDS_BOM.get(codecs.lookup(encoding).name.replace("-", "_"))
    if boms and not sample.startswith(boms):
        raise ValidationError(
            "the file has no byte-order mark, so %(encoding)s cannot tell its byte order: "
            "give %(encoding)s-le or %(encoding)s-be instead",
            params={"encoding": encoding},
            field="encoding",
        )


def _plausibility(text: str) -> float:
    """Share of characters a human text plausibly holds: letters (accented ones too),
    digits, punctuation and spaces; not C0/C1 controls, not odd symbols such as the
    ``Ã©``-style pairs a wrong single-byte guess produces."""
    if not text:
        return 1.0
    plausible = 0
    previous_upper_accent = False
    for char in text:
        if char in "\r\n\t" or (char.isascii() and char.isprintable()):
            plausible += 1
            previous_upper_accent = False
            continue
        code = ord(char)
        odd = code < 0x20 or 0x7F <= code < 0xA0 or not (char.isalpha() or char.isprintable())
        # "Ã" or "Â" followed by another non-ASCII character: UTF-8 read as cp1252/latin-1.
        mojibake = previous_upper_accent and not char.isascii()
        if not odd and not mojibake:
            plausible += 1
        previous_upper_accent = char in "ÃÂ"
    return plausible / len(text)


@dataclass(frozen=True)
class EncodingGuess:
    encoding: str
    plausibility: float


def guess_single_byte(sample: bytes) -> EncodingGuess:
    """cp1252, latin-1 or the detector's guess: whichever decodes into the most plausible
    text (ties to the first, cp1252 being what spreadsheets write on Windows)."""
    candidates: list[str] = list(_FALLBACKS)
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and best.encoding not in candidates:
        candidates.append(str(best.encoding))
    guesses: list[EncodingGuess] = []
    for candidate in candidates:
        try:
            text = codecs.getincrementaldecoder(candidate)().decode(sample, final=False)
        except (UnicodeDecodeError, LookupError):
            continue
        guesses.append(EncodingGuess(candidate, _plausibility(text)))
    if not guesses:
        raise ValidationError(
            "cannot tell the file's text encoding: give it with --encoding (e.g. cp1252) or "
            "save the file as UTF-8 CSV",
            field="file",
        )
    return max(guesses, key=lambda guess: guess.plausibility)


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file from its first bytes: BOMs, then UTF-8, then the most
    plausible of cp1252, latin-1 and charset-normalizer's guess; ValidationError asking
    for ``--encoding`` when even that one is not plausible enough."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # The sample may end in the middle of a character: decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    guess = guess_single_byte(sample)
    if guess.plausibility < MIN_PLAUSIBILITY:
        raise ValidationError(
            "the file is not UTF-8 and its encoding is unclear (best guess %(encoding)s, "
            "%(plausible)s plausible text): give it with --encoding (e.g. "
            "cp1252, latin-1, utf-16-le) or save the file as UTF-8 CSV",
            params={"encoding": guess.encoding, "plausible": f"{guess.plausibility:.0%}"},
            field="encoding",
        )
    return guess.encoding


def detect_separator(header_line: str) -> str:
    """The separator used in the header line (the most frequent candidate; ',' by default)."""
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def open_table(path: Path, *, separator: str | None = None, encoding: str | None = None) -> Table:
    """Open ``path`` (CSV or XLSX, told apart by content, not name) and read its header."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except OSError as error:
        raise ValidationError(
            "cannot read %(path)s: %(strerror)s",
            params={"path": path, "strerror": error.strerror},
            field="file",
        ) from None
    if not sample.strip():
        raise ValidationError(
            "%(name)s is empty: nothing to import", params={"name": path.name}, field="file"
        )
    if sample.startswith(XLSX_MAGIC):
        return _open_xlsx(path)
    if encoding:
        _check_bom(sample, text_encoding(encoding))
    encoding = encoding or detect_encoding(sample)
    text = _decode_sample(sample, encoding)
    first_line = text.splitlines()[0] if text else ""
    separator = separator or detect_separator(first_line)
    header = next(csv.reader(io.StringIO(text), delimiter=separator), [])
    return Table(
        path=path,
        kind="csv",
        header=[cell.strip() for cell in header],
        encoding=encoding,
        separator=separator,
        size=size,
    )


def _decode_sample(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(sample, final=False)
    except (UnicodeDecodeError, LookupError) as error:
        raise ValidationError(
            "the file is not valid %(encoding)s (%(error)s): save it as UTF-8 CSV",
            params={"encoding": encoding, "error": error},
            field="file",
        ) from None


def _open_xlsx(path: Path) -> Table:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        header_row = next(sheet.iter_rows(values_only=True, max_row=1), ())
        size = sheet.max_row or 0
    finally:
        workbook.close()
    header = ["" if value is None else str(value).strip() for value in header_row]
    while header and not header[-1]:
        header.pop()
    return Table(path=path, kind="xlsx", header=header, size=size)
