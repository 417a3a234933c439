"""What every command shares: settings, the database, JSON output, workspace lookup."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from rich.console import Console
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
            database.upgrade()
        with database.session() as session:
            yield session
    finally:
        database.dispose()


def operator_access(session: Session, workspace_slug: str) -> WorkspaceAccess:
    return WorkspaceAccess.operator(get_workspace(session, workspace_slug))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, nothing else on it."""
    sys.stdout.write(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2) + "\n")
