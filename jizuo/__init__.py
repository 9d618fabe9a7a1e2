"""Jizuo (基座): a metadata-driven no-code platform for manufacturers.

``create_app`` is imported lazily so that the statistics of the QMS pack can be
used without Flask or a database.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None):  # noqa: ANN201 - Flask is imported lazily
    """Build the Flask application: the platform with the runtime's pages and the designer
    (see ``jizuo.platform.app.create_app``)."""
    from jizuo import designer, runtime
    from jizuo.platform.app import create_app as _create_app

    return _create_app(config, extensions=[runtime.init_app, designer.init_app])
