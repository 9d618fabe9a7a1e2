"""processes: versioned definitions (workflows, automations, reports, dashboards), approvals,
assignments, notifications, action receipts, webhook secrets; job queue and attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jizuo.platform.db import BigId, JSONType

revision = "0004"
down_revision = "0003"
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
    op.create_table(
        "definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("draft", JSONType, nullable=True),
        sa.Column("draft_updated_at", TS, nullable=True),
        sa.Column("draft_updated_by", sa.Integer(), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("definitions", "app_id", "apps"),
        _fk("definitions", "draft_updated_by", "users", None),
        _fk("definitions", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definitions")),
        sa.UniqueConstraint("app_id", "kind", "key", name=op.f("uq_definitions_app_id_kind_key")),
    )
    op.create_table(
        "definition_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", JSONType, nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        _fk("definition_versions", "definition_id", "definitions"),
        _fk("definition_versions", "published_by", "users", None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_versions")),
        sa.UniqueConstraint(
            "definition_id", "version", name=op.f("uq_definition_versions_definition_id_version")
        ),
    )
    op.create_table(
        "approvals",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("transition", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", TS, nullable=False),
        _fk("approvals", "record_id", "records"),
        _fk("approvals", "user_id", "users", None),
        _fk("approvals", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint(
            "record_id",
            "transition",
            "round",
            "user_id",
            name=op.f("uq_approvals_record_id_transition_round_user_id"),
        ),
    )
    op.create_index("ix_approvals_workspace_user", "approvals", ["workspace_id", "user_id"])
    op.create_table(
        "assignments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("assigned_by", sa.Integer(), nullable=True),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("done_at", TS, nullable=True),
        _fk("assignments", "assigned_by", "users", None),
        _fk("assignments", "record_id", "records"),
        _fk("assignments", "user_id", "users", None),
        _fk("assignments", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index("ix_assignments_record", "assignments", ["record_id"])
    op.create_index("ix_assignments_workspace_open", "assignments", ["workspace_id", "done_at"])
    op.create_table(
        "notifications",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        _fk("notifications", "user_id", "users"),
        _fk("notifications", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_user", "notifications", ["workspace_id", "user_id", "read_at"]
    )
    op.create_table(
        "action_receipts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("result", JSONType, nullable=False),
        sa.Column("at", TS, nullable=False),
        _fk("action_receipts", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_receipts")),
        sa.UniqueConstraint("key", name=op.f("uq_action_receipts_key")),
    )
    op.create_table(
        "webhook_secrets",
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("webhook_secrets", "definition_id", "definitions"),
        sa.PrimaryKeyConstraint("definition_id", name=op.f("pk_webhook_secrets")),
        sa.UniqueConstraint("token", name=op.f("uq_webhook_secrets_token")),
    )
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(
            sa.Column("queue", sa.String(length=32), nullable=False, server_default="default")
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("queue")
    op.drop_table("webhook_secrets")
    op.drop_table("action_receipts")
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_assignments_workspace_open", table_name="assignments")
    op.drop_index("ix_assignments_record", table_name="assignments")
    op.drop_table("assignments")
    op.drop_index("ix_approvals_workspace_user", table_name="approvals")
    op.drop_table("approvals")
    op.drop_table("definition_versions")
    op.drop_table("definitions")
