"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, jsonify

from jizuo.platform import api, config, db, security, web


def create_app(
    overrides: dict[str, Any] | None = None, extensions: Iterable[Callable[[Flask], None]] = ()
) -> Flask:
    """Build the Jizuo web application; ``overrides`` beat ``JIZUO_*`` environment settings.

    ``INSTANCE_PATH`` (or ``JIZUO_INSTANCE_PATH``) chooses the folder of the SQLite file,
    the secret key and stored attachments.
    """
    overrides = dict(overrides or {})
    instance_path = overrides.pop("INSTANCE_PATH", None) or os.environ.get("JIZUO_INSTANCE_PATH")
    app = Flask(
        "jizuo",
        instance_path=instance_path,
        instance_relative_config=True,
        static_folder="platform/web/static",
    )
    config.load_config(app, overrides)
    db.init_app(app)
    # Importing the modules that define job functions registers them with the registry.
    from jizuo.platform import dashboards, publishing  # noqa: F401

    security.init_app(app)
    web.init_app(app)
    api.init_app(app)
    for extend in extensions:  # the runtime and designer pages; the platform never imports them
        extend(app)

    @app.get("/healthz")
    @security.access(security.PUBLIC)
    def healthz():  # noqa: ANN202
        return jsonify({"status": "ok"})

    return app
