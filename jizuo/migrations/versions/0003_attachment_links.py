"""attachment links: which record field holds which attachment

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jizuo.platform.db import BigId

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment_links",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("attachment_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_attachment_links_attachment_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_attachment_links_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_attachment_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment_links")),
    )
    op.create_index("ix_attachment_links_record", "attachment_links", ["record_id"])
    op.create_index("ix_attachment_links_attachment", "attachment_links", ["attachment_id"])


def downgrade() -> None:
    op.drop_index("ix_attachment_links_attachment", table_name="attachment_links")
    op.drop_index("ix_attachment_links_record", table_name="attachment_links")
    op.drop_table("attachment_links")
