"""listen: leases of the Mastodon hashtag streams (one process streams each)

Revision ID: 0021_listen_stream
Revises: 0020_drop_login_attempts
Create Date: 2026-12-03 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0021_listen_stream"
down_revision = "0020_drop_login_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listen_stream_leases",
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("lease_until", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_listen_stream_leases")),
    )


def downgrade() -> None:
    op.drop_table("listen_stream_leases")
