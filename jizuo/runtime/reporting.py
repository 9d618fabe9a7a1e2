"""What report and dashboard pages show: the reports and dashboards of an app a viewer may
open, the filter inputs a report offers, and a page's query parameters as report filters.

A report page offers an input per group-by field (text contains, a number range, a select of
options or yes/no) and a date range on the report's date field (its ``date_field``, else its
first date group-by); the inputs are query parameters, so a filtered report is a link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.dashboards import KIND as DASHBOARD
from jizuo.platform.dashboards import date_range
from jizuo.platform.definitions import published_definitions
from jizuo.platform.errors import JizuoError
from jizuo.platform.models import App
from jizuo.platform.report_plan import ReportPlan
from jizuo.platform.reports import (
    KIND as REPORT,
)
from jizuo.platform.reports import (
    PublishedReport,
    ViewerAccess,
    report_plan,
)
from jizuo.runtime.presenting import option_labels

#: Query parameters of a report page that are not filters of the report.
RANGE_PARAMS = ("from", "to")


@dataclass(frozen=True)
class ReportInput:
    """A filter input of a report page: ``kind`` text, range or select, its query parameters."""

    title: Any
    kind: str
    params: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class ReportForm:
    """The inputs of a report page, and the date its range narrows (None: no range)."""

    inputs: list[ReportInput]
    date_field: str | None
    date_title: Any = None

    def params(self) -> tuple[str, ...]:
        """Every query parameter the page reads."""
        names = [p for i in self.inputs for p in i.params]
        return (*names, *(RANGE_PARAMS if self.date_field else ()))


def readable_definitions(
    session: Session, actor: Actor, app: App
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The app's reports the viewer may run and its dashboards, as (key, title) each: the app's
    menu."""
    reports = []
    for found in published_definitions(session, actor.workspace_id, REPORT, app_id=app.id):
        report = PublishedReport(app, found.definition.key, found.version, found.body)
        try:
            ViewerAccess(report_plan(session, actor, report), actor).require()
        except JizuoError:
            continue
        reports.append((found.definition.key, found.body.get("title")))
    dashboards = [
        (found.definition.key, found.body.get("title"))
        for found in published_definitions(session, actor.workspace_id, DASHBOARD, app_id=app.id)
    ]
    return reports, dashboards


def report_form(plan: ReportPlan, viewer: ViewerAccess) -> ReportForm:
    """The inputs a report offers the viewer: one per group-by field the viewer may see."""
    inputs = []
    for group in [*plan.groups, *([plan.pivot] if plan.pivot else [])]:
        ref = group.ref
        if group.bucket or ref.field is None or viewer.hidden(ref.guards):
            continue
        made = _input(group.title, ref.path, ref.field)
        if made is not None and all(made.params != i.params for i in inputs):
            inputs.append(made)
    dated = plan.date_field
    if dated is None or viewer.hidden(dated.guards):
        return ReportForm(inputs, None)
    title = dated.field.schema.get("title") if dated.field is not None else None
    return ReportForm(inputs, dated.path, title)


def _input(title: Any, path: str, field: Any) -> ReportInput | None:
    kind = field.kind
    if kind in ("text", "long_text", "email", "url", "phone", "auto_number"):
        return ReportInput(title, "text", (f"{path}__contains",))
    if field.sql_type == "number" and kind in ("integer", "decimal", "measurement", "computed"):
        return ReportInput(title, "range", (f"{path}__gte", f"{path}__lte"))
    if kind == "single_select":
        return ReportInput(title, "select", (path,), option_labels(field, field.schema["enum"]))
    if kind == "boolean":
        return ReportInput(title, "select", (path,), (("true", "✓"), ("false", "✗")))
    return None


def page_filters(form: ReportForm, args: Mapping[str, str]) -> dict[str, str]:
    """The report filters of a page's query parameters, blank ones left out; the date range
    runs from the start of ``from`` to the end of ``to`` (BadRequest on a bad date)."""
    params = {
        name: args[name].strip()
        for name in form.params()
        if name not in RANGE_PARAMS and args.get(name, "").strip()
    }
    start, end = (args.get(name, "").strip() or None for name in RANGE_PARAMS)
    if form.date_field and (start or end):
        both = date_range(start or end, end or start)
        path = form.date_field
        after = both.params(path)
        if start:
            params[f"{path}__gte"] = after[f"{path}__gte"]
        if end:
            params[f"{path}__lt"] = after[f"{path}__lt"]
    return params


def kept_params(form: ReportForm, args: Mapping[str, str]) -> dict[str, str]:
    """The page's own query parameters that are filled in (for links that keep them)."""
    return {name: args[name] for name in form.params() if args.get(name, "").strip()}
