"""The shared data model: every app's metadata and records live in these tables.

Business rows carry ``workspace_id``; no query may cross workspaces. Record data is
JSON in the one generic ``records`` table, so designers change fields without DDL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from jizuo.platform.db import Base, BigId, JSONType


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the platform writes."""
    return datetime.now(UTC)


Timestamp = DateTime(timezone=True)


class Workspace(Base):
    """A tenant."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[dict[str, str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set for accounts an admin created: the first login must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Part of the login session's id: bumping it (password change) ends every other session.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Membership(Base):
    """A user's roles in one workspace, and the attributes row scopes read (``user.suppliers``)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "workspace_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Role(Base):
    """A role a workspace defined (by an admin or a pack); the built-in roles are not stored."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[dict[str, str]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(Text)
    pack_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ApiToken(Base):
    """A bearer token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # Keys of the apps the token may touch; None for every app of the workspace.
    app_keys: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class App(Base):
    """An application of a workspace: a set of entities, installed by hand or from a pack."""

    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[dict[str, str]] = mapped_column(JSONType)
    pack_key: Mapped[str | None] = mapped_column(String(64))
    pack_version: Mapped[str | None] = mapped_column(String(32))
    # Who may do what with the app's entities (see jizuo.platform.permissions).
    permissions: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # How the app launcher shows the app: an icon name and a colour (#rrggbb).
    icon: Mapped[str | None] = mapped_column(String(64))
    color: Mapped[str | None] = mapped_column(String(16))


class Entity(Base):
    """A form/table designed by a user; its definitions live in ``entity_versions``.

    ``draft`` holds the one draft definition (at most one per entity by construction);
    ``published_version`` names the version records are created against.
    """

    __tablename__ = "entities"
    __table_args__ = (UniqueConstraint("app_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    draft_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    draft_updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Counts saves of the draft, so two designers editing it learn of each other.
    draft_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class EntityVersion(Base):
    """An immutable published definition of an entity."""

    __tablename__ = "entity_versions"
    __table_args__ = (UniqueConstraint("entity_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    migration: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    published_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Record(Base):
    """One record of any entity; ``data`` is validated against ``entity_version``."""

    __tablename__ = "records"
    __table_args__ = (Index("ix_records_listing", "workspace_id", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    entity_version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)


class RecordLink(Base):
    """One reference-field value: source record, field path, target record."""

    __tablename__ = "record_links"
    __table_args__ = (
        Index("ix_record_links_source", "source_id"),
        Index("ix_record_links_target", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(255))
    target_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))


class AttachmentLink(Base):
    """One attachment-field value: which record's field holds which attachment. Whoever may
    read that record (and that field) may download the file."""

    __tablename__ = "attachment_links"
    __table_args__ = (
        Index("ix_attachment_links_record", "record_id"),
        Index("ix_attachment_links_attachment", "attachment_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(255))
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"))


class Sequence(Base):
    """A transaction-safe counter; ``key`` names the entity, field and period it numbers."""

    __tablename__ = "sequences"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[int] = mapped_column(Integer, default=0)


class AuditChain(Base):
    """The head of a workspace's audit chain; locked while an entry is appended."""

    __tablename__ = "audit_chains"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))


class RecordHistory(Base):
    """Append-only audit trail: who, when, what changed, why; hash-chained per workspace."""

    __tablename__ = "record_history"
    __table_args__ = (
        UniqueConstraint("workspace_id", "seq"),
        Index("ix_record_history_record", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[int] = mapped_column(BigId)
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(Timestamp)
    reason: Mapped[str | None] = mapped_column(Text)
    # Plain JSON even on PostgreSQL: JSONB may rewrite numbers, and the hash is over the text.
    diff: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Job(Base):
    """A durable record of background work, mirrored from the queue for progress and history."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(255))
    args: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    queue: Mapped[str] = mapped_column(String(32), default="default")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Attachment(Base):
    """File metadata; the bytes live in the storage directory under ``storage_key``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LoginFailure(Base):
    """A failed login, kept for the rate limit (per account and per address) for a short while."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(Timestamp)


class AdminEvent(Base):
    """An attributable change to who may do what: users, roles, permissions, tokens."""

    __tablename__ = "admin_events"
    __table_args__ = (Index("ix_admin_events_workspace_at", "workspace_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    actor_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Definition(Base):
    """A workflow, automation, report or dashboard of an app: versioned metadata like an
    entity's, with one draft and immutable published versions in ``definition_versions``."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("app_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # workflow, automation, report, dashboard
    key: Mapped[str] = mapped_column(String(64))
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    draft_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    draft_updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_version: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Counts saves of the draft, so two designers editing it learn of each other.
    draft_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DefinitionVersion(Base):
    """An immutable published version of a definition."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("definition_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    published_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Approval(Base):
    """One user's decision on a transition that needs approvals, in one round (a round ends
    when the record leaves the state the transition starts from)."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("record_id", "transition", "round", "user_id"),
        Index("ix_approvals_workspace_user", "workspace_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    transition: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))  # approve, reject
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Assignment(Base):
    """A record put in the hands of a user or a role, with an optional due date."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_record", "record_id"),
        Index("ix_assignments_workspace_open", "workspace_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Notification(Base):
    """An in-app message to one user."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "workspace_id", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ActionReceipt(Base):
    """Proof that an automation's action took effect, under its idempotency key; written in
    the same transaction as the effect, so a retried job finds it and does nothing twice."""

    __tablename__ = "action_receipts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class WebhookSecret(Base):
    """The secret of an automation's inbound webhook (kept out of the exportable metadata)."""

    __tablename__ = "webhook_secrets"

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("definitions.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the secret URL's path part
    secret: Mapped[str] = mapped_column(String(128))  # the HMAC key
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class DraftHistory(Base):
    """One step of a designer's edits to a draft (an entity's or a definition's): the draft
    before and after, for undo and redo. ``undone`` steps are the redo stack."""

    __tablename__ = "draft_history"
    __table_args__ = (
        Index("ix_draft_history_entity", "entity_id", "id"),
        Index("ix_draft_history_definition", "definition_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    definition_id: Mapped[int | None] = mapped_column(
        ForeignKey("definitions.id", ondelete="CASCADE")
    )
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
