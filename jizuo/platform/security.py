"""The gate every request passes: who is asking, may they reach this route, and the
browser protections (CSRF, security headers, cookie flags).

Every route declares an access rule, by decorator or by its blueprint's default; a route
without one is refused to everyone, so a forgotten check fails closed (and the route-map
test fails). The rules are coarse (``public``, ``member``, ``admin``); what a member may do
with which records is decided by the services from the actor's roles.

Credentials: ``Authorization: Bearer <token>`` on ``/api/v1`` (integrations; no CSRF, as
no browser sends it by itself), or the login session cookie (browser; state-changing
requests need the CSRF token, as a form field or an ``X-CSRFToken`` header).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Flask, current_app, g, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.auth import member_actor, user_workspaces
from jizuo.platform.db import get_session
from jizuo.platform.errors import AuthenticationRequired, BadRequest, PermissionDenied
from jizuo.platform.tokens import actor_from_token

PUBLIC, MEMBER_RULE, ADMIN_RULE = "public", "member", "admin"
RULES = (PUBLIC, MEMBER_RULE, ADMIN_RULE)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

#: Default rules of whole blueprints (their routes check permissions in the services).
BLUEPRINT_RULES: dict[str, str] = {"api": MEMBER_RULE}
#: Endpoints a user who must change their password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "static"}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

F = TypeVar("F", bound=Callable[..., Any])
csrf = CSRFProtect()


def access(rule: str) -> Callable[[F], F]:
    """Declare who may reach a view: ``public``, ``member`` (signed in, any role) or ``admin``."""
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")

    def decorate(view: F) -> F:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def access_rule(app: Flask, endpoint: str | None) -> str | None:
    """The rule of an endpoint: its view's own, else its blueprint's default, else None."""
    if endpoint is None:
        return None
    if endpoint == "static":
        return PUBLIC
    view = app.view_functions.get(endpoint)
    rule = getattr(view, "access_rule", None)
    if rule is None and "." in endpoint:
        rule = BLUEPRINT_RULES.get(endpoint.split(".", 1)[0])
    return rule


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def browser_actor() -> Actor | None:
    """The signed-in user's actor in their current workspace (switching to the first
    workspace they belong to when the remembered one is gone)."""
    if not current_user.is_authenticated:
        return None
    db = get_session()
    workspace_id = session.get("workspace_id")
    actor = member_actor(db, current_user.id, workspace_id) if workspace_id else None
    if actor is None:
        for workspace in user_workspaces(db, current_user.id):
            actor = member_actor(db, current_user.id, workspace.id)
            if actor is not None:
                session["workspace_id"] = workspace.id
                break
    return actor


def _gate() -> Any:
    """Authenticate and apply the route's access rule before any view runs."""
    rule = access_rule(current_app, request.endpoint)
    if request.endpoint is None:
        return None  # unknown URLs get their 404 from the router
    if rule == PUBLIC:
        if request.method not in SAFE_METHODS:
            # Sign-in forms too (no logging a victim into an attacker's account); only views
            # marked ``@csrf.exempt`` skip it: inbound webhooks, which carry a signature instead.
            csrf.protect(apply_exemptions=True)
        return None
    if rule is None:
        raise PermissionDenied("This page declares no access rule, so nobody may open it.")
    token = _bearer_token() if _is_api() else None
    if token is not None:
        g.actor = _token_actor(token)
    else:
        detour = _browser_gate()
        if detour is not None:
            return detour
    if rule == ADMIN_RULE and not (g.actor and g.actor.has_role(ADMIN)):
        raise PermissionDenied("Only workspace admins may open this page.")
    return None


def _token_actor(token: str) -> Actor:
    db = get_session()
    actor = actor_from_token(db, token)
    if db.info.pop("token_used", False):
        db.commit()  # the token's last-used time, at most once a minute
    return actor


def _browser_gate() -> Any:
    """Set ``g.actor`` from the sign-in session, or return where the browser must go first."""
    if not current_user.is_authenticated:
        if _is_api():
            raise AuthenticationRequired("Sign in, or send 'Authorization: Bearer <token>'.")
        return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}")
    if request.method not in SAFE_METHODS:
        csrf.protect()
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        if _is_api():
            raise PermissionDenied("Change your password before using Jizuo.")
        return redirect("/account/password")
    g.actor = browser_actor()
    if g.actor is None and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS | {"auth.home"}:
        raise PermissionDenied("Your account belongs to no workspace yet; ask an admin.")
    return None


def _refuse_nul_characters() -> None:
    """No database stores text with NUL in it (PostgreSQL refuses it): say so before any view
    passes such a query parameter or form field on."""
    for where, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise BadRequest(f"A {where} parameter holds a NUL character.")


def _security_headers(response: Any) -> Any:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if "_user_id" in session or request.headers.get("Authorization"):
        headers.setdefault("Cache-Control", "no-store")  # answers with business data
    return response


class SessionCookies(SecureCookieSessionInterface):
    """Session cookies are ``Secure`` whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    """Install the gate, CSRF protection, headers and cookie settings."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # the gate decides when to check
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the login session
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = SessionCookies()
    if app.config.get("PROXY_COUNT"):
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    csrf.init_app(app)
    app.before_request(_refuse_nul_characters)
    app.before_request(_gate)
    app.after_request(_security_headers)
