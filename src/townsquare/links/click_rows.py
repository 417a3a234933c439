"""The database side of clicks: a click's ``link_clicks`` row, the batch write (with the
journal's position in the same transaction), that position read back, and the journal's
line format of a click. Used by the recorder's writer thread (links/clicks.py).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

from townsquare.db import Database
from townsquare.links.classify import classify_user_agent, referrer_domain


class Click(NamedTuple):
    """One buffered click, as the request path leaves it (no IP address)."""

    link_id: int
    workspace_id: int
    at: float  # epoch seconds
    user_agent: str
    referrer: str
    country: str | None
    visitor_hash: str
    is_head: bool


_COLUMNS = (
    "link_id",
    "workspace_id",
    "clicked_at",
    "click_date",
    "is_bot",
    "bot_name",
    "referrer_domain",
    "device_class",
    "os",
    "browser",
    "country",
    "visitor_hash",
)


def _statements(mark: str) -> tuple[str, str, str]:
    # Built from the constant column list and a placeholder only: no value is interpolated.
    columns, marks = ", ".join(_COLUMNS), ", ".join([mark] * len(_COLUMNS))
    return (
        f"INSERT INTO link_clicks ({columns}) VALUES ({marks})",  # noqa: S608
        f"UPDATE links SET human_clicks = human_clicks + {mark} WHERE id = {mark}",  # noqa: S608
        # SQLite (3.24+) and PostgreSQL spell the upsert the same way.
        f"INSERT INTO link_click_journal (name, position) VALUES ({mark}, {mark}) "  # noqa: S608
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    )


_SQL = {"qmark": _statements("?"), "format": _statements("%s")}
# Rows per multi-row INSERT on SQLite: 12 values each, under its limit of bound values per
# statement (32,766 since SQLite 3.32, 999 before).
_SQLITE_ROWS_PER_INSERT = 250 if sqlite3.sqlite_version_info >= (3, 32) else 80


@lru_cache(maxsize=8)
def _sqlite_insert(count: int) -> str:
    row = "(" + ", ".join(["?"] * len(_COLUMNS)) + ")"
    # Built from the constant column list and placeholders only: no value is interpolated.
    return f"INSERT INTO link_clicks ({', '.join(_COLUMNS)}) VALUES " + ", ".join(  # noqa: S608
        [row] * count
    )


_COPY = f"COPY link_clicks ({', '.join(_COLUMNS)}) FROM STDIN"


_sqlite_seconds: dict[int, tuple[str, str]] = {}


@lru_cache(maxsize=8192)
def _kind(user_agent: str, is_head: bool) -> tuple[bool, str | None, str, str | None, str | None]:
    kind = classify_user_agent(user_agent[:1000])
    is_bot, bot_name, device_class = kind.is_bot, kind.bot_name, kind.device_class
    if is_head and not is_bot:
        is_bot, bot_name, device_class = True, "HEAD request", "bot"
    return (
        is_bot,
        bot_name,
        device_class,
        kind.os[:60] if kind.os else None,
        kind.browser[:60] if kind.browser else None,
    )


def click_row(click: Click, *, sqlite: bool) -> tuple[tuple[object, ...], bool]:
    """The ``link_clicks`` row of a buffered click (in the driver's own types), and whether
    it is human.

    Rows go to the DB-API driver's ``executemany`` directly, not through SQLAlchemy's
    per-row bind processing: the writer shares the GIL with the event loop, and every
    microsecond it spends in Python is one the redirects wait for. On SQLite the values are
    what SQLAlchemy itself would store (naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``, 0/1).
    """
    is_bot, bot_name, device_class, os_name, browser = _kind(click.user_agent, click.is_head)
    if sqlite:
        second = int(click.at)
        stamp = _sqlite_seconds.get(second)
        if stamp is None:
            moment = datetime.fromtimestamp(second, UTC)
            stamp = (f"{moment:%Y-%m-%d %H:%M:%S}", moment.date().isoformat())
            if len(_sqlite_seconds) > 1000:
                _sqlite_seconds.clear()
            _sqlite_seconds[second] = stamp
        at: object = f"{stamp[0]}.{int((click.at - second) * 1_000_000):06d}"
        when: object = stamp[1]
        bot: object = 1 if is_bot else 0
    else:
        clicked_at = datetime.fromtimestamp(click.at, UTC)
        at, when, bot = clicked_at, clicked_at.date(), is_bot
    row = (
        click.link_id,
        click.workspace_id,
        at,
        when,
        bot,
        bot_name,
        referrer_domain(click.referrer[:2000]) if click.referrer else None,
        device_class,
        os_name,
        browser,
        click.country,
        click.visitor_hash,
    )
    return row, not is_bot


def write_clicks(
    database: Database, clicks: list[Click], *, position: tuple[str, int] | None = None
) -> dict[int, int]:
    """Classify and write ``clicks`` in one transaction; returns human clicks per link.

    ``position`` (journal segment name, bytes consumed) is stored in the same transaction,
    so the clicks and the journal's position are committed together or not at all.
    """
    sqlite = database.dialect == "sqlite"
    rows: list[tuple[object, ...]] = []
    human: dict[int, int] = {}
    for click in clicks:
        row, is_human = click_row(click, sqlite=sqlite)
        rows.append(row)
        if is_human:
            human[click.link_id] = human.get(click.link_id, 0) + 1
    if not rows and position is None:
        return human
    _, update, upsert = _SQL["qmark" if sqlite else "format"]
    with database.engine.begin() as connection:
        if not rows:
            pass
        elif database.dialect == "postgresql":
            # COPY: psycopg formats each row in C, far less GIL time than executemany's
            # per-row Python (measured with py-spy under wrk; see benchmarks/bench_links.py).
            cursor = connection.connection.cursor()
            try:
                with cursor.copy(_COPY) as copy:
                    for row in rows:
                        copy.write_row(row)
            finally:
                cursor.close()
        else:
            # Multi-row INSERTs: about 40% less time per row than executemany's one
            # statement per row (measured; the writer shares the GIL with the redirects).
            for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
                part = rows[start : start + _SQLITE_ROWS_PER_INSERT]
                connection.exec_driver_sql(
                    _sqlite_insert(len(part)), tuple(chain.from_iterable(part))
                )
        if human:
            connection.exec_driver_sql(update, [(n, link_id) for link_id, n in human.items()])
        if position is not None:
            connection.exec_driver_sql(upsert, position)
    return human


def journal_position(database: Database, name: str) -> int | None:
    """Bytes of journal segment ``name`` already written to the database (None: none)."""
    mark = "?" if database.dialect == "sqlite" else "%s"
    with database.engine.connect() as connection:
        value = connection.exec_driver_sql(
            f"SELECT position FROM link_click_journal WHERE name = {mark}",  # noqa: S608
            (name,),
        ).scalar()
    return None if value is None else int(value)


def forget_journal_position(database: Database, name: str) -> None:
    """Delete a segment's position once the segment file itself is deleted."""
    mark = "?" if database.dialect == "sqlite" else "%s"
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            f"DELETE FROM link_click_journal WHERE name = {mark}",  # noqa: S608
            (name,),
        )


# --- the journal's line format (links/journal.py) ----------------------------------------

_SEPARATORS = str.maketrans("\t\n\r", "   ")
# The longest line a click can take: two headers of MAX_HEADER_KEPT latin-1 characters
# (up to 2 UTF-8 bytes each), a 64-character hash and the numbers.
MAX_LINE_BYTES = 2 * 2 * 512 + 200


def encode_click(click: Click) -> bytes:
    """One journal line (see links/journal.py for the format)."""
    agent, referrer = click.user_agent, click.referrer
    if "\t" in agent or "\n" in agent or "\r" in agent:
        agent = agent.translate(_SEPARATORS)
    if "\t" in referrer or "\n" in referrer or "\r" in referrer:
        referrer = referrer.translate(_SEPARATORS)
    return (
        f"{click.link_id}\t{click.workspace_id}\t{click.at:.6f}\t{1 if click.is_head else 0}\t"
        f"{click.visitor_hash}\t{click.country or ''}\t{agent}\t{referrer}\n"
    ).encode("utf-8", "replace")


def decode_click(line: bytes) -> Click:
    """The click of a journal line (without its newline); ValueError when it is not one."""
    link_id, workspace_id, at, head, visitor, country, agent, referrer = line.decode(
        "utf-8", "replace"
    ).split("\t", 7)
    return Click(
        int(link_id),
        int(workspace_id),
        float(at),
        agent,
        referrer,
        country or None,
        visitor,
        head == "1",
    )
