"""links: how far the click writer got in each click journal segment

Revision ID: 0004_click_journal
Revises: 0003_hardening
Create Date: 2026-12-02 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_click_journal"
down_revision = "0003_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_click_journal",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_link_click_journal")),
    )


def downgrade() -> None:
    op.drop_table("link_click_journal")
