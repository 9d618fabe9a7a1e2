"""Sign in and out, the account's password, the current workspace and language."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from jizuo.platform import catalog
from jizuo.platform.auth import (
    LoginLimits,
    attempt_login,
    change_password,
    member_actor,
    user_workspaces,
)
from jizuo.platform.dashboards import pinned_dashboards
from jizuo.platform.db import get_session
from jizuo.platform.errors import NotFound, TooManyAttempts, ValidationFailed
from jizuo.platform.models import User
from jizuo.platform.security import MEMBER_RULE, PUBLIC, access
from jizuo.platform.web import LANGUAGES, SessionUser
from jizuo.platform.web.blueprints import auth


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _limits() -> LoginLimits:
    config = current_app.config
    return LoginLimits(
        per_account=config["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        window_seconds=config["LOGIN_WINDOW_SECONDS"],
    )


@auth.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login() -> Response | tuple[str, int] | str:
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url)
        return render_template("auth/login.html", next=next_url)
    username = request.form.get("username", "").strip()[:300]
    password = request.form.get("password", "")
    db = get_session()
    try:
        user = attempt_login(db, username, password, request.remote_addr or "-", _limits())
    except TooManyAttempts as exc:
        message = _("Too many failed sign-ins. Wait a minute, then try again.")
        page = render_template("auth/login.html", next=next_url, username=username, error=message)
        return page, 429, {"Retry-After": str(exc.extra["retry_after"])}
    db.commit()  # the failure counts, or their reset
    if user is None:
        message = _("Wrong username or password.")
        page = render_template("auth/login.html", next=next_url, username=username, error=message)
        return page, 401
    lang = session.get("lang")
    session.clear()  # a fresh session: nothing from before sign-in carries over...
    if lang in LANGUAGES:
        session["lang"] = lang  # ...but the language the user just chose
    login_user(SessionUser(user))
    workspaces = user_workspaces(db, user.id)
    if workspaces:
        session["workspace_id"] = workspaces[0].id
    if user.must_change_password:
        flash(_("Choose a new password to finish signing in."))
        return redirect("/account/password")
    return redirect(next_url)


@auth.post("/logout")
@access(MEMBER_RULE)
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect("/login")


@auth.route("/account/password", methods=["GET", "POST"], endpoint="change_password")
@access(MEMBER_RULE)
def change_password_page() -> Response | tuple[str, int] | str:
    if request.method == "GET":
        return render_template("auth/password.html")
    db = get_session()
    user = db.get(User, current_user.id)
    new = request.form.get("password", "")
    errors = []
    if new != request.form.get("confirm", ""):
        errors.append(_("The two new passwords differ."))
    else:
        try:
            change_password(user, request.form.get("current", ""), new)
        except ValidationFailed as exc:
            errors += [exc.detail, *(e["message"] for e in exc.errors)]
    if errors:
        db.rollback()
        return render_template("auth/password.html", errors=errors), 422
    db.commit()
    login_user(SessionUser(user))  # this session continues under the new epoch
    flash(_("Your password was changed."))
    return redirect("/")


@auth.post("/workspace")
@access(MEMBER_RULE)
def switch_workspace() -> Response:
    raw = request.form.get("workspace_id", "")
    if not raw.isdigit() or member_actor(get_session(), current_user.id, int(raw)) is None:
        raise NotFound("No such workspace.")
    session["workspace_id"] = int(raw)
    return redirect("/")


@auth.post("/language")
@access(PUBLIC)
def switch_language() -> Response:
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


@auth.get("/")
@access(MEMBER_RULE)
def home() -> str:
    actor = g.get("actor")
    apps = catalog.list_apps(get_session(), actor) if actor else []
    pinned = pinned_dashboards(get_session(), actor) if actor else []
    workspaces = user_workspaces(get_session(), current_user.id)
    return render_template("auth/home.html", apps=apps, workspaces=workspaces, pinned=pinned)
