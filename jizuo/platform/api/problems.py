"""Errors as ``application/problem+json`` (RFC 9457), mapped in this one place."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest, JizuoError, PreconditionRequired, error
from jizuo.platform.validation import nul_errors

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """A problem document response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)


def register(app: Flask) -> None:
    """Install the handlers: domain errors, HTTP errors and anything unexpected.

    Under /api they answer with problem documents, elsewhere with an HTML error page.
    """
    from jizuo.platform.web.errors import error_page

    def _api() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(JizuoError)
    def _domain(exc: JizuoError) -> Response:
        get_session().rollback()
        if not _api():
            return error_page(exc.status, exc.title, exc.detail)
        doc = exc.to_problem()
        response = Response(json.dumps(doc, ensure_ascii=False), status=exc.status)
        response.mimetype = PROBLEM
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if not _api():
            return error_page(exc.code or 500, exc.name, exc.description or exc.name)
        return problem(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        get_session().rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        # Never leak internals (SQL, secrets) to the client.
        detail = "An unexpected error occurred; it has been logged."
        if not _api():
            return error_page(500, "Internal error", detail)
        return problem(500, "Internal error", detail)


def json_body(*, require_object: bool = True) -> Any:
    """The request's JSON body; a 400 naming the problem if it is missing or malformed."""
    if not request.is_json:
        raise BadRequest("Send a JSON body with 'Content-Type: application/json'.")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None
    nul = nul_errors(body)
    if nul:
        raise BadRequest("Text may not contain the NUL character.", errors=nul)
    if require_object and not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", errors=[error("", "expected object")])
    return body


def if_match_version() -> int:
    """The record version named by ``If-Match`` (``"3"``, ``W/"3"`` or ``3``)."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("Send 'If-Match' with the version you edited (the ETag).")
    value = header.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()):
        raise BadRequest(f"'If-Match: {header}' is not a record version.")
    return int(value)


def page_limit(default: int, maximum: int) -> int:
    """The ``limit`` query parameter: a whole number from 1 to ``maximum`` (ASCII digits only:
    ``'¹'.isdigit()`` is true, yet ``int('¹')`` fails)."""
    raw = request.args.get("limit", str(default))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise BadRequest(
            f"'limit' must be a whole number from 1 to {maximum}.", errors=[error("limit", raw)]
        )
    return int(raw)
