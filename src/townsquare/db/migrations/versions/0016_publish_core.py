"""publish core: workspace publish settings, a post's short links, cached channel limits

Revision ID: 0016_publish_core
Revises: 0015_h7perf
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0016_publish_core"
down_revision = "0015_h7perf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publish_settings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("forbid_self_approval", sa.Boolean(), nullable=False),
        sa.Column("viewers_can_approve", sa.Boolean(), nullable=False),
        sa.Column("shorten_links", sa.Boolean(), nullable=False),
        sa.Column("updated_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publish_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_publish_settings")),
    )
    op.create_table(
        "publish_post_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("original_url", sa.String(length=4000), nullable=False),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_publish_post_links_link_id_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["publish_posts.id"],
            name=op.f("fk_publish_post_links_post_id_publish_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["publish_variants.id"],
            name=op.f("fk_publish_post_links_variant_id_publish_variants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publish_post_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_post_links")),
        sa.UniqueConstraint(
            "variant_id",
            "original_url",
            name=op.f("uq_publish_post_links_variant_id_original_url"),
        ),
    )
    with op.batch_alter_table("publish_post_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publish_post_links_link_id"), ["link_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publish_post_links_post_id"), ["post_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publish_post_links_workspace_id"), ["workspace_id"], unique=False
        )
    op.create_table(
        "publish_channel_limits",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("fetched_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_publish_channel_limits_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_publish_channel_limits")),
    )


def downgrade() -> None:
    op.drop_table("publish_channel_limits")
    with op.batch_alter_table("publish_post_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publish_post_links_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_publish_post_links_post_id"))
        batch_op.drop_index(batch_op.f("ix_publish_post_links_link_id"))
    op.drop_table("publish_post_links")
    op.drop_table("publish_settings")
