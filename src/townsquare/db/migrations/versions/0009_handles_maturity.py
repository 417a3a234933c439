"""handles: saved handle checks; maturity: self-assessments

Revision ID: 0009_handles_maturity
Revises: 0008_reports
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import townsquare.db.base

revision = "0009_handles_maturity"
down_revision = "0008_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handle_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("networks", sa.JSON(), nullable=False),
        sa.Column("with_variants", sa.Boolean(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("previous_results", sa.JSON(), nullable=True),
        sa.Column("checked_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "previous_checked_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_handle_checks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_handle_checks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handle_checks")),
    )
    with op.batch_alter_table("handle_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_handle_checks_workspace_checked", ["workspace_id", "checked_at"], unique=False
        )

    op.create_table(
        "maturity_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("competencies", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_maturity_assessments_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_maturity_assessments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maturity_assessments")),
    )
    with op.batch_alter_table("maturity_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_maturity_assessments_workspace_taken", ["workspace_id", "taken_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("maturity_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_maturity_assessments_workspace_taken")
    op.drop_table("maturity_assessments")
    with op.batch_alter_table("handle_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_handle_checks_workspace_checked")
    op.drop_table("handle_checks")
