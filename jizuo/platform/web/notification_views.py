"""The notifications page, and the public endpoint of automations' inbound webhooks."""

from __future__ import annotations

from flask import g, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response

from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest, NotFound
from jizuo.platform.notifications import list_notifications, mark_read
from jizuo.platform.security import MEMBER_RULE, PUBLIC, access, csrf
from jizuo.platform.web.blueprints import auth
from jizuo.platform.webhooks import MAX_INBOUND_BYTES, SIGNATURE_HEADER, BadSignature, receive


@auth.get("/notifications")
@access(MEMBER_RULE)
def notifications_page() -> tuple[str, int, dict[str, str]]:
    rows = list_notifications(get_session(), g.actor, limit=200)
    return render_template("auth/notifications.html", rows=rows), 200, {"Cache-Control": "no-store"}


@auth.post("/notifications/read")
@access(MEMBER_RULE)
def notifications_read() -> Response:
    session = get_session()
    one = request.form.get("id", "")
    mark_read(session, g.actor, [int(one)] if one.isdigit() else None)
    session.commit()
    return redirect("/notifications", code=303)


@auth.post("/hooks/<token>")
@access(PUBLIC)
@csrf.exempt  # machines call it; the HMAC signature of the body is the check
def inbound_webhook(token: str) -> tuple[Response, int]:
    """Start an automation: 202 with the job's id; 401 for a missing or wrong signature,
    404 for an unknown token (nothing is written for either)."""
    if (request.content_length or 0) > MAX_INBOUND_BYTES:
        return jsonify({"title": "Payload too large", "status": 413}), 413
    raw = request.get_data(cache=False)
    if len(raw) > MAX_INBOUND_BYTES:
        return jsonify({"title": "Payload too large", "status": 413}), 413
    session = get_session()
    try:
        job = receive(
            session, token, raw, request.headers.get(SIGNATURE_HEADER),
            request.headers.get("Idempotency-Key"),
        )  # fmt: skip
    except BadSignature as exc:
        session.rollback()
        return jsonify({"title": "Unauthorized", "status": 401, "detail": str(exc)}), 401
    except (NotFound, BadRequest) as exc:
        session.rollback()
        return jsonify({"title": exc.title, "status": exc.status, "detail": str(exc)}), exc.status
    session.commit()
    return jsonify({"job": job.id, "status": job.status}), 202
