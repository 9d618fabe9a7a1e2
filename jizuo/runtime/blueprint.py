"""The runtime's blueprint (views add their routes in their own modules)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from jizuo.platform.security import PUBLIC, access


class RuntimeBlueprint(Blueprint):
    """The runtime's pages and its scripts (``/runtime-static``, public like ``/static``)."""

    @access(PUBLIC)
    def send_static_file(self, filename: str) -> Response:
        return super().send_static_file(filename)


runtime = RuntimeBlueprint(
    "runtime",
    __name__,
    url_prefix="/apps",
    template_folder="templates",
    static_folder="static",
    static_url_path="/runtime-static",
)
