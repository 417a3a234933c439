"""listen: sentiment corrections, mention marks, mute list, per-watch spike threshold

Revision ID: 0011_listen_marks
Revises: 0010_publish
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0011_listen_marks"
down_revision = "0010_publish"
branch_labels = None
depends_on = None

_FLAGS = ("is_important", "to_answer", "is_noise")


def upgrade() -> None:
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("spike_threshold", sa.Float(), nullable=False, server_default="3.0")
        )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment_auto", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "sentiment_corrected_at",
                townsquare.db.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("sentiment_corrected_by", sa.Integer(), nullable=True))
        for name in _FLAGS:
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch_op.create_foreign_key(
            batch_op.f("fk_mentions_sentiment_corrected_by_users"),
            "users",
            ["sentiment_corrected_by"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "listen_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_listen_mutes_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_listen_mutes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listen_mutes")),
        sa.UniqueConstraint(
            "workspace_id", "kind", "value", name=op.f("uq_listen_mutes_workspace_id_kind_value")
        ),
    )
    with op.batch_alter_table("listen_mutes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_listen_mutes_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("listen_mutes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listen_mutes_workspace_id"))
    op.drop_table("listen_mutes")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_mentions_sentiment_corrected_by_users"), type_="foreignkey"
        )
        for name in reversed(_FLAGS):
            batch_op.drop_column(name)
        batch_op.drop_column("sentiment_corrected_by")
        batch_op.drop_column("sentiment_corrected_at")
        batch_op.drop_column("sentiment_auto")
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.drop_column("spike_threshold")
