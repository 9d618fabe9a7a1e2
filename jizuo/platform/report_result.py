"""Report results: typed columns and JSON-safe rows, and the pivot from long to wide rows.

Shared by the engine that computes results and the writers that export them (CSV here; other
formats build on the same :class:`ReportResult`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from jizuo.platform.errors import BadRequest
from jizuo.platform.report_plan import CUMULATIVE, Group, Measure, ReportPlan

MAX_PIVOT_VALUES = 200
EMPTY_LABEL = {"en": "(empty)", "zh": "（空）"}
SHARE_TITLE = {"en": "Cumulative %", "zh": "累计百分比"}
TOTAL_LABEL = {"en": "Total", "zh": "合计"}


@dataclass(frozen=True)
class ReportColumn:
    """A column of a result: a group-by or pivot value, a measure, or the Pareto share."""

    key: str
    title: dict[str, str]
    type: str  # integer, number, text, boolean, date, datetime
    role: str  # group, pivot, measure, share
    measure: str | None = None  # pivoted measure columns: the measure and the pivot value
    pivot_value: Any = None

    def to_json(self) -> dict[str, Any]:
        out = {"key": self.key, "title": self.title, "type": self.type, "role": self.role}
        if self.measure is not None:
            out.update(measure=self.measure, pivot_value=self.pivot_value)
        return out


@dataclass(frozen=True)
class ReportResult:
    """The rows of a report as the viewer may see them, JSON-safe (numbers, ISO dates).

    ``long_columns``/``long_rows`` are the rows before pivoting (one row per group and pivot
    value), the shape charts want; without a pivot they are ``columns``/``rows``. With a top-N
    and ``other``, the last row (``has_other``) aggregates the groups beyond the top.
    """

    app: str
    key: str
    version: int
    title: dict[str, str]
    columns: list[ReportColumn]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    has_other: bool = False
    chart: dict[str, Any] | None = None
    long_columns: list[ReportColumn] = field(default_factory=list)
    long_rows: list[dict[str, Any]] = field(default_factory=list)

    def table_rows(self, language: str) -> list[dict[str, Any]]:
        """The rows, then the totals (if any) as a last row labelled in ``language`` in its
        first column — what a file shows."""
        if self.totals is None:
            return self.rows
        total = dict(self.totals)
        if self.columns and self.columns[0].role != "measure":
            total[self.columns[0].key] = TOTAL_LABEL.get(language, TOTAL_LABEL["en"])
        return [*self.rows, total]

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "report": self.key,
            "version": self.version,
            "title": self.title,
            "columns": [c.to_json() for c in self.columns],
            "rows": self.rows,
            "totals": self.totals,
            "has_other": self.has_other,
            "chart": self.chart,
        }


def json_value(value: Any, kind: str) -> Any:
    """A value from the database or pandas as JSON gives it: numbers, ISO dates, None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return bool(value)
    if kind in ("date", "datetime") and isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.date().isoformat() if kind == "date" else stamp.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if kind == "date":
        return str(value)[:10]
    return value if isinstance(value, str) else str(value)


def long_columns(plan: ReportPlan) -> list[ReportColumn]:
    """The columns of a plan's rows before any pivot: groups, the pivot, measures and the
    Pareto share."""
    columns = [ReportColumn(g.key, g.title, g.type, "group") for g in plan.groups]
    if plan.pivot is not None:
        p = plan.pivot
        columns.append(ReportColumn(p.key, p.title, p.type, "pivot"))
    columns += [ReportColumn(m.key, m.title, m.type, "measure") for m in plan.measures]
    if plan.pareto:
        columns.append(ReportColumn(CUMULATIVE, SHARE_TITLE, "number", "share"))
    return columns


def pivoted(
    rows: list[dict[str, Any]], groups: Sequence[Group], pivot: Group, measures: Sequence[Measure]
) -> tuple[list[ReportColumn], list[dict[str, Any]]]:
    """Long rows (one per group and pivot value) as wide rows: one column per measure and
    pivot value, in the order of the pivot values (empty last). Counts of a combination without
    rows are 0, other measures empty."""
    values = _distinct_sorted(row[pivot.key] for row in rows)
    if len(values) > MAX_PIVOT_VALUES:
        raise BadRequest(
            f"The pivot '{pivot.key}' has {len(values)} values (at most {MAX_PIVOT_VALUES}): "
            "filter the report or use a coarser bucket."
        )
    columns = [ReportColumn(g.key, g.title, g.type, "group") for g in groups]
    for m in measures:
        for value in values:
            title = {lang: f"{m.title[lang]} · {_label(value, lang)}" for lang in ("en", "zh")}
            columns.append(
                ReportColumn(pivot_key(m.key, value), title, m.type, "measure", m.key, value)
            )
    wide: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        keys = tuple(row[g.key] for g in groups)
        if keys not in wide:
            wide[keys] = {g.key: k for g, k in zip(groups, keys, strict=True)}
            for m in measures:
                empty = 0 if m.agg in ("count", "count_distinct") else None
                wide[keys].update({pivot_key(m.key, v): empty for v in values})
        for m in measures:
            wide[keys][pivot_key(m.key, row[pivot.key])] = row[m.key]
    return columns, list(wide.values())


def _label(value: Any, language: str) -> str:
    return EMPTY_LABEL[language] if value is None else str(value)


def pivot_key(measure: str, value: Any) -> str:
    """The key of a pivoted column: the measure and the pivot value (``defects:D1``)."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return f"{measure}:{text}"


def _label(value: Any, language: str) -> str:
    return EMPTY_LABEL[language] if value is None else str(value)


def _distinct_sorted(values: Any) -> list[Any]:
    seen = list(dict.fromkeys(values))
    filled = sorted((v for v in seen if v is not None), key=lambda v: (str(type(v)), v))
    return filled + ([None] if None in seen else [])
