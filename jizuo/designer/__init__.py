"""The designer: apps, entities (form design), workflows; draft → publish; app export and
import.

Built on ``jizuo.platform``: every edit goes through the kernel's own checks of the
metadata it changes, so what the designer saves is exactly what the runtime renders.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the designer's API and its pages."""
    from jizuo.designer import api, pages

    api.init_app(app)
    pages.init_app(app)
