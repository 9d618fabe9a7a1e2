"""Error pages for the browser (the API answers with problem documents instead)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from werkzeug.wrappers import Response

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Not valid",
    429: "Too many attempts",
}


def error_page(status: int, title: str, detail: str) -> Response:
    """An HTML page naming the problem; never a stack trace or a setting."""
    body = render_template("error.html", status=status, title=_(title), detail=detail)
    return Response(body, status=status, mimetype="text/html")
