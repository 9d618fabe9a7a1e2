"""Report results: ``GET /apps/{app}/reports/{key}`` answers the rows as JSON, and
``…/{key}.<format>`` as a file, with the report's filters narrowed by query parameters.

A file format is one entry of ``EXPORTS``: the function writing a result and its media type;
its route and its OpenAPI path follow from the entry. Downloads need the export right on
every entity the report reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, g, jsonify, request

from jizuo.platform.api import api
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest
from jizuo.platform.report_csv import report_csv
from jizuo.platform.report_engine import run_report
from jizuo.platform.report_files import report_pdf_file, report_png, report_svg, report_xlsx
from jizuo.platform.report_result import ReportResult
from jizuo.platform.web import LANGUAGES, select_locale

REPORT = "/apps/<app_key>/reports/<key>"


@dataclass(frozen=True)
class Export:
    """A file format of report results."""

    write: Callable[[ReportResult, str], str | bytes]  # (result, language) -> file content
    media_type: str


EXPORTS: dict[str, Export] = {
    "csv": Export(report_csv, "text/csv; charset=utf-8"),
    "xlsx": Export(
        report_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
    "pdf": Export(report_pdf_file, "application/pdf"),
    "svg": Export(report_svg, "image/svg+xml"),
    "png": Export(report_png, "image/png"),
}


def _params() -> dict[str, str]:
    params = {}
    for key in request.args:
        values = request.args.getlist(key)
        if len(values) > 1:
            raise BadRequest(f"Give '{key}' once; use '{key}__in=a,b' for several values.")
        params[key] = values[0]
    return params


def _language() -> str:
    chosen = request.args.get("lang")
    if chosen is not None and chosen not in LANGUAGES:
        raise BadRequest(f"'lang' is one of: {', '.join(LANGUAGES)}.")
    return chosen or select_locale()


@api.get(REPORT)
def report_rows(app_key: str, key: str) -> Response:
    language = _language()
    result = run_report(get_session(), g.actor, app_key, key, _params(), language=language)
    return jsonify(result.to_json())


def report_file(app_key: str, key: str, file_format: str) -> Response:
    export = EXPORTS[file_format]
    language = _language()
    result = run_report(
        get_session(), g.actor, app_key, key, _params(), language=language, action="export"
    )
    name = f"{app_key}-{key}.{file_format}"
    return Response(
        export.write(result, language),
        content_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _file_view(file_format: str) -> Callable[[str, str], Response]:
    def view(app_key: str, key: str) -> Response:
        return report_file(app_key, key, file_format)

    view.__name__ = f"report_{file_format}"
    return view


for _format in EXPORTS:
    api.add_url_rule(f"{REPORT}.{_format}", view_func=_file_view(_format), methods=["GET"])
