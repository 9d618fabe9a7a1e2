"""Searching the audit trail and the admin log, for the workspace admins' viewer.

The trail is append-only and numbered per workspace (``seq``), so pages are found by
keyset — "entries before seq N" — which costs the same on the first page and the
thousandth, and a page does not shift when new entries arrive while someone reads.
Names (entity refs, usernames) are looked up once per page, not once per entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.admin_log import admin_events
from jizuo.platform.catalog import entity_by_ref
from jizuo.platform.errors import PermissionDenied, ValidationFailed, error
from jizuo.platform.models import App, Entity, RecordHistory, User

MAX_LIMIT = 500


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of the audit trail with its names resolved."""

    seq: int
    at: datetime
    record_id: int
    entity_id: int
    entity_ref: str | None  # None when the entity was deleted since
    action: str
    actor_id: int | None
    username: str | None  # None for the platform itself or a deleted user
    reason: str | None
    diff: dict[str, Any]


@dataclass(frozen=True)
class HistoryPage:
    """Entries newest first; ``older`` is the ``before_seq`` of the next page, if any."""

    entries: list[HistoryEntry]
    older: int | None


@dataclass(frozen=True)
class AdminEventEntry:
    """One change to accounts, roles, permissions or tokens, with who made it."""

    at: datetime
    actor_id: int | None
    username: str | None
    action: str
    target: str
    detail: dict[str, Any]


def _require_admin(actor: Actor) -> None:
    if not actor.has_role(ADMIN):
        raise PermissionDenied("Only workspace admins may read the audit trail.")


def _bound(day: date, *, end: bool) -> datetime:
    """A filter bound in UTC: a date covers its whole day, a date-time is taken as given."""
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=UTC)
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def usernames(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Usernames by id, in one query."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _entity_refs(session: Session, workspace_id: int, entity_ids: set[int]) -> dict[int, str]:
    if not entity_ids:
        return {}
    rows = session.execute(
        select(Entity.id, App.key, Entity.key)
        .join(App, App.id == Entity.app_id)
        .where(Entity.id.in_(entity_ids), Entity.workspace_id == workspace_id)
    )
    return {entity_id: f"{app_key}.{entity_key}" for entity_id, app_key, entity_key in rows}


def entity_choices(session: Session, actor: Actor) -> list[str]:
    """Every entity of the workspace as ``app.entity``, for the viewer's filter."""
    _require_admin(actor)
    rows = session.execute(
        select(App.key, Entity.key)
        .join(Entity, Entity.app_id == App.id)
        .where(App.workspace_id == actor.workspace_id)
        .order_by(App.key, Entity.key)
    )
    return [f"{app_key}.{entity_key}" for app_key, entity_key in rows]


def search_history(
    session: Session,
    actor: Actor,
    *,
    user_id: int | None = None,
    entity_ref: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 50,
    before_seq: int | None = None,
) -> HistoryPage:
    """Entries of the actor's workspace, newest first, filtered by who, which entity and
    when (whole UTC days, both ends included); NotFound for an unknown entity."""
    _require_admin(actor)
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("Invalid limit.", errors=[error("/limit", f"1 to {MAX_LIMIT}")])
    query = select(RecordHistory).where(RecordHistory.workspace_id == actor.workspace_id)
    if user_id is not None:
        query = query.where(RecordHistory.actor_id == user_id)
    if entity_ref is not None:
        if entity_ref.count(".") != 1:
            raise ValidationFailed(
                "Invalid entity.", errors=[error("/entity", "give it as app.entity")]
            )
        query = query.where(RecordHistory.entity_id == entity_by_ref(session, actor, entity_ref).id)
    if date_from is not None:
        query = query.where(RecordHistory.at >= _bound(date_from, end=False))
    if date_to is not None:
        query = query.where(RecordHistory.at < _bound(date_to, end=True))
    if before_seq is not None:
        query = query.where(RecordHistory.seq < before_seq)
    rows = list(session.scalars(query.order_by(RecordHistory.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    refs = _entity_refs(session, actor.workspace_id, {r.entity_id for r in rows})
    names = usernames(session, (r.actor_id for r in rows))
    entries = [
        HistoryEntry(
            seq=r.seq,
            at=r.at,
            record_id=r.record_id,
            entity_id=r.entity_id,
            entity_ref=refs.get(r.entity_id),
            action=r.action,
            actor_id=r.actor_id,
            username=names.get(r.actor_id) if r.actor_id is not None else None,
            reason=r.reason,
            diff=r.diff or {},
        )
        for r in rows
    ]
    return HistoryPage(entries, rows[-1].seq if more else None)


def recent_admin_events(session: Session, actor: Actor, limit: int = 50) -> list[AdminEventEntry]:
    """The workspace's latest changes to who may do what, newest first, with usernames."""
    _require_admin(actor)
    events = admin_events(session, actor, limit)
    names = usernames(session, (e.actor_id for e in events))
    return [
        AdminEventEntry(
            at=e.at,
            actor_id=e.actor_id,
            username=names.get(e.actor_id) if e.actor_id is not None else None,
            action=e.action,
            target=e.target,
            detail=e.detail or {},
        )
        for e in events
    ]
