"""Exports of a record list: ``…/records.csv`` and ``…/records.xlsx`` with the list's filters.

A small export is the file itself (200); a large one is a job (202, ``Location`` of the job),
whose result links to the file once it is written.
"""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request

from jizuo.platform.api import api
from jizuo.platform.api.job_views import job_body
from jizuo.platform.api.record_views import RECORDS
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest
from jizuo.platform.query import parse_filters
from jizuo.platform.record_exports import (
    DEFAULT_INLINE_ROWS,
    DEFAULT_MAX_ROWS,
    ExportRequest,
    export_records,
)
from jizuo.platform.web import select_locale

#: Query parameters of an export that are not filters (``limit`` and ``cursor`` of the list
#: API are accepted and ignored: an export has every page).
EXPORT_PARAMS = {"order_by", "q", "lang", "limit", "cursor"}


def export_request(app_key: str, entity_key: str, fmt: str) -> ExportRequest:
    """The export asked for by the query string (one value per parameter)."""
    params = {}
    for key in request.args:
        values = request.args.getlist(key)
        if len(values) > 1:
            raise BadRequest(f"Give '{key}' once; use '{key}__in=a,b' for several values.")
        params[key] = values[0]
    lang = params.get("lang") or select_locale()
    if lang not in ("en", "zh"):
        raise BadRequest("Choose the language of the header with lang=en or lang=zh.")
    return ExportRequest(
        app_key,
        entity_key,
        fmt,
        filters=tuple(parse_filters(params, EXPORT_PARAMS)),
        text=params.get("q"),
        order_by=params.get("order_by") or None,
        locale=lang,
    )


@api.get(f"{RECORDS}.<any(csv, xlsx):fmt>")
def export_record_list(app_key: str, entity_key: str, fmt: str) -> Response:
    session = get_session()
    config = current_app.config
    result = export_records(
        session,
        g.actor,
        export_request(app_key, entity_key, fmt),
        inline_rows=int(config.get("EXPORT_INLINE_ROWS") or DEFAULT_INLINE_ROWS),
        max_rows=int(config.get("EXPORT_MAX_ROWS") or DEFAULT_MAX_ROWS),
    )
    if result.job is not None:
        session.commit()  # dispatches the job (without Redis it runs now)
        session.refresh(result.job)
        response = jsonify(job_body(result.job))
        response.status_code = 202
        response.headers["Location"] = f"/api/v1/jobs/{result.job.id}"
        return response
    return result.download()
