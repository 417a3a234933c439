"""What every command shares: settings, the database, JSON output, workspace lookup."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from sqlalchemy import text
from sqlalchemy.orm import Session

from townsquare.config import Settings, get_settings
from townsquare.db import Database
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return get_settings()


@contextmanager
def open_session(*, migrate: bool = True) -> Iterator[Session]:
    """A session on the configured database, upgraded to the newest schema first.

    Commands migrate on open so that a fresh data directory just works; `db upgrade` is
    still there for operators who migrate as a separate deployment step.
    """
    database = Database.from_settings(settings())
    try:
        if migrate:
            upgrade_database(database)
        with database.session() as session:
            yield session
    finally:
        database.dispose()


# Any 64-bit number the application owns; PostgreSQL advisory locks are named by numbers.
MIGRATION_LOCK_KEY = 0x7473715F6D696772  # "tsq_migr"


def upgrade_database(database: Database) -> bool:
    """Migrate to the newest schema unless already there; True when something was applied.

    Several processes often start at once (`serve --no-worker` times N, workers, scripts):
    one migrates while the others wait on a lock, then find nothing left to do, instead
    of racing to create the same tables.
    """
    from townsquare.db.migrate import current_revision, head_revision

    if current_revision(database.engine) == head_revision(database.engine):
        return False
    with _migration_lock(database):
        if current_revision(database.engine) == head_revision(database.engine):
            return False
        database.upgrade()
        return True


@contextmanager
def _migration_lock(database: Database) -> Iterator[None]:
    if database.dialect == "postgresql":
        with database.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
        return
    path = database.engine.url.database if database.dialect == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    import fcntl

    from townsquare.config import ensure_private_file

    with ensure_private_file(Path(f"{path}.migrate-lock")).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def operator_access(session: Session, workspace_slug: str) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, workspace_slug))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, nothing else on it."""
    sys.stdout.write(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2) + "\n")


def redact_url(url: str) -> str:
    """The URL without its password, for logs (redis://:secret@host → redis://:***@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
