"""Running a report: SQL for what the database does well, pandas for the rest.

The database filters, groups and computes counts, distinct counts, sums, averages, minima and
maxima (:mod:`report_sql`); only grouped rows come back. Medians, percentiles (linear
interpolation between the closest ranks, as ``numpy.percentile``) and sample standard
deviations are PostgreSQL's ``percentile_cont`` and ``stddev_samp``; on SQLite, which has
neither, pandas computes them per group from the detail values of just the columns they need.
Ratios divide two measures of the same row (the ratio of the totals, not an average of
ratios). Totals, the "other" row of a top-N and the column totals of a pivot aggregate the same
rows again — sums of sums, minima of minima, and the database or pandas once more for what does
not add up — so every figure is computed from the rows, never from rounded group figures.

    result = run_report(session, actor, "qms", "defects_by_supplier", {"date__gte": "2024-01-01"})
    result.columns, result.rows, result.totals
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.definitions import get_definition
from jizuo.platform.errors import BadRequest
from jizuo.platform.models import App
from jizuo.platform.report_plan import (
    CUMULATIVE,
    DETAIL_AGGREGATES,
    Group,
    ReportPlan,
    text_map,
)
from jizuo.platform.report_result import (
    ReportColumn,
    ReportResult,
    json_value,
    long_columns,
    pivoted,
)
from jizuo.platform.report_sql import Component, ReportQuery
from jizuo.platform.reports import (
    PublishedReport,
    ViewerAccess,
    check_report,
    published_report,
    query_filters,
    report_plan,
)

#: Grouped rows a report may have; beyond, it asks for filters, coarser buckets or a top-N.
MAX_GROUPS = 20_000
OTHER_LABEL = {"en": "Other", "zh": "其他"}


def run_report(
    session: Session,
    actor: Actor,
    app_key: str,
    key: str,
    params: Mapping[str, str] | None = None,
    *,
    language: str = "en",
    action: str = "read",
) -> ReportResult:
    """Run a published report for ``actor`` with extra filters (query parameters); ``action``
    is ``export`` for downloads, which need the export right on every entity read."""
    report = published_report(session, actor, app_key, key)
    plan = report_plan(session, actor, report)
    return _execute(session, actor, report, plan, params, language, action)


def run_draft_report(
    session: Session, actor: Actor, app_key: str, key: str, body: Any, *, language: str = "en"
) -> ReportResult:
    """Run a report body that is not published — the designer's preview of a draft — with
    the viewer's rights, as a published one would run; ValidationFailed with every problem
    when the body does not fit the published entities."""
    found = get_definition(session, actor, app_key, "report", key)
    app = session.get(App, found.app_id)
    assert app is not None
    check_report(session, actor, app, key, body)
    report = PublishedReport(app, key, found.published_version or 0, body)
    return _execute(session, actor, report, report_plan(session, actor, report), None,
                    language, "read")  # fmt: skip


def _execute(
    session: Session,
    actor: Actor,
    report: PublishedReport,
    plan: ReportPlan,
    params: Mapping[str, str] | None,
    language: str,
    action: str,
) -> ReportResult:
    language = language if language in ("en", "zh") else "en"
    viewer = ViewerAccess(plan, actor, action)
    viewer.require()
    filters = [*plan.filters, *query_filters(plan, params or {}, viewer)]
    dialect = session.get_bind().dialect.name
    query = ReportQuery(plan, filters, dialect, actor, viewer.accesses())
    return _Run(session, plan, query, language).result(report)


@dataclass
class _Group:
    """One grouped row: its keys as the database gave them and as JSON, its aggregates."""

    raw: tuple[Any, ...]
    keys: tuple[Any, ...]
    parts: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)


class _Run:
    def __init__(self, session: Session, plan: ReportPlan, query: ReportQuery, language: str):
        self.session, self.plan, self.query, self.language = session, plan, query, language
        self.columns: list[Group] = [*plan.groups, *([plan.pivot] if plan.pivot else [])]
        self.keys: list[ColumnElement] = [query.group(g) for g in self.columns]
        self.components: list[Component] = [c for m in plan.measures for c in query.components(m)]
        computed = {c.measure for c in self.components}
        self.detail_measures = [
            m for m in plan.measures if m.agg in DETAIL_AGGREGATES and m.key not in computed
        ]
        self.detail = self._detail()

    # -- fetching ----------------------------------------------------------------------------

    def _groups(self) -> list[_Group]:
        statement = self.query.aggregated(self.keys, self.components, limit=MAX_GROUPS + 1)
        rows = self.session.execute(statement).all()
        if len(rows) > MAX_GROUPS:
            raise BadRequest(
                f"The report has more than {MAX_GROUPS:,} groups: add filters, coarser date "
                "buckets or a top-N."
            )
        n = len(self.keys)
        groups = []
        for row in rows:
            raw = tuple(row[:n])
            keys = tuple(json_value(v, g.type) for v, g in zip(raw, self.columns, strict=True))
            parts = {c.label: row[n + i] for i, c in enumerate(self.components)}
            groups.append(_Group(raw, keys, parts))
        return groups

    def _detail(self) -> pd.DataFrame | None:
        """Group keys and the values of the measures pandas computes, per row of the grain."""
        if not self.detail_measures:
            return None
        values = [self.query.column(m.ref) for m in self.detail_measures if m.ref is not None]
        rows = self.session.execute(self.query.detail(self.keys, values)).all()
        data: dict[str, list[Any]] = {}
        for i, g in enumerate(self.columns):
            data[f"k{i}"] = [json_value(row[i], g.type) for row in rows]
        n = len(self.columns)
        for j in range(len(values)):
            data[f"v{j}"] = [math.nan if r[n + j] is None else float(r[n + j]) for r in rows]
        return pd.DataFrame(data, columns=list(data) or None)

    def _stats(self, mask: Sequence[bool] | None, by: Sequence[int]) -> dict[tuple, dict]:
        """Medians, percentiles and standard deviations of the detail rows (those ``mask``
        keeps), per distinct value of the key columns ``by`` (or of all rows)."""
        frame = self.detail
        if frame is None:
            return {}
        if mask is not None:
            frame = frame[list(mask)]
        columns = [f"k{i}" for i in by]
        out: dict[tuple, dict[str, Any]] = {}
        for j, m in enumerate(self.detail_measures):
            values = (
                frame.groupby(columns, dropna=False, sort=False)[f"v{j}"] if by else frame[f"v{j}"]
            )
            if m.agg == "median":
                stat = values.median()
            elif m.agg == "stddev":
                stat = values.std(ddof=1)
            else:
                stat = values.quantile((m.percentile or 0) / 100)
            if not by:
                out.setdefault((), {})[m.key] = _number(stat)
                continue
            for index, value in stat.items():
                key = index if isinstance(index, tuple) else (index,)
                key = tuple(None if _missing(k) else k for k in key)
                out.setdefault(key, {})[m.key] = _number(value)
        return out

    # -- measures ------------------------------------------------------------------------------

    def _values(self, parts: Mapping[str, Any], stats: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for m in self.plan.measures:
            k = m.key
            if m.agg == "count":
                values[k] = parts.get(f"{k}__count") or 0
            elif m.agg == "count_distinct":
                values[k] = parts.get(f"{k}__distinct") or 0
            elif m.agg == "avg":
                total, n = parts.get(f"{k}__sum"), parts.get(f"{k}__n")
                values[k] = float(total) / float(n) if n and total is not None else None
            elif m.agg in DETAIL_AGGREGATES:
                values[k] = parts[f"{k}__stat"] if f"{k}__stat" in parts else stats.get(k)
            elif m.agg != "ratio":
                values[k] = parts.get(f"{k}__{m.agg}")
        for m in self.plan.measures:
            if m.agg == "ratio":
                top, bottom = values[m.numerator or ""], values[m.denominator or ""]
                ok = top is not None and bottom not in (None, 0)
                values[m.key] = float(top) / float(bottom) * m.scale if ok else None
        return {m.key: json_value(values[m.key], m.type) for m in self.plan.measures}

    def _rollup(
        self, groups: Sequence[_Group], by: Sequence[int], excluded: Sequence[_Group] = ()
    ) -> dict[tuple, dict[str, Any]]:
        """Measures over ``groups`` together (one set per distinct value of the keys ``by``);
        ``excluded`` are the groups left out, for what must be counted again in the database
        or pandas (distinct counts, medians...)."""
        parts: dict[tuple, dict[str, Any]] = {}
        for g in groups:
            key = tuple(g.keys[i] for i in by)
            into = parts.setdefault(key, {})
            for c in self.components:
                into[c.label] = _combine(c.rollup, into.get(c.label), g.parts.get(c.label))
        again = [c for c in self.components if c.rollup is None]
        if again:
            keys = [self.keys[i] for i in by]
            where = None
            if excluded:
                where = self.query.excluding(self.keys, [g.raw for g in excluded])
            statement = self.query.aggregated(keys, again, where=where)
            for row in self.session.execute(statement):
                key = tuple(
                    json_value(v, self.columns[i].type) for v, i in zip(row, by, strict=False)
                )
                found = parts.setdefault(key, {})
                found.update({c.label: row[len(by) + j] for j, c in enumerate(again)})
        mask = None
        if excluded and self.detail is not None:
            left_out = {g.keys for g in excluded}
            columns = [self.detail[f"k{i}"] for i in range(len(self.keys))]
            mask = [
                tuple(_none(v) for v in key) not in left_out for key in zip(*columns, strict=True)
            ]
        stats = self._stats(mask, by)
        return {key: self._values(p, stats.get(key, {})) for key, p in parts.items()}

    # -- shaping --------------------------------------------------------------------------------

    def result(self, report: PublishedReport) -> ReportResult:
        plan = self.plan
        groups = self._groups()
        stats = self._stats(None, range(len(self.keys)))
        for g in groups:
            g.values = self._values(g.parts, stats.get(g.keys, {}))
        columns = long_columns(plan)
        shown, other = self._ordered(groups)
        rows = [self._row(g.keys, g.values) for g in shown]
        if other is not None:
            rows.append(other)
        if plan.pareto:
            self._shares(rows, sum(g.values[plan.pareto] or 0 for g in groups))
        totals = None
        if plan.totals and plan.pivot is None:
            totals = self._rollup(groups, ()).get((), self._values({}, {}))
        common = dict(
            app=plan.app.key,
            key=report.key,
            version=report.version,
            title=plan.title,
            chart=plan.chart,
            long_columns=columns,
            long_rows=rows,
        )
        if plan.pivot is None:
            return ReportResult(
                columns=columns, rows=rows, totals=totals, has_other=other is not None, **common
            )
        assert plan.pivot is not None
        wide_columns, wide_rows = pivoted(rows, plan.groups, plan.pivot, plan.measures)
        if plan.totals:
            totals = self._pivot_totals(groups, wide_columns)
        return ReportResult(columns=wide_columns, rows=wide_rows, totals=totals, **common)

    def _row(self, keys: Sequence[Any], values: Mapping[str, Any]) -> dict[str, Any]:
        row = {g.key: k for g, k in zip(self.columns, keys, strict=True)}
        row.update(values)
        return row

    def _ordered(self, groups: list[_Group]) -> tuple[list[_Group], dict[str, Any] | None]:
        """The groups in the report's order, cut to the top-N, and the "other" row."""
        plan = self.plan
        ranking = plan.pareto or (plan.top or {}).get("by")
        order = plan.sort or ([(ranking, True)] if ranking else [])
        shown = _sorted(groups, [(g.key, False) for g in self.columns], self.columns)
        if plan.top is None:
            return _sorted(shown, order, self.columns), None
        ranked = _sorted(shown, [(plan.top["by"], True)], self.columns)
        kept, rest = ranked[: plan.top["n"]], ranked[plan.top["n"] :]
        other = None
        if plan.top.get("other") and rest:
            values = self._rollup(rest, (), excluded=kept).get((), {})
            label = text_map(plan.top.get("other_label") or OTHER_LABEL)[self.language]
            keys = [label if g.type == "text" else None for g in self.columns]
            other = self._row(keys, values)
        return _sorted(kept, order, self.columns), other

    def _shares(self, rows: list[dict[str, Any]], total: float) -> None:
        running = 0.0
        for row in rows:
            running += row[self.plan.pareto or ""] or 0
            row[CUMULATIVE] = running / total * 100 if total else None

    def _pivot_totals(self, groups: list[_Group], columns: list[ReportColumn]) -> dict[str, Any]:
        at = len(self.keys) - 1
        per_value = self._rollup(groups, (at,))
        totals: dict[str, Any] = {}
        for column in columns:
            if column.measure is not None:
                found = per_value.get((column.pivot_value,), {})
                totals[column.key] = found.get(column.measure)
        return totals


def _combine(how: str | None, a: Any, b: Any) -> Any:
    if how is None or b is None:
        return a
    if a is None:
        return b
    if how == "sum":
        return a + b
    return min(a, b) if how == "min" else max(a, b)


def _sorted(groups: list, order: Sequence[tuple[str, bool]], columns: Sequence[Group]) -> list:
    """Stable sort by several keys, each ascending or descending, empty values last."""
    positions = {g.key: i for i, g in enumerate(columns)}

    def value(item: Any, key: str) -> Any:
        if isinstance(item, _Group):
            return item.keys[positions[key]] if key in positions else item.values.get(key)
        return item.get(key)

    out = list(groups)
    for key, descending in reversed(order):
        filled = [g for g in out if value(g, key) is not None]
        empty = [g for g in out if value(g, key) is None]
        filled.sort(key=lambda g, k=key: value(g, k), reverse=descending)
        out = filled + empty
    return out


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _none(value: Any) -> Any:
    return None if _missing(value) else value


def _number(value: Any) -> float | None:
    return None if value is None or _missing(value) else float(value)
