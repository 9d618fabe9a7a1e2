"""Uploading and downloading attachments."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request, send_file

from jizuo.platform.api import api
from jizuo.platform.attachments import attachment_path, get_attachment, store_attachment
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest
from jizuo.platform.models import Attachment


def _json(a: Attachment) -> dict:
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type,
            "size": a.size, "sha256": a.sha256}  # fmt: skip


@api.post("/attachments")
def upload() -> tuple[Response, int]:
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Send the file as multipart/form-data in a field named 'file'.")
    session = get_session()
    attachment = store_attachment(
        session,
        g.actor,
        current_app.config["STORAGE_DIR"],
        upload.filename or "",
        upload.mimetype,
        upload.stream,
        current_app.config["MAX_ATTACHMENT_BYTES"],
    )
    session.commit()
    return jsonify(_json(attachment)), 201


@api.get("/attachments/<int:attachment_id>")
def metadata(attachment_id: int) -> Response:
    return jsonify(_json(get_attachment(get_session(), g.actor, attachment_id)))


@api.get("/attachments/<int:attachment_id>/content")
def download(attachment_id: int) -> Response:
    attachment = get_attachment(get_session(), g.actor, attachment_id)
    response = send_file(
        attachment_path(current_app.config["STORAGE_DIR"], attachment),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
