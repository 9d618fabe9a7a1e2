"""The report designer's page: source, joined fields, filters, group-by, measures, pivot,
sort, top-N, Pareto and the chart as forms whose every change ``definition.js`` saves as the
whole draft (with its version); the live preview, a frame running the draft on real data
with the viewer's rights, reloaded after each save; publishing."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from werkzeug.wrappers import Response

from jizuo.designer import definition_drafts, report_drafts
from jizuo.designer.automation_pages import messages
from jizuo.designer.form_pages import framed_preview
from jizuo.designer.pages import attempt, designer
from jizuo.platform import catalog
from jizuo.platform.db import get_session
from jizuo.platform.definitions import get_definition
from jizuo.platform.security import MEMBER_RULE, access

REPORT = "/apps/<app_key>/reports/<key>"
KIND = report_drafts.KIND


def aggregate_labels() -> dict[str, str]:
    return {
        "count": _("Count"),
        "count_distinct": _("Count distinct"),
        "sum": _("Sum"),
        "avg": _("Average"),
        "min": _("Minimum"),
        "max": _("Maximum"),
        "median": _("Median"),
        "stddev": _("Standard deviation"),
        "percentile": _("Percentile"),
        "ratio": _("Ratio of two measures"),
    }


def editor_context(app_key: str, key: str) -> dict[str, Any]:
    """What the editor part renders: the draft, its state and the forms' choices."""
    session = get_session()
    state = report_drafts.report_draft(session, g.actor, app_key, key)
    body = state.draft or {}
    depth = request.args.get("depth", report_drafts.DEPTH, type=int)
    return {
        "app": catalog.get_app(session, g.actor, app_key),
        "key": key,
        "state": state,
        "body": body,
        "choices": report_drafts.form_choices(session, g.actor, app_key, body, min(depth, 4)),
        "aggregates": aggregate_labels(),
        "group_key": report_drafts.group_key,
    }


@designer.get(REPORT)
@access(MEMBER_RULE)
def report_designer(app_key: str, key: str) -> str:
    found = get_definition(get_session(), g.actor, app_key, KIND, key)
    return render_template(
        "designer/report.html", definition=found, messages=messages(),
        **editor_context(app_key, key),
    )  # fmt: skip


@designer.get(f"{REPORT}/editor")
@access(MEMBER_RULE)
def report_editor(app_key: str, key: str) -> str:
    return render_template("designer/_report_editor.html", **editor_context(app_key, key))


@designer.get(f"{REPORT}/preview")
@access(MEMBER_RULE)
def report_preview(app_key: str, key: str) -> Response:
    """The draft run on real data with the viewer's rights: its table and chart."""
    lang = request.args.get("lang", "en")
    if lang not in ("en", "zh"):
        abort(404)
    g.locale_override = lang
    refresh()
    session = get_session()
    shown = report_drafts.preview_report(session, g.actor, app_key, key, lang)
    session.rollback()
    page = render_template("designer/report_preview.html", preview=shown, lang=lang)
    return framed_preview(page)


@designer.post("/apps/<app_key>/reports")
@access(MEMBER_RULE)
def create_report(app_key: str) -> Response:
    key = request.form.get("key", "").strip()
    entity = request.form.get("entity", "")
    if attempt(report_drafts.create_report, app_key, key, entity) is None:
        return redirect(url_for("designer.app_page", app_key=app_key))
    return redirect(url_for("designer.report_designer", app_key=app_key, key=key))


@designer.post(f"{REPORT}/publish")
@access(MEMBER_RULE)
def publish_report(app_key: str, key: str) -> Response:
    version = request.form.get("version", type=int)
    number = attempt(definition_drafts.publish_draft, app_key, KIND, key, version)
    if number is not None:
        flash(_("Published as version %(v)s.", v=number))
    return redirect(url_for("designer.report_designer", app_key=app_key, key=key))
