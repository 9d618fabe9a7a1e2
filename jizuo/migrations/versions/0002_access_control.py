"""access control: roles, permissions, token app scopes, login rate limit, admin events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jizuo.platform.db import BigId, JSONType

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.add_column(
            sa.Column("attributes", JSONType, nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("app_keys", JSONType, nullable=True))
    with op.batch_alter_table("apps") as batch_op:
        batch_op.add_column(sa.Column("permissions", JSONType, nullable=True))

    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", JSONType, nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("pack_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_roles_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_roles_workspace_id_key")),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"])
    op.create_table(
        "admin_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("detail", JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_admin_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_events")),
    )
    op.create_index("ix_admin_events_workspace_at", "admin_events", ["workspace_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_admin_events_workspace_at", table_name="admin_events")
    op.drop_table("admin_events")
    op.drop_index("ix_login_failures_key_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("roles")
    with op.batch_alter_table("apps") as batch_op:
        batch_op.drop_column("permissions")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("app_keys")
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.drop_column("attributes")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("session_epoch")
        batch_op.drop_column("must_change_password")
