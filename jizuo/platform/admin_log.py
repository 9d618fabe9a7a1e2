"""The log of changes to who may do what (accounts, roles, permissions, tokens).

Record changes have their own hash-chained trail (``audit``); this log makes the changes
around them attributable too: who gave whom which role, who changed a permission.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.models import AdminEvent, utcnow


def log_admin_event(
    session: Session, actor: Actor, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    """Note one change (never a password or a token: callers pass only what is safe to show)."""
    session.add(
        AdminEvent(
            workspace_id=actor.workspace_id,
            actor_id=actor.user_id,
            at=utcnow(),
            action=action,
            target=target[:255],
            detail=detail or {},
        )
    )


def admin_events(session: Session, actor: Actor, limit: int = 200) -> list[AdminEvent]:
    """The workspace's latest changes, newest first."""
    return list(
        session.scalars(
            select(AdminEvent)
            .where(AdminEvent.workspace_id == actor.workspace_id)
            .order_by(AdminEvent.id.desc())
            .limit(limit)
        )
    )
