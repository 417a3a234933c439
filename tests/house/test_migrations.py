"""Migrations create exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from townsquare.db import Base, Database
from townsquare.db.migrate import current_revision, head_revision
from townsquare.db.models import import_all_models


def test_migrations_match_models(database: Database) -> None:
    import_all_models()
    assert current_revision(database.engine) == head_revision(database.engine)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_upgrade_is_idempotent(sqlite_database: Database) -> None:
    sqlite_database.upgrade()
    sqlite_database.upgrade()
    assert current_revision(sqlite_database.engine) == head_revision(sqlite_database.engine)
