"""API tokens: each member manages their own; admins see and revoke every token."""

from __future__ import annotations

from flask import g, redirect, render_template, request
from werkzeug.wrappers import Response

from jizuo.platform import catalog
from jizuo.platform.admin_log import log_admin_event
from jizuo.platform.db import get_session
from jizuo.platform.errors import ValidationFailed
from jizuo.platform.models import User, Workspace
from jizuo.platform.security import ADMIN_RULE, MEMBER_RULE, access
from jizuo.platform.tokens import issue_token, list_tokens, revoke_token
from jizuo.platform.web.blueprints import admin, auth

Page = tuple[str, int, dict[str, str]]


def _page(
    *, every_user: bool, new_token: str | None = None, errors: list[str] = (), status: int = 200
) -> Page:
    db = get_session()
    rows = list_tokens(db, g.actor, every_user=every_user)
    apps = catalog.list_apps(db, g.actor)
    body = render_template(
        "auth/tokens.html",
        rows=rows,
        apps=apps,
        every_user=every_user,
        new_token=new_token,
        errors=list(errors),
    )
    return body, status, {"Cache-Control": "no-store"}


@auth.get("/account/tokens")
@access(MEMBER_RULE)
def my_tokens() -> Page:
    return _page(every_user=False)


@auth.post("/account/tokens")
@access(MEMBER_RULE)
def create_token() -> Page:
    db = get_session()
    user = db.get(User, g.actor.user_id)
    workspace = db.get(Workspace, g.actor.workspace_id)
    app_keys = request.form.getlist("apps") or None
    try:
        token = issue_token(
            db,
            user,
            workspace,
            request.form.get("name", ""),
            read_only=request.form.get("read_only") == "on",
            app_keys=app_keys,
        )
    except ValidationFailed as exc:
        db.rollback()
        return _page(every_user=False, errors=[e["message"] for e in exc.errors], status=422)
    detail = {"name": request.form.get("name", "").strip(), "apps": app_keys}
    log_admin_event(db, g.actor, "token.issue", f"user:{user.username}", detail)
    db.commit()
    # Shown on this one response only; it is stored hashed and cannot be shown again.
    return _page(every_user=False, new_token=token)


@auth.post("/account/tokens/<int:token_id>/revoke")
@access(MEMBER_RULE)
def revoke_my_token(token_id: int) -> Response:
    revoke_token(get_session(), g.actor, token_id)
    get_session().commit()
    return redirect("/account/tokens")


@admin.get("/tokens")
@access(ADMIN_RULE)
def all_tokens() -> Page:
    return _page(every_user=True)


@admin.post("/tokens/<int:token_id>/revoke")
@access(ADMIN_RULE)
def revoke_any_token(token_id: int) -> Response:
    revoke_token(get_session(), g.actor, token_id)
    get_session().commit()
    return redirect("/admin/tokens")
