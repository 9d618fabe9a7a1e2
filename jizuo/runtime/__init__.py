"""Renders published apps for their users.

Forms, list views, record pages, workflow actions, reports and dashboards (HTML),
built on ``jizuo.platform``: every page reads records through the record store with
the signed-in user's actor, so permissions apply exactly as on the API.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the runtime's pages."""
    from jizuo.runtime import (  # noqa: F401 - add the routes
        form_views,
        import_views,
        report_views,
        views,
    )
    from jizuo.runtime.blueprint import runtime

    app.register_blueprint(runtime)
