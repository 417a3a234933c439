"""``townsquare db``: schema migrations."""

from __future__ import annotations

import typer

from townsquare.cli.common import console, settings, upgrade_database
from townsquare.db import Database
from townsquare.db.migrate import current_revision, head_revision

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (also done automatically by `serve`)."""
    database = Database.from_settings(settings())
    try:
        before = current_revision(database.engine)
        applied = upgrade_database(database)
        after = current_revision(database.engine)
    finally:
        database.dispose()
    if not applied:  # already there, or another process migrated while this one waited
        console.print(f"database already at {after}")
    else:
        console.print(f"database upgraded from {before or 'empty'} to {after}")


@app.command("status")
def status() -> None:
    """Show the schema revision of the database and the newest one known."""
    database = Database.from_settings(settings())
    try:
        console.print(f"database: {database.engine.url.render_as_string(hide_password=True)}")
        console.print(f"current revision: {current_revision(database.engine) or 'empty'}")
        console.print(f"newest revision:  {head_revision(database.engine)}")
    finally:
        database.dispose()
