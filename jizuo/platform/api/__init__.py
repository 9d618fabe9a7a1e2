"""The REST API under ``/api/v1``: JSON in, JSON out, errors as problem documents.

Every route needs a member (``jizuo.platform.security`` authenticates a bearer token or
the browser's session into ``g.actor`` before the view runs); the services then check
what the actor's roles allow, inside the actor's workspace only.
"""

from __future__ import annotations

from flask import Blueprint, Flask

api = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    """Register the API blueprint and its error handlers."""
    from jizuo.platform.api import (  # noqa: F401 - modules that add routes
        access_views,
        attachment_views,
        automation_views,
        catalog_views,
        definition_views,
        export_views,
        import_views,
        job_views,
        openapi,
        problems,
        record_views,
        report_views,
        rules_views,
        workflow_views,
    )

    problems.register(app)
    app.register_blueprint(api)
