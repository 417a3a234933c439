"""What every converter shares: the import's context and the row → PostRecord interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from townsquare.analytics.importers.dates import DateReader
from townsquare.analytics.importers.records import PostRecord, Problems


@dataclass
class Context:
    """Options of one import that converters need."""

    zone: ZoneInfo
    date_format: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # column -> field (generic)
    date_orders: dict[tuple[str, int], str] = field(default_factory=dict)


class Converter(Protocol):
    """Turns one row of a file into a post, or records why it cannot (line-numbered)."""

    # The default snapshot time of a preset whose file does not say when counters were read.
    taken_at: datetime | None

    def header_problems(self) -> list[str]:
        """What is wrong with the header (missing or unknown columns); [] when fine."""
        ...

    def date_column(self) -> int | None:
        """Index of the column whose date forms must be inferred first, if any."""
        ...

    def convert(self, line: int, cells: list[Any], problems: Problems) -> PostRecord | None: ...


def cell(cells: list[Any], index: int) -> Any:
    """The cell at ``index``; a short row reads as empty cells (csv drops trailing ones)."""
    return cells[index] if index < len(cells) else None


def date_reader(context: Context, column: str, orders: dict[tuple[str, int], str]) -> DateReader:
    return DateReader(
        context.zone,
        date_format=context.date_format,
        orders=orders,
        column=column,
    )
