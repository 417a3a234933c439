"""listen: an alert's last_error stored as a message (template + values)

Until now ``listen_alerts.last_error`` held the English sentence of the last failed send;
it now holds its template (the catalogs' msgid) beside its values (``last_error_params``,
JSON), like a channel's last_error (0019_channel_messages), so that the alerts page and the
API show it in the reader's language. Existing rows keep their text (no values): they are
shown as they were, and the next failure or success replaces them.

Revision ID: 0022_alert_messages
Revises: 0021_listen_stream
Create Date: 2026-12-03 11:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0022_alert_messages"
down_revision = "0021_listen_stream"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listen_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error_params", sa.JSON(), nullable=True))


def _fill(template: str, params: dict[str, Any]) -> str:
    try:
        return template % params
    except (KeyError, TypeError, ValueError):
        return template


def downgrade() -> None:
    alerts = sa.table(
        "listen_alerts",
        sa.column("id", sa.Integer()),
        sa.column("last_error", sa.String(1000)),
        sa.column("last_error_params", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(alerts).where(alerts.c.last_error.is_not(None))).all()
    for row in rows:
        if row.last_error_params:
            connection.execute(
                sa.update(alerts)
                .where(alerts.c.id == row.id)
                .values(last_error=_fill(row.last_error, row.last_error_params)[:1000])
            )
    with op.batch_alter_table("listen_alerts", schema=None) as batch_op:
        batch_op.drop_column("last_error_params")
