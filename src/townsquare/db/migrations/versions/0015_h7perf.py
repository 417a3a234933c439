"""handles: a saved check keeps the custom domain asked as a Bluesky handle

Revision ID: 0015_h7perf
Revises: 0011_listen_marks
Create Date: 2026-12-02 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_h7perf"
down_revision = "0011_listen_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handle_checks") as batch:
        batch.add_column(sa.Column("bluesky_domain", sa.String(length=253), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handle_checks") as batch:
        batch.drop_column("bluesky_domain")
