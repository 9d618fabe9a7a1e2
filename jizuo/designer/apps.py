"""Apps as the designer manages them: created, renamed (en/zh), given an icon and a colour,
listed in the app launcher, and deleted — after a preview of what would go, with the app's
key typed back, and never while records elsewhere refer to its records.

Every change is noted in the workspace's admin log (``admin_events``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from jizuo.designer.drafts import require_designer
from jizuo.platform import catalog
from jizuo.platform.actor import Actor
from jizuo.platform.admin_log import log_admin_event
from jizuo.platform.errors import Conflict, ValidationFailed, error
from jizuo.platform.models import (
    App,
    Attachment,
    AttachmentLink,
    Definition,
    Entity,
    Record,
    RecordLink,
    Sequence,
)

ICON = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: How many referring records a refused deletion lists.
LISTED = 20


def _appearance(app: App, body: dict[str, Any]) -> None:
    problems = []
    if "icon" in body:
        icon = body["icon"]
        if icon is not None and not (isinstance(icon, str) and ICON.match(icon)):
            problems.append(error("/icon", "an icon name: lower-case letters, digits and -"))
        else:
            app.icon = icon
    if "color" in body:
        color = body["color"]
        if color is not None and not (isinstance(color, str) and COLOR.match(color)):
            problems.append(error("/color", "a colour as #rrggbb"))
        else:
            app.color = color
    if problems:
        raise ValidationFailed("The app's look is not valid.", errors=problems)


def app_summary(session: Session, app: App) -> dict[str, Any]:
    """An app as the launcher shows it."""
    entities = session.scalar(select(func.count()).where(Entity.app_id == app.id))
    return {
        "key": app.key,
        "title": app.title,
        "icon": app.icon,
        "color": app.color,
        "entities": entities,
        "pack": {"key": app.pack_key, "version": app.pack_version} if app.pack_key else None,
    }


def launcher(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The workspace's apps for the launcher."""
    require_designer(actor)
    return [app_summary(session, app) for app in catalog.list_apps(session, actor)]


def create_app(session: Session, actor: Actor, body: dict[str, Any]) -> App:
    """A new app ({key, title, icon, color})."""
    app = catalog.create_app_definition(session, actor, body.get("key"), body.get("title"))
    _appearance(app, body)
    log_admin_event(session, actor, "app.create", f"app:{app.key}", {"title": app.title})
    session.flush()
    return app


def update_app(session: Session, actor: Actor, app_key: str, body: dict[str, Any]) -> App:
    """Rename an app (``title``, en/zh) and set its ``icon`` and ``color``."""
    actor.require_design()
    app = catalog.get_app(session, actor, app_key)
    unknown = sorted(set(body) - {"title", "icon", "color"})
    if unknown:
        raise ValidationFailed(
            "Only the title, icon and colour of an app change here.",
            errors=[error(f"/{k}", "unknown") for k in unknown],
        )
    before = {"title": app.title, "icon": app.icon, "color": app.color}
    if "title" in body:
        app.title = catalog.check_title(body["title"])
    _appearance(app, body)
    after = {"title": app.title, "icon": app.icon, "color": app.color}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        log_admin_event(session, actor, "app.update", f"app:{app.key}", changed)
    session.flush()
    return app


def _app_records(app: App) -> Any:
    return (
        select(Record.id).join(Entity, Entity.id == Record.entity_id).where(Entity.app_id == app.id)
    )


def _outside_references(session: Session, app: App) -> list[dict[str, Any]]:
    """Live records of other apps whose references point at this app's records."""
    source = aliased(Record)
    rows = session.execute(
        select(App.key, Entity.key, source.id, RecordLink.field, RecordLink.target_id)
        .join(source, source.id == RecordLink.source_id)
        .join(Entity, Entity.id == source.entity_id)
        .join(App, App.id == Entity.app_id)
        .where(
            RecordLink.target_id.in_(_app_records(app)),
            App.id != app.id,
            source.deleted_at.is_(None),
        )
        .order_by(source.id)
        .limit(LISTED)
    )
    return [
        {"entity": f"{a}.{e}", "record": rid, "field": f, "target": target}
        for a, e, rid, f, target in rows
    ]


def _only_here_attachments(app: App) -> Any:
    """Attachments held only by this app's records."""
    elsewhere = select(AttachmentLink.attachment_id).where(
        AttachmentLink.record_id.not_in(_app_records(app))
    )
    return (
        select(AttachmentLink.attachment_id)
        .where(AttachmentLink.record_id.in_(_app_records(app)))
        .where(AttachmentLink.attachment_id.not_in(elsewhere))
        .distinct()
    )


def deletion_preview(session: Session, actor: Actor, app_key: str) -> dict[str, Any]:
    """What deleting the app would remove, and what refers to it from elsewhere."""
    require_designer(actor)
    app = catalog.get_app(session, actor, app_key)
    count = lambda query: session.scalar(select(func.count()).select_from(query.subquery()))  # noqa: E731
    definitions = dict(
        session.execute(
            select(Definition.kind, func.count())
            .where(Definition.app_id == app.id)
            .group_by(Definition.kind)
        ).all()
    )
    return {
        "app": app.key,
        "entities": count(select(Entity.id).where(Entity.app_id == app.id)),
        "definitions": definitions,
        "records": count(_app_records(app).where(Record.deleted_at.is_(None))),
        "deleted_records": count(_app_records(app).where(Record.deleted_at.is_not(None))),
        "attachments": count(_only_here_attachments(app)),
        "referenced_from": _outside_references(session, app),
        "confirm": app.key,
    }


def delete_app(session: Session, actor: Actor, app_key: str, confirm: Any) -> dict[str, Any]:
    """Delete an app with its entities, definitions, records and their own attachments, once
    the app's key is typed back as ``confirm``; refused while other apps refer to it."""
    actor.require_design()
    preview = deletion_preview(session, actor, app_key)
    if confirm != app_key:
        raise ValidationFailed(
            f"Type the app's key '{app_key}' to confirm the deletion.",
            errors=[error("/confirm", f"must be '{app_key}'", "confirm")],
            preview=preview,
        )
    if preview["referenced_from"]:
        raise Conflict(
            f"Records of other apps refer to records of '{app_key}'; change them first.",
            errors=[
                error(f"/referenced_from/{i}", f"{r['entity']} #{r['record']} ({r['field']})")
                for i, r in enumerate(preview["referenced_from"])
            ],
            preview=preview,
        )
    app = catalog.get_app(session, actor, app_key)
    attachments = list(session.scalars(_only_here_attachments(app)))
    entity_ids = list(session.scalars(select(Entity.id).where(Entity.app_id == app.id)))
    session.execute(delete(Record).where(Record.entity_id.in_(entity_ids)))
    if attachments:
        session.execute(delete(Attachment).where(Attachment.id.in_(attachments)))
    for entity_id in entity_ids:
        # Auto-number counters are keyed "e<entity id>.<field>:…" (see platform.counters).
        session.execute(
            delete(Sequence).where(
                Sequence.workspace_id == app.workspace_id, Sequence.key.like(f"e{entity_id}.%")
            )
        )
    session.delete(app)
    log_admin_event(session, actor, "app.delete", f"app:{app_key}", preview)
    session.flush()
    return preview
