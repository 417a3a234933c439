"""publish web: webhook endpoints and deliveries, the secret iCalendar feed

Revision ID: 0018_publish_web
Revises: 0016_publish_core
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0018_publish_web"
down_revision = "0016_publish_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publish_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_publish_webhooks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publish_webhooks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_webhooks")),
    )
    with op.batch_alter_table("publish_webhooks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publish_webhooks_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "publish_webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["publish_events.id"],
            name=op.f("fk_publish_webhook_deliveries_event_id_publish_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["publish_webhooks.id"],
            name=op.f("fk_publish_webhook_deliveries_webhook_id_publish_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id",
            "event_id",
            name=op.f("uq_publish_webhook_deliveries_webhook_id_event_id"),
        ),
    )
    with op.batch_alter_table("publish_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_publish_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publish_webhook_deliveries_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publish_webhook_deliveries_webhook_id"), ["webhook_id"], unique=False
        )

    op.create_table(
        "publish_ical_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_publish_ical_feeds_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publish_ical_feeds_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_ical_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_publish_ical_feeds_token_hash")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_publish_ical_feeds_workspace_id")),
    )


def downgrade() -> None:
    op.drop_table("publish_ical_feeds")
    with op.batch_alter_table("publish_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publish_webhook_deliveries_webhook_id"))
        batch_op.drop_index(batch_op.f("ix_publish_webhook_deliveries_event_id"))
        batch_op.drop_index("ix_publish_webhook_deliveries_due")
    op.drop_table("publish_webhook_deliveries")
    with op.batch_alter_table("publish_webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publish_webhooks_workspace_id"))
    op.drop_table("publish_webhooks")
