"""Attachments: metadata rows in ``attachments``, bytes in the storage directory.

Files are stored under a random key, never under the client's file name, and are
always served as downloads, so an uploaded page cannot run in our origin.

Who may read a file: its uploader, workspace admins, and whoever may read a record whose
(visible) attachment field holds it (``attachment_links``). The same rule decides which
files a record may be given, so nobody reaches a file by linking it into a record of
their own.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.errors import NotFound, ValidationFailed, error
from jizuo.platform.models import App, Attachment, AttachmentLink, Entity, Record
from jizuo.platform.permissions import readable_records

CHUNK = 1024 * 1024


def store_attachment(
    session: Session,
    actor: Actor,
    storage_dir: str,
    filename: str,
    content_type: str,
    stream: BinaryIO,
    max_bytes: int,
) -> Attachment:
    """Save an uploaded file (at most ``max_bytes``) and record it in the actor's workspace."""
    actor.require_write()
    name = secure_filename(filename or "") or "file"
    key = f"{actor.workspace_id}/{secrets.token_hex(16)}"
    path = Path(storage_dir) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("xb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationFailed(
                        f"The file is larger than {max_bytes} bytes.",
                        errors=[error("/file", f"at most {max_bytes} bytes", "maxSize")],
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    attachment = Attachment(
        workspace_id=actor.workspace_id,
        filename=name,
        content_type=content_type or "application/octet-stream",
        size=size,
        sha256=digest.hexdigest(),
        storage_key=key,
        created_by=actor.user_id,
    )
    session.add(attachment)
    session.flush()
    return attachment


def get_attachment(session: Session, actor: Actor, attachment_id: int) -> Attachment:
    """An attachment the actor may read, or NotFound (also for one they may not read)."""
    if not readable_attachments(session, actor, {attachment_id}):
        raise NotFound(f"No attachment {attachment_id}.")
    return session.get(Attachment, attachment_id)


def readable_attachments(session: Session, actor: Actor, ids: set[int]) -> set[int]:
    """Which of ``ids`` the actor may read (see the module's rule), in a few queries."""
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted:
        return set()
    rows = session.execute(
        select(Attachment.id, Attachment.created_by).where(
            Attachment.id.in_(wanted), Attachment.workspace_id == actor.workspace_id
        )
    ).all()
    readable = {a for a, by in rows if actor.has_role(ADMIN) or by == actor.user_id}
    rest = {a for a, _ in rows} - readable
    if rest:
        readable |= _readable_through_records(session, actor, rest)
    return readable


def _readable_through_records(session: Session, actor: Actor, ids: set[int]) -> set[int]:
    links = session.execute(
        select(AttachmentLink.attachment_id, AttachmentLink.record_id, AttachmentLink.field)
        .where(AttachmentLink.attachment_id.in_(ids))
        .where(AttachmentLink.workspace_id == actor.workspace_id)
    ).all()
    by_record = defaultdict(list)
    for attachment_id, record_id, path in links:
        by_record[record_id].append((attachment_id, path.split(".")[0]))
    entity_of = dict(
        session.execute(select(Record.id, Record.entity_id).where(Record.id.in_(by_record))).all()
    )
    by_entity = defaultdict(set)
    for record_id, entity_id in entity_of.items():
        by_entity[entity_id].add(record_id)
    readable: set[int] = set()
    for entity_id, record_ids in by_entity.items():
        entity, app = session.execute(
            select(Entity, App).join(App, App.id == Entity.app_id).where(Entity.id == entity_id)
        ).one()
        found = readable_records(session, actor, app, entity)
        if found is None:
            continue
        query, access = found
        for record_id in session.scalars(query.where(Record.id.in_(record_ids))):
            readable |= {a for a, field in by_record[record_id] if field not in access.hidden}
    return readable


def attachment_path(storage_dir: str, attachment: Attachment) -> Path:
    """Where an attachment's bytes are."""
    return Path(storage_dir) / attachment.storage_key
