"""The REST API under ``/api/v1``: JSON in, JSON out, errors as problem documents.

Every route authenticates (bearer token) before it runs, and works inside the
token's workspace only.
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, request

from jizuo.platform.auth import actor_from_token
from jizuo.platform.db import get_session
from jizuo.platform.errors import AuthenticationRequired

api = Blueprint("api", __name__, url_prefix="/api/v1")


@api.before_request
def authenticate() -> None:
    """Resolve the bearer token into ``g.actor``; every API route needs one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationRequired("Send 'Authorization: Bearer <token>'.")
    session = get_session()
    g.actor = actor_from_token(session, token.strip())
    if session.info.pop("token_used", False):
        session.commit()  # the token's last-used time, at most once a minute


def init_app(app: Flask) -> None:
    """Register the API blueprint and its error handlers."""
    from jizuo.platform.api import (  # noqa: F401 - modules that add routes
        attachment_views,
        catalog_views,
        openapi,
        problems,
        record_views,
    )

    problems.register(app)
    app.register_blueprint(api)
