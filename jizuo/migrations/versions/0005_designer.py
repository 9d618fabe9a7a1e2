"""designer: draft version counters on entities and definitions (optimistic locking of
drafts), the undo/redo history of drafts, and an app's icon and colour

Revision ID: 0005_designer
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jizuo.platform.db import BigId, JSONType

revision = "0005_designer"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str | None = "CASCADE") -> sa.Constraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    for table in ("entities", "definitions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("draft_version", sa.Integer(), nullable=False, server_default="0")
            )
    with op.batch_alter_table("apps") as batch_op:
        batch_op.add_column(sa.Column("icon", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("color", sa.String(length=16), nullable=True))
    op.create_table(
        "draft_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("definition_id", sa.Integer(), nullable=True),
        sa.Column("before", JSONType, nullable=True),
        sa.Column("after", JSONType, nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.Integer(), nullable=True),
        _fk("draft_history", "workspace_id", "workspaces"),
        _fk("draft_history", "entity_id", "entities"),
        _fk("draft_history", "definition_id", "definitions"),
        _fk("draft_history", "by", "users", None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_history")),
    )
    op.create_index("ix_draft_history_entity", "draft_history", ["entity_id", "id"])
    op.create_index("ix_draft_history_definition", "draft_history", ["definition_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_draft_history_definition", table_name="draft_history")
    op.drop_index("ix_draft_history_entity", table_name="draft_history")
    op.drop_table("draft_history")
    with op.batch_alter_table("apps") as batch_op:
        batch_op.drop_column("color")
        batch_op.drop_column("icon")
    for table in ("definitions", "entities"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("draft_version")
