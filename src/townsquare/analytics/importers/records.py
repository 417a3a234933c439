"""Plain data passed between the readers, the converters and the writer (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from townsquare.analytics.models import METRIC_COLUMNS
from townsquare.messages import Message

# Problems listed in one report: enough to fix a file in one go, bounded so that a
# million bad rows do not make a million-line answer.
MAX_PROBLEMS = 500


@dataclass(slots=True)
class PostRecord:
    """One post as read from one line of a file, ready to be written.

    ``metrics`` follows ``METRIC_COLUMNS``; None means the file did not say (unknown), never 0.
    """

    line: int
    external_id: str
    format: str
    published_at: datetime | None = None
    published_precision: str = "second"
    local_weekday: int | None = None
    local_hour: int | None = None
    permalink: str | None = None
    text: str | None = None
    link_url: str | None = None
    is_paid: bool | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    followers_at_publish: int | None = None
    # Local date of publication, for the channel snapshot that followers_at_publish implies.
    local_date: date | None = None
    metrics: tuple[int | None, ...] = (None,) * len(METRIC_COLUMNS)
    extra: dict[str, Any] | None = None
    taken_at: datetime | None = None  # None: the import's default snapshot time

    def has_metrics(self) -> bool:
        return any(value is not None for value in self.metrics) or bool(self.extra)


@dataclass
class Problems:
    """Every problem found in a file, with its line number (1 = the header line)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(self, line: int | None, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"line": line, "message": message})

    def __bool__(self) -> bool:
        return self.count > 0

    def as_list(self) -> list[dict[str, Any]]:
        if self.count <= len(self.items):
            return list(self.items)
        more = self.count - len(self.items)
        return [
            *self.items,
            {"line": None, "message": Message("… and %(more)s more problems", more=more)},
        ]


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do). ``as_json`` is the CLI/API contract."""

    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    duplicates_skipped: int = 0
    problems: Problems = field(default_factory=Problems)
    dry_run: bool = False
    snapshots_written: int = 0
    channel_snapshots_written: int = 0
    notes: list[str] = field(default_factory=list)
    encoding: str | None = None  # the text encoding the CSV was read with (None: XLSX)
    # Largest followers count per local date, for channel snapshots.
    followers: dict[date, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "imported": self.imported,
            "updated": self.updated,
            "duplicates_skipped": self.duplicates_skipped,
            "encoding": self.encoding,
            "errors": self.problems.as_list(),
        }
