"""Dashboards: versioned definitions of kind ``dashboard`` — a grid of report charts and number
cards sharing one date range — and what a viewer sees of them.

::

    {"title": {"en": "Quality this month", "zh": "本月质量"},
     "range": {"days": 30},
     "pinned": true,
     "tiles": [
       {"type": "chart", "report": "ncr_by_supplier", "w": 8, "h": 2},
       {"type": "number", "report": "qms.ncr_totals", "measure": "ncrs", "w": 4},
       {"type": "number", "report": "erp.orders", "measure": "value", "date_field": "ordered_on"}
     ]}

- A tile shows a published report of the same app (``key``) or of another (``app.key``), on a
  12-column grid (``w`` columns, default 6 for charts and 3 for numbers; ``h`` rows of height).
- The date range (default the last ``range.days`` days, 30, up to today) narrows every tile
  through a date field: the tile's ``date_field`` (a path of the report's source), else the
  report's own ``date_field``, else its first date group-by. A chart tile whose report has none
  is shown over all dates, and says so.
- A number card shows one measure of a report that gives one figure (no group-by, or totals)
  over the range, the same over the previous period of the same length right before it, and
  the change in percent.
- A pinned dashboard is the workspace's: the start page lists it for everyone who may open its
  app. Its tiles may show reports of any app.
- Each tile runs its report with the viewer's rights; a tile the viewer may not see says so
  instead of failing the page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.definitions import (
    definition_checker,
    get_definition,
    published_body,
    published_definitions,
)
from jizuo.platform.errors import (
    BadRequest,
    Conflict,
    JizuoError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    error,
)
from jizuo.platform.models import App
from jizuo.platform.report_engine import run_report
from jizuo.platform.report_fields import PathError
from jizuo.platform.report_files import result_chart_spec
from jizuo.platform.report_plan import DATE_TYPES, ReportPlan
from jizuo.platform.report_result import ReportResult
from jizuo.platform.reports import published_report, report_plan

KIND = "dashboard"
DEFAULT_DAYS = 30
#: Widths on the 12-column grid when a tile gives none.
DEFAULT_WIDTH = {"chart": 6, "number": 3}
#: The longest date range a viewer may ask for.
MAX_DAYS = 3660


# -- date ranges ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """The days from ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return DateRange(end - timedelta(days=self.days - 1), end)

    def params(self, path: str) -> dict[str, str]:
        """Report filters on a date or date-time field: from the first day to the end of the
        last."""
        after = self.end + timedelta(days=1)
        return {f"{path}__gte": self.start.isoformat(), f"{path}__lt": after.isoformat()}


def date_range(
    start: str | None, end: str | None, days: int = DEFAULT_DAYS, today: date | None = None
) -> DateRange:
    """The range a viewer asked for (ISO dates, either may be empty), else the last ``days``
    days up to today; BadRequest on a bad date, an end before the start or too long a range."""
    today = today or datetime.now(UTC).date()
    parsed = []
    for name, text in (("from", start), ("to", end)):
        try:
            parsed.append(date.fromisoformat(text) if text else None)
        except ValueError:
            raise BadRequest(
                f"'{name}' is a date (YYYY-MM-DD).", errors=[error(name, "not a date")]
            ) from None
    last = parsed[1] or (today if parsed[0] is None else parsed[0] + timedelta(days=days - 1))
    first = parsed[0] or last - timedelta(days=days - 1)
    if last < first:
        raise BadRequest("The range ends before it starts.", errors=[error("to", "before 'from'")])
    if (last - first).days >= MAX_DAYS:
        raise BadRequest(f"A range spans at most {MAX_DAYS} days.", errors=[error("from", "")])
    return DateRange(first, last)


# -- checking a definition --------------------------------------------------------------------


@cache
def _meta_validator() -> Draft202012Validator:
    text = resources.files("jizuo.platform").joinpath("schemas/dashboard-definition.json")
    return Draft202012Validator(json.loads(text.read_text()))


def _pointer(parts: Any) -> str:
    return "".join(f"/{part}" for part in parts)


def tile_report(app_key: str, ref: str) -> tuple[str, str]:
    """(app, report key) of a tile's ``report``: ``key`` in the dashboard's app, or ``app.key``."""
    other, _, key = ref.rpartition(".")
    return (other or app_key), key


@definition_checker(KIND)
def check_dashboard(session: Session, actor: Actor, app: App, key: str, body: Any) -> dict:
    """Check a dashboard against the meta-schema, then each tile against its published report;
    every problem at once with its JSON-pointer path."""
    errors = [
        error(_pointer(e.absolute_path), e.message, "schema")
        for e in sorted(_meta_validator().iter_errors(body), key=lambda e: list(e.absolute_path))
    ]
    if not errors:
        for i, tile in enumerate(body["tiles"]):
            errors += _tile_errors(session, actor, app.key, tile, f"/tiles/{i}")
    if errors:
        raise ValidationFailed("The dashboard is not valid.", errors=errors)
    return body


def _tile_errors(
    session: Session, actor: Actor, app_key: str, tile: Mapping[str, Any], at: str
) -> list[dict[str, str]]:
    report_app, report_key = tile_report(app_key, tile["report"])
    try:
        plan = report_plan(session, actor, published_report(session, actor, report_app, report_key))
    except (NotFound, Conflict) as exc:
        return [error(f"{at}/report", exc.detail)]
    errors = []
    if tile["type"] == "chart" and plan.chart is None:
        errors.append(error(f"{at}/report", f"'{report_app}.{report_key}' has no chart"))
    if tile["type"] == "number":
        measures = [m.key for m in plan.measures]
        if tile["measure"] not in measures:
            known = ", ".join(measures)
            errors.append(error(f"{at}/measure", f"the report has no measure '{tile['measure']}' "
                                f"(it has: {known})"))  # fmt: skip
        if plan.pivot is not None or (plan.groups and not plan.totals):
            errors.append(
                error(
                    f"{at}/report",
                    "a number card needs a report of one figure: no group-by, or its totals",
                )  # fmt: skip
            )
    try:
        dated = _date_path(plan, tile)
    except PathError as exc:
        errors.append(error(f"{at}/date_field", str(exc)))
    else:
        if dated is None and tile["type"] == "number":
            errors.append(
                error(
                    f"{at}/date_field",
                    "a number card compares periods: name the date field "
                    "(here or as the report's date_field)",
                    "required",
                )  # fmt: skip
            )
    return errors


def _date_path(plan: ReportPlan, tile: Mapping[str, Any]) -> str | None:
    """The path a tile's date range filters on; PathError if the tile's own is not a date."""
    path = tile.get("date_field")
    if path is None:
        return plan.date_field.path if plan.date_field is not None else None
    ref = plan.resolver.resolve(path)
    if ref.type not in DATE_TYPES or ref.in_table is not None:
        raise PathError(f"'{path}' is not a date or a date-time of the record")
    return path


# -- what a viewer sees ---------------------------------------------------------------------


@dataclass
class Tile:
    """One tile as a viewer sees it: a chart spec, or a number card's figures, or why not."""

    kind: str  # chart, number
    app: str
    report: str
    title: Any
    width: int
    height: int
    dated: bool = True
    spec: dict[str, Any] | None = None
    value: float | None = None
    previous: float | None = None
    change: float | None = None  # in percent; None without a previous value to compare with
    number_type: str = "number"
    unavailable: str | None = None  # "forbidden", or the reason the report cannot run
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class DashboardView:
    app: str
    key: str
    title: Any
    description: Any
    range: DateRange
    tiles: list[Tile]


def published_dashboard(session: Session, actor: Actor, app_key: str, key: str) -> dict:
    """The published body of a dashboard of the actor's workspace, or NotFound."""
    found = get_definition(session, actor, app_key, KIND, key)
    body = published_body(session, found)
    if body is None or not found.enabled:
        raise NotFound(f"Dashboard '{app_key}.{key}' has not been published.")
    return body


def show_dashboard(
    session: Session,
    actor: Actor,
    app_key: str,
    key: str,
    start: str | None = None,
    end: str | None = None,
    *,
    language: str = "en",
    today: date | None = None,
) -> DashboardView:
    """Every tile of a published dashboard over a date range, as the viewer may see it."""
    if not actor.may_use_app(app_key):
        raise NotFound(f"No dashboard '{app_key}.{key}'.")
    body = published_dashboard(session, actor, app_key, key)
    days = body.get("range", {}).get("days", DEFAULT_DAYS)
    period = date_range(start, end, days, today)
    tiles = [_tile(session, actor, app_key, raw, period, language) for raw in body["tiles"]]
    return DashboardView(app_key, key, body["title"], body.get("description"), period, tiles)


def _tile(
    session: Session,
    actor: Actor,
    app_key: str,
    raw: Mapping[str, Any],
    period: DateRange,
    language: str,
) -> Tile:
    report_app, report_key = tile_report(app_key, raw["report"])
    tile = Tile(
        raw["type"],
        report_app,
        report_key,
        raw.get("title"),
        raw.get("w", DEFAULT_WIDTH[raw["type"]]),
        raw.get("h", 1),
    )
    try:
        if not actor.may_use_app(report_app):
            raise PermissionDenied(f"You may not open the app '{report_app}'.")
        plan = report_plan(session, actor, published_report(session, actor, report_app, report_key))
        path = _date_path(plan, raw)
        tile.dated = path is not None
        tile.params = period.params(path) if path else {}
        result = run_report(session, actor, report_app, report_key, tile.params, language=language)
        tile.title = tile.title or _title(result, raw.get("measure"))
        if tile.kind == "chart":
            tile.spec = result_chart_spec(result, language)
            return tile
        assert path is not None
        previous = run_report(
            session, actor, report_app, report_key, period.previous().params(path),
            language=language,
        )  # fmt: skip
        measure = raw["measure"]
        tile.value, tile.previous = figure(result, measure), figure(previous, measure)
        tile.change = change(tile.value, tile.previous)
        tile.number_type = next((c.type for c in result.columns if c.key == measure), "number")
    except (PermissionDenied, NotFound, BadRequest, PathError):
        # A report switched off or out of reach, or a date field hidden from the viewer: the
        # same answer, so a tile does not tell what the viewer may not see.
        tile.unavailable = "forbidden"
    except JizuoError as exc:
        tile.unavailable = str(exc)
    return tile


def _title(result: ReportResult, measure: str | None) -> Any:
    if measure is not None:
        for column in result.columns:
            if column.key == measure:
                return column.title
    return result.title


def figure(result: ReportResult, measure: str) -> float | None:
    """A report's one figure of a measure: its totals, else its single row."""
    if result.totals is not None:
        return result.totals.get(measure)
    if len(result.rows) == 1:
        return result.rows[0].get(measure)
    return None


def change(value: float | None, previous: float | None) -> float | None:
    """The change from ``previous`` to ``value`` in percent of ``previous`` (None when either is
    missing or the previous is 0)."""
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / abs(previous) * 100


def pinned_dashboards(session: Session, actor: Actor) -> list[tuple[str, str, Any]]:
    """The workspace's dashboards pinned to the start page, as (app, key, title), for the apps
    the viewer may open."""
    return [
        (found.app_key, found.definition.key, found.body.get("title"))
        for found in published_definitions(session, actor.workspace_id, KIND)
        if found.body.get("pinned") and actor.may_use_app(found.app_key)
    ]
