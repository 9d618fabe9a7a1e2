"""Attachments: metadata rows in ``attachments``, bytes in the storage directory.

Files are stored under a random key, never under the client's file name, and are
always served as downloads, so an uploaded page cannot run in our origin.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from jizuo.platform.actor import Actor
from jizuo.platform.errors import NotFound, ValidationFailed, error
from jizuo.platform.models import Attachment

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
    """An attachment of the actor's workspace, or NotFound."""
    attachment = session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.workspace_id == actor.workspace_id
        )
    )
    if attachment is None:
        raise NotFound(f"No attachment {attachment_id}.")
    return attachment


def attachment_path(storage_dir: str, attachment: Attachment) -> Path:
    """Where an attachment's bytes are."""
    return Path(storage_dir) / attachment.storage_key
