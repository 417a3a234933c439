"""connected channels: sync state and account of channels, OAuth apps, the quotes metric

Revision ID: 0006_connected_channels
Revises: 0005_invitations
Create Date: 2026-12-02 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0006_connected_channels"
down_revision = "0005_invitations"
branch_labels = None
depends_on = None

_CHANNEL_COLUMNS = (
    ("status_reason", sa.Text()),
    ("account_id", sa.String(length=200)),
    ("avatar_url", sa.String(length=2000)),
    ("followers", sa.BigInteger()),
    ("last_sync_at", townsquare.db.base.UTCDateTime(timezone=True)),
    ("sync_locked_until", townsquare.db.base.UTCDateTime(timezone=True)),
    ("next_sync_at", townsquare.db.base.UTCDateTime(timezone=True)),
    ("last_error", sa.Text()),
    ("last_error_at", townsquare.db.base.UTCDateTime(timezone=True)),
    ("rate_limit", sa.JSON()),
    ("sync_progress", sa.JSON()),
    ("oauth_pending", sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        for name, type_ in _CHANNEL_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(
            sa.Column("sync_interval_minutes", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(
            sa.Column("history_complete", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f("ix_channels_next_sync_at"), ["next_sync_at"])

    for table in ("post_metric_snapshots", "post_latest_metrics"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("quotes", sa.BigInteger(), nullable=True))

    op.create_table(
        "oauth_apps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("instance_url", sa.String(length=500), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_apps")),
        sa.UniqueConstraint(
            "network",
            "instance_url",
            "redirect_uri",
            name=op.f("uq_oauth_apps_network_instance_url_redirect_uri"),
        ),
    )


def downgrade() -> None:
    op.drop_table("oauth_apps")
    for table in ("post_latest_metrics", "post_metric_snapshots"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("quotes")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channels_next_sync_at"))
        batch_op.drop_column("history_complete")
        batch_op.drop_column("sync_interval_minutes")
        for name, _ in reversed(_CHANNEL_COLUMNS):
            batch_op.drop_column(name)
