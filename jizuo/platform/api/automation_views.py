"""Automations' inbound webhook secrets (designers) and the caller's notifications."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from jizuo.platform import automation_runner  # noqa: F401 - the listener, job and schedule
from jizuo.platform.api import api
from jizuo.platform.api.problems import json_body, page_limit
from jizuo.platform.api.serialize import iso_time
from jizuo.platform.db import get_session
from jizuo.platform.definitions import get_definition
from jizuo.platform.errors import BadRequest, NotFound, error
from jizuo.platform.models import WebhookSecret
from jizuo.platform.notifications import as_json, list_notifications, mark_read, unread_count
from jizuo.platform.webhooks import issue_secret

HOOK = "/apps/<app_key>/automations/<key>/webhook"


@api.get(HOOK)
def get_automation_webhook(app_key: str, key: str) -> Response:
    """Where the inbound webhook is (its secret is never shown again)."""
    g.actor.require_design()
    session = get_session()
    found = get_definition(session, g.actor, app_key, "automation", key)
    secret = session.get(WebhookSecret, found.id)
    if secret is None:
        raise NotFound(f"Automation '{app_key}.{key}' has no webhook secret yet.")
    return jsonify({"url": f"/hooks/{secret.token}", "created_at": iso_time(secret.created_at)})


@api.post(HOOK)
def issue_automation_webhook(app_key: str, key: str) -> tuple[Response, int]:
    """A new URL and HMAC secret for the inbound webhook, shown once (earlier ones stop)."""
    g.actor.require_design()
    session = get_session()
    found = get_definition(session, g.actor, app_key, "automation", key)
    token, secret = issue_secret(session, found)
    session.commit()
    body = {"url": f"/hooks/{token}", "token": token, "secret": secret,
            "signature": "X-Jizuo-Signature: sha256=<hex HMAC-SHA256 of the raw body>"}  # fmt: skip
    return jsonify(body), 201


@api.get("/notifications")
def my_notifications() -> Response:
    session = get_session()
    unread = request.args.get("unread", "").lower() in ("1", "true", "yes")
    rows = list_notifications(session, g.actor, unread_only=unread, limit=page_limit(50, 500))
    return jsonify({"items": [as_json(r) for r in rows], "unread": unread_count(session, g.actor)})


@api.post("/notifications/read")
def read_notifications() -> Response:
    """Mark notifications read: ``{"ids": [..]}``, or ``{}`` for all of them."""
    body = json_body()
    ids = body.get("ids")
    if ids is not None and (
        not isinstance(ids, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise BadRequest("ids must be a list of numbers.", errors=[error("/ids", "not numbers")])
    session = get_session()
    changed = mark_read(session, g.actor, ids)
    session.commit()
    return jsonify({"marked": changed, "unread": unread_count(session, g.actor)})
