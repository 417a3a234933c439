"""Alembic environment: uses the engine handed over by ``townsquare.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from townsquare.db.base import Base
from townsquare.db.models import import_all_models

import_all_models()
target_metadata = Base.metadata
config = context.config

engine = config.attributes.get("engine") or create_engine(
    config.get_main_option("sqlalchemy.url") or "sqlite://"
)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
