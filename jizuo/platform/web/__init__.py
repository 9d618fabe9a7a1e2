"""The platform's own web pages: sign-in, account, workspace switching and administration.

Server-rendered HTML (Jinja2), one stylesheet, no inline scripts (the Content Security
Policy forbids them). The runtime and the designer extend ``base.html``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel
from flask_login import LoginManager, UserMixin
from sqlalchemy import select

from jizuo.platform import i18n
from jizuo.platform.db import get_session
from jizuo.platform.models import User

LANGUAGES = ("en", "zh")


class SessionUser(UserMixin):
    """The signed-in user as flask-login keeps it: the session id carries the user's
    ``session_epoch``, so a password change ends every other session."""

    def __init__(self, user: User):
        self.id = user.id
        self.username = user.username
        self.display_name = user.display_name
        self.must_change_password = user.must_change_password
        self._session_id = f"{user.id}:{user.session_epoch}"

    def get_id(self) -> str:
        return self._session_id


def _load_user(session_id: str) -> SessionUser | None:
    user_id, _, epoch = session_id.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    user = get_session().scalar(select(User).where(User.id == int(user_id)))
    if user is None or not user.is_active or user.session_epoch != int(epoch):
        return None
    return SessionUser(user)


def select_locale() -> str:
    """The chosen language, else the browser's preference (English when neither says); a
    page shown in a given language (the designer's preview) sets ``g.locale_override``."""
    chosen = g.get("locale_override") or session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def localized(value: Any) -> str:
    """A metadata title (``{"en": ..., "zh": ...}`` or text) in the current language."""
    if isinstance(value, dict):
        lang = select_locale()
        return value.get(lang) or value.get("en") or next(iter(value.values()), "")
    return "" if value is None else str(value)


def init_app(app: Flask) -> None:
    """Sign-in sessions, languages and the platform's page blueprints."""
    logins = LoginManager()
    logins.user_loader(_load_user)
    logins.session_protection = "basic"
    logins.init_app(app)
    i18n.init_app(app)  # before Babel, which reads where the catalogs are
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters["localized"] = localized
    app.jinja_env.globals["current_actor"] = lambda: g.get("actor")
    app.jinja_env.globals["select_locale"] = select_locale

    from jizuo.platform.web import (  # noqa: F401 - modules that add routes
        admin_audit,
        admin_index,
        admin_permissions,
        admin_users,
        auth_views,
        chart_assets,
        job_views,
        notification_views,
        token_views,
    )
    from jizuo.platform.web.blueprints import admin, auth

    chart_assets.init_app(app)
    app.register_blueprint(auth)
    app.register_blueprint(admin)
