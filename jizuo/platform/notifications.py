"""Notifications: in-app messages to users (listed at ``/notifications`` and through
``GET /api/v1/notifications``), and e-mail when ``JIZUO_SMTP_HOST`` is configured.

E-mail settings (``JIZUO_`` environment variables): ``SMTP_HOST``, ``SMTP_PORT`` (25),
``SMTP_USER`` and ``SMTP_PASSWORD`` (optional), ``SMTP_STARTTLS`` (false),
``MAIL_FROM`` (``jizuo@localhost``).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.models import Membership, Notification, User, utcnow

log = logging.getLogger(__name__)
MAX_TEXT = 4000


def recipients(
    session: Session, workspace_id: int, usernames: Iterable[str], roles: Iterable[str]
) -> list[User]:
    """Active members of the workspace named, or holding one of the roles, by id."""
    usernames, roles = set(usernames), set(roles)
    rows = session.execute(
        select(User, Membership.roles)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, User.is_active.is_(True))
        .order_by(User.id)
    )
    return [
        user
        for user, member_roles in rows
        if user.username in usernames or roles & set(member_roles or ())
    ]


def notify(
    session: Session, workspace_id: int, user_ids: Iterable[int], text: str, link: str | None
) -> list[Notification]:
    """One in-app notification per user (in the caller's transaction)."""
    rows = [
        Notification(workspace_id=workspace_id, user_id=uid, text=text[:MAX_TEXT], link=link)
        for uid in sorted(set(user_ids))
    ]
    session.add_all(rows)
    session.flush()
    return rows


def list_notifications(
    session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    """The actor's notifications in the actor's workspace, newest first."""
    query = select(Notification).where(
        Notification.workspace_id == actor.workspace_id, Notification.user_id == actor.user_id
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, actor: Actor) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.workspace_id == actor.workspace_id,
            Notification.user_id == actor.user_id,
            Notification.read_at.is_(None),
        )
    )


def mark_read(session: Session, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's notifications read (those of ``ids``, or all); how many changed."""
    statement = update(Notification).where(
        Notification.workspace_id == actor.workspace_id,
        Notification.user_id == actor.user_id,
        Notification.read_at.is_(None),
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(list(ids)))
    return session.execute(statement.values(read_at=utcnow())).rowcount


def as_json(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id,
        "text": row.text,
        "link": row.link,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "read_at": row.read_at.isoformat() if row.read_at else None,
    }


def send_email(config: dict[str, Any], to: list[str], text: str, link: str | None) -> None:
    """Send one e-mail to each address (failures are logged; the in-app message stays)."""
    message = EmailMessage()
    message["Subject"] = text.splitlines()[0][:120] if text else "Jizuo"
    message["From"] = config.get("MAIL_FROM") or "jizuo@localhost"
    message["To"] = ", ".join(to)
    message.set_content(text + (f"\n\n{link}" if link else ""))
    try:
        with smtplib.SMTP(
            config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=30
        ) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        log.exception("e-mail to %s failed", to)
