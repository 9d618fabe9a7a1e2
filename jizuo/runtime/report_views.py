"""Report and dashboard pages: a report's filters, chart (drawn in the browser) and table with
download links, and a dashboard's tiles over a shared date range.

Downloads are the report API's files (``/api/v1/apps/{app}/reports/{key}.xlsx`` …) with the
page's filters: the engine caps a report's groups, so a file is made inline.
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for

from jizuo.platform import catalog
from jizuo.platform.dashboards import show_dashboard
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest, JizuoError
from jizuo.platform.report_engine import run_report
from jizuo.platform.report_files import result_chart_spec
from jizuo.platform.reports import ViewerAccess, published_report, report_plan
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.platform.web import select_locale
from jizuo.runtime.blueprint import runtime
from jizuo.runtime.reporting import kept_params, page_filters, report_form

#: Download buttons: the table's formats, then the chart's.
TABLE_FORMATS = ("csv", "xlsx", "pdf")
CHART_FORMATS = ("svg", "png")
#: Height of a dashboard chart per grid row, in CSS pixels.
TILE_ROW_PX = 220


def _may_export(plan: Any) -> bool:
    try:
        ViewerAccess(plan, g.actor, "export").accesses()
    except JizuoError:
        return False
    return True


@runtime.get("/<app_key>/reports/<key>")
@access(MEMBER_RULE)
def report_page(app_key: str, key: str) -> str:
    db, language = get_session(), select_locale()
    app = catalog.get_app(db, g.actor, app_key)
    plan = report_plan(db, g.actor, published_report(db, g.actor, app_key, key))
    viewer = ViewerAccess(plan, g.actor)
    viewer.require()
    form = report_form(plan, viewer)
    problem, result, spec, params = None, None, None, {}
    try:
        params = page_filters(form, request.args)
        result = run_report(db, g.actor, app_key, key, params, language=language)
        spec = result_chart_spec(result, language)
    except BadRequest as exc:
        problem = exc.detail
    downloads = []
    if result is not None and _may_export(plan):
        formats = TABLE_FORMATS + (CHART_FORMATS if spec else ())
        for fmt in formats:
            url = url_for(f"api.report_{fmt}", app_key=app_key, key=key, lang=language, **params)
            downloads.append((fmt.upper(), url))
    return render_template(
        "runtime/report.html",
        app=app,
        key=key,
        title=plan.title,
        form=form,
        args=kept_params(form, request.args),
        result=result,
        rows=result.table_rows(language) if result else [],
        spec=spec,
        problem=problem,
        downloads=downloads,
    )


@runtime.get("/<app_key>/dashboards/<key>")
@access(MEMBER_RULE)
def dashboard_page(app_key: str, key: str) -> str:
    db, language = get_session(), select_locale()
    app = catalog.get_app(db, g.actor, app_key)
    start, end = request.args.get("from") or None, request.args.get("to") or None
    problem = None
    try:
        view = show_dashboard(db, g.actor, app_key, key, start, end, language=language)
    except BadRequest as exc:
        problem = exc.detail
        view = show_dashboard(db, g.actor, app_key, key, language=language)
    for tile in view.tiles:
        if tile.spec is not None:
            # As wide as its grid cell; the export files keep the report's own size.
            tile.spec = {**tile.spec, "width": "container", "height": TILE_ROW_PX * tile.height}
            tile.spec.setdefault("autosize", {"type": "fit-x", "contains": "padding"})
    return render_template("runtime/dashboard.html", app=app, view=view, problem=problem)
