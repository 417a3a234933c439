"""listen: watches, sources, mentions, mention_watches, alerts

Revision ID: 0007_listen
Revises: 0006_connected_channels
Create Date: 2026-12-02 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0007_listen"
down_revision = "0006_connected_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_watches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_watches_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watches")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_watches_workspace_id_name")),
    )
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_watches_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "listen_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("every_minutes", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("last_polled_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_poll_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("items_last_poll", sa.Integer(), nullable=False),
        sa.Column("mentions_total", sa.Integer(), nullable=False),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_listen_sources_channel_id_channels"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_listen_sources_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listen_sources")),
    )
    with op.batch_alter_table("listen_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_listen_sources_next_poll_at"), ["next_poll_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_listen_sources_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=600), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("url", sa.String(length=4000), nullable=True),
        sa.Column("title", sa.String(length=1000), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=True),
        sa.Column("author_followers", sa.BigInteger(), nullable=True),
        sa.Column("published_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("is_read", sa.Boolean(), nullable=False),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["listen_sources.id"],
            name=op.f("fk_mentions_source_id_listen_sources"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mentions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
        sa.UniqueConstraint(
            "workspace_id", "dedupe_key", name=op.f("uq_mentions_workspace_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentions_source_id"), ["source_id"], unique=False)
        batch_op.create_index(
            "ix_mentions_workspace_published", ["workspace_id", "published_at"], unique=False
        )

    op.create_table(
        "mention_watches",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"],
            ["mentions.id"],
            name=op.f("fk_mention_watches_mention_id_mentions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["watches.id"],
            name=op.f("fk_mention_watches_watch_id_watches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mention_id", "watch_id", name=op.f("pk_mention_watches")),
    )
    with op.batch_alter_table("mention_watches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mention_watches_watch_id"), ["watch_id"], unique=False)

    op.create_table(
        "listen_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("url_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("url_display", sa.String(length=300), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=True),
        sa.Column("group_minutes", sa.Integer(), nullable=False),
        sa.Column("last_mention_id", sa.Integer(), nullable=False),
        sa.Column("last_spike_hour", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["watches.id"],
            name=op.f("fk_listen_alerts_watch_id_watches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_listen_alerts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listen_alerts")),
    )
    with op.batch_alter_table("listen_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listen_alerts_watch_id"), ["watch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_listen_alerts_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("listen_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listen_alerts_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_listen_alerts_watch_id"))

    op.drop_table("listen_alerts")
    with op.batch_alter_table("mention_watches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mention_watches_watch_id"))

    op.drop_table("mention_watches")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_workspace_published")
        batch_op.drop_index(batch_op.f("ix_mentions_source_id"))

    op.drop_table("mentions")
    with op.batch_alter_table("listen_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listen_sources_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_listen_sources_next_poll_at"))

    op.drop_table("listen_sources")
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watches_workspace_id"))
    op.drop_table("watches")
