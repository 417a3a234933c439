"""house: drop login_attempts (unused since the atomic counters of ratelimit.py)

Failed logins are counted in ``rate_limits`` (townsquare/ratelimit.py); nothing has written
to ``login_attempts`` since, so the table and its model go.

Revision ID: 0020_drop_login_attempts
Revises: 0015_h7perf
Create Date: 2026-12-02 15:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0020_drop_login_attempts"
down_revision = "0019_channel_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempts") as batch:
        batch.drop_index("ix_login_attempts_email_at")
        batch.drop_index(batch.f("ix_login_attempts_client_hash"))
        batch.drop_index(batch.f("ix_login_attempts_attempted_at"))
    op.drop_table("login_attempts")


def downgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts") as batch:
        batch.create_index(batch.f("ix_login_attempts_attempted_at"), ["attempted_at"])
        batch.create_index(batch.f("ix_login_attempts_client_hash"), ["client_hash"])
        batch.create_index("ix_login_attempts_email_at", ["email", "attempted_at"])
