"""A report definition checked against the published entities and turned into a plan.

:func:`plan_report` is what saving, publishing and running a report share: it resolves
every path (see :mod:`report_fields`), checks that each filter, group, measure, pivot, sort,
top-N, Pareto and chart makes sense for the types it meets, and reports every problem at
once with a JSON-pointer path into the definition. The plan knows nothing of the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.errors import error
from jizuo.platform.expressions import ExpressionError
from jizuo.platform.metadata import Field
from jizuo.platform.models import App
from jizuo.platform.report_fields import (
    NUMERIC_TYPES,
    SCALAR_TYPES,
    SOURCE,
    FieldRef,
    Join,
    PathError,
    Resolver,
    Source,
    load_source,
)
from jizuo.platform.row_scope import RowScope, compile_scope
from jizuo.platform.row_scope_sql import Condition

#: Measures SQL computes; the others come from pandas (detail) or from other measures.
SQL_AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
DETAIL_AGGREGATES = ("median", "stddev", "percentile")
#: Measures that add up over groups (Pareto shares, "other" rows).
ADDITIVE = ("count", "sum")
#: Of a child-table column at record grain: aggregated per record first, then over records.
NESTABLE = ("count", "sum", "min", "max")
CUMULATIVE = "cumulative_percent"
AGG_TITLES = {
    "count": ("Count", "计数"), "count_distinct": ("Distinct count", "去重计数"),
    "sum": ("Sum", "合计"), "avg": ("Average", "平均值"), "min": ("Minimum", "最小值"),
    "max": ("Maximum", "最大值"), "median": ("Median", "中位数"), "stddev": ("Std. dev.", "标准差"),
    "percentile": ("Percentile", "百分位数"), "ratio": ("Ratio", "比率"),
}  # fmt: skip
BUCKET_TITLES = {
    "day": ("day", "日"), "week": ("week", "周"), "month": ("month", "月"),
    "quarter": ("quarter", "季度"), "year": ("year", "年"),
}  # fmt: skip


def text_map(value: Any, fallback: str = "") -> dict[str, str]:
    """A title as ``{"en": …, "zh": …}`` (Chinese falls back to English and back)."""
    if isinstance(value, dict) and value:
        en = value.get("en") or next(iter(value.values()))
        return {"en": en, "zh": value.get("zh") or en}
    text = value if isinstance(value, str) and value else fallback
    return {"en": text, "zh": text}


DATE_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class Group:
    """A group-by (or pivot) column: a field, bucketed by date or not."""

    key: str
    title: dict[str, str]
    ref: FieldRef
    bucket: str | None
    where: str

    @property
    def type(self) -> str:
        return "date" if self.bucket else self.ref.type


@dataclass(frozen=True)
class Measure:
    key: str
    title: dict[str, str]
    agg: str
    type: str
    where: str
    ref: FieldRef | None = None
    percentile: float | None = None
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class FilterSpec:
    ref: FieldRef
    op: str
    value: Any
    where: str


@dataclass
class ReportPlan:
    """Everything a report reads and computes, resolved."""

    app: App
    title: dict[str, str]
    source: Source
    rows: Field | None
    joins: dict[str, Join]
    resolver: Resolver
    filters: list[FilterSpec] = field(default_factory=list)
    where: RowScope | None = None
    where_fields: tuple[str, ...] = ()
    groups: list[Group] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    pivot: Group | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (key, descending)
    top: dict[str, Any] | None = None
    pareto: str | None = None
    totals: bool = False
    chart: dict[str, Any] | None = None
    #: The date a date range narrows (report pages, dashboards): ``date_field``, else the first
    #: date group-by.
    date_field: FieldRef | None = None

    def measure(self, key: str) -> Measure:
        return next(m for m in self.measures if m.key == key)

    def used_fields(self) -> list[tuple[FieldRef, str]]:
        """Every resolved path the definition names, with the JSON pointer naming it."""
        named: list[Any] = [*self.filters, *self.groups, *([self.pivot] if self.pivot else [])]
        named += [m for m in self.measures if m.ref is not None]
        return [(item.ref, f"{item.where}/field") for item in named]


class _Planner:
    def __init__(self, session: Session, actor: Actor, app: App, body: dict[str, Any]):
        self.session, self.actor, self.app, self.body = session, actor, app, body
        self.errors: list[dict[str, str]] = []

    def fail(self, where: str, message: str, code: str = "invalid") -> None:
        self.errors.append(error(where, message, code))

    def ref(self, resolver: Resolver, path: str, where: str) -> FieldRef | None:
        try:
            return resolver.resolve(path)
        except PathError as exc:
            self.fail(where, str(exc), "unknown_field")
            return None

    def plan(self) -> ReportPlan | None:
        body = self.body
        ref = body["source"]["entity"]
        ref = ref if "." in ref else f"{self.app.key}.{ref}"
        try:
            source = load_source(self.session, self.actor.workspace_id, ref)
        except PathError as exc:
            self.fail("/source/entity", str(exc), "unknown_entity")
            return None
        rows = None
        if "rows" in body["source"]:
            rows = source.definition.fields.get(body["source"]["rows"])
            if rows is None or rows.kind != "child_table":
                self.fail("/source/rows", f"'{ref}' has no child table '{body['source']['rows']}'")
                rows = None
        resolver = Resolver(self.session, self.actor, source, rows)
        plan = ReportPlan(
            self.app,
            text_map(body["title"]),
            source,
            rows,
            resolver.joins,
            resolver,
            totals=bool(body.get("totals", False)),
        )
        for i, raw in enumerate(body.get("filters", [])):
            self.filter(plan, raw, f"/filters/{i}")
        if "where" in body:
            self.where(plan, body["where"])
        plan.groups = [
            g
            for i, raw in enumerate(body.get("group_by", []))
            if (g := self.group(plan, raw, f"/group_by/{i}")) is not None
        ]
        if "pivot" in body:
            plan.pivot = self.group(plan, body["pivot"], "/pivot")
        for i, raw in enumerate(body["measures"]):
            measure = self.measure(plan, raw, f"/measures/{i}")
            if measure is not None:
                plan.measures.append(measure)
        self.ratios(plan)
        self.date_field(plan, body.get("date_field"))
        self.unique_keys(plan)
        self.shaping(plan)
        if "chart" in body:
            plan.chart = body["chart"]
            self.chart(plan, body["chart"])
        return plan

    # -- filters ---------------------------------------------------------------------

    def filter(self, plan: ReportPlan, raw: dict[str, Any], where: str) -> None:
        ref = self.ref(plan.resolver, raw["field"], f"{where}/field")
        if ref is None:
            return
        problem = filter_problem(ref, raw["op"], raw.get("value"))
        if problem:
            self.fail(f"{where}/{problem[0]}", problem[1])
        else:
            plan.filters.append(FilterSpec(ref, raw["op"], raw.get("value"), where))

    def where(self, plan: ReportPlan, source: str) -> None:
        try:
            plan.where = compile_scope(source, plan.source.definition)
        except ExpressionError as exc:
            self.fail("/where", str(exc), "expression")
            return
        plan.where_fields = tuple(sorted(_condition_fields(plan.where.root)))

    def date_field(self, plan: ReportPlan, path: str | None) -> None:
        if path is None:
            dated = [g for g in (*plan.groups, plan.pivot) if g and g.ref.type in DATE_TYPES]
            plan.date_field = dated[0].ref if dated else None
            return
        ref = self.ref(plan.resolver, path, "/date_field")
        if ref is None:
            return
        if ref.type not in DATE_TYPES:
            self.fail("/date_field", f"'{path}' is not a date or a date-time")
        elif ref.in_table is not None:
            self.fail("/date_field", f"'{path}' has a value per child row, not one per record")
        else:
            plan.date_field = ref

    # -- groups and measures ------------------------------------------------------------

    def group(self, plan: ReportPlan, raw: dict[str, Any], where: str) -> Group | None:
        ref = self.ref(plan.resolver, raw["field"], f"{where}/field")
        if ref is None:
            return None
        bucket = raw.get("bucket")
        if ref.in_table is not None:
            self.fail(f"{where}/field", _per_row(ref))
            return None
        if ref.type not in SCALAR_TYPES:
            self.fail(f"{where}/field", f"'{ref.path}' holds {ref.type} values: group by a field")
            return None
        if bucket and ref.type not in ("date", "datetime"):
            self.fail(f"{where}/bucket", f"'{ref.path}' is not a date: it has no {bucket}s")
            return None
        title = text_map(raw.get("title"), "") if raw.get("title") else _field_title(ref)
        if bucket and not raw.get("title"):
            en, zh = BUCKET_TITLES[bucket]
            title = {"en": f"{title['en']} ({en})", "zh": f"{title['zh']}（{zh}）"}
        key = raw.get("key") or ref.path.replace(".", "_") + (f"_{bucket}" if bucket else "")
        return Group(key, title, ref, bucket, where)

    def measure(self, plan: ReportPlan, raw: dict[str, Any], where: str) -> Measure | None:
        agg = raw["agg"]
        for name, needed in (
            ("percentile", "percentile"),
            ("numerator", "ratio"),
            ("denominator", "ratio"),
            ("scale", "ratio"),
        ):
            if name in raw and agg != needed:
                self.fail(f"{where}/{name}", f"'{name}' belongs to {needed} measures only")
        if agg == "ratio":
            return self.ratio(raw, where)
        ref = None
        if "field" in raw:
            ref = self.ref(plan.resolver, raw["field"], f"{where}/field")
            if ref is None:
                return None
        elif agg != "count":
            self.fail(where, f"a {agg} measure needs a 'field'", "required")
            return None
        if agg == "percentile" and "percentile" not in raw:
            self.fail(where, "a percentile measure needs 'percentile' (e.g. 95)", "required")
            return None
        problem = measure_problem(agg, ref, plan.rows)
        if problem:
            self.fail(f"{where}/field", problem)
            return None
        title = text_map(raw["title"]) if "title" in raw else _measure_title(agg, ref, raw)
        return Measure(
            raw["key"],
            title,
            agg,
            measure_type(agg, ref),
            where,
            ref,
            percentile=raw.get("percentile"),
        )

    def ratio(self, raw: dict[str, Any], where: str) -> Measure | None:
        for name in ("numerator", "denominator"):
            if name not in raw:
                self.fail(where, f"a ratio measure needs a '{name}' (a measure key)", "required")
        if "field" in raw:
            self.fail(f"{where}/field", "a ratio divides two measures; it reads no field")
        if "field" in raw or "numerator" not in raw or "denominator" not in raw:
            return None
        title = text_map(raw.get("title"), f"{raw['numerator']} / {raw['denominator']}")
        return Measure(
            raw["key"],
            title,
            "ratio",
            "number",
            where,
            numerator=raw["numerator"],
            denominator=raw["denominator"],
            scale=float(raw.get("scale", 1)),
        )

    def ratios(self, plan: ReportPlan) -> None:
        keys = {m.key: m for m in plan.measures}
        for m in plan.measures:
            if m.agg != "ratio":
                continue
            for name in ("numerator", "denominator"):
                other = keys.get(getattr(m, name))
                if other is None:
                    self.fail(f"{m.where}/{name}", f"there is no measure '{getattr(m, name)}'")
                elif other.agg == "ratio":
                    self.fail(f"{m.where}/{name}", "a ratio divides measures, not other ratios")

    def unique_keys(self, plan: ReportPlan) -> None:
        seen: set[str] = set()
        columns = [*plan.groups, *([plan.pivot] if plan.pivot else []), *plan.measures]
        for column in columns:
            at = f"{column.where}/key"
            if column.key in seen:
                self.fail(at, f"the key '{column.key}' is used twice", "duplicate")
            elif column.key == CUMULATIVE:
                self.fail(at, f"'{CUMULATIVE}' is the column of Pareto shares", "duplicate")
            seen.add(column.key)

    # -- order, top-N, Pareto, chart --------------------------------------------------------

    def shaping(self, plan: ReportPlan) -> None:
        body = self.body
        measures = {m.key: m for m in plan.measures}
        groups = {g.key for g in plan.groups}
        sortable = groups if plan.pivot else groups | set(measures)
        for i, item in enumerate(body.get("sort", [])):
            if item["key"] not in sortable:
                what = "a group-by key" if plan.pivot else "a group-by or measure key"
                self.fail(f"/sort/{i}/key", f"'{item['key']}' is not {what}", "unknown")
            plan.sort.append((item["key"], item.get("direction", "asc") == "desc"))
        for name in ("top", "pareto"):
            if name in body and plan.pivot is not None:
                self.fail(f"/{name}", f"a pivoted report has no {name}: drop the pivot or {name}")
            elif name in body and not plan.groups:
                self.fail(f"/{name}", f"{name} needs at least one group-by field", "required")
        if "top" in body:
            plan.top = dict(body["top"])
            if body["top"]["by"] not in measures:
                self.fail("/top/by", f"there is no measure '{body['top']['by']}'", "unknown")
        if "pareto" in body:
            plan.pareto = key = body["pareto"]["measure"]
            if key not in measures:
                self.fail("/pareto/measure", f"there is no measure '{key}'", "unknown")
            elif measures[key].agg not in ADDITIVE:
                self.fail("/pareto/measure", "Pareto shares need a count or sum measure")
            if "sort" in body:
                self.fail("/sort", "a Pareto report is ordered by its measure; drop 'sort'")
            if "top" in body and body["top"]["by"] != key:
                self.fail("/top/by", f"in a Pareto report the top-N are ranked by '{key}'")

    def chart(self, plan: ReportPlan, chart: dict[str, Any]) -> None:
        columns = {g.key for g in plan.groups} | {m.key for m in plan.measures}
        columns |= {plan.pivot.key} if plan.pivot else set()
        columns |= {CUMULATIVE} if plan.pareto else set()
        ys = chart.get("y", [])
        ys = [ys] if isinstance(ys, str) else ys
        named = [("x", chart["x"]), *((f"y/{i}", y) for i, y in enumerate(ys))]
        if isinstance(chart.get("y"), str):
            named[1] = ("y", chart["y"])
        if "color" in chart:
            named.append(("color", chart["color"]))
        for where, key in named:
            if key not in columns:
                self.fail(f"/chart/{where}", f"the report has no column '{key}'", "unknown")
        measures = {m.key for m in plan.measures}
        for i, rule in enumerate(chart.get("rules", [])):
            if isinstance(rule["value"], str) and rule["value"] not in measures:
                self.fail(f"/chart/rules/{i}/value", f"there is no measure '{rule['value']}'")
        if "y" not in chart and chart["type"] != "histogram":
            self.fail("/chart", f"a {chart['type']} chart needs 'y'", "required")
        if "bins" in chart and chart["type"] != "histogram":
            self.fail("/chart/bins", "bins belong to histograms")
        if chart["type"] == "pareto" and not plan.pareto:
            self.fail("/chart/type", "a Pareto chart needs the report's 'pareto'")


def plan_report(
    session: Session, actor: Actor, app: App, body: dict[str, Any]
) -> tuple[ReportPlan | None, list[dict[str, str]]]:
    """The plan of a report body that passed the meta-schema, and every problem found."""
    planner = _Planner(session, actor, app, body)
    plan = planner.plan()
    return plan, planner.errors


# -- rules per type ----------------------------------------------------------------------


def filter_problem(ref: FieldRef, op: str, value: Any) -> tuple[str, str] | None:
    """Why a structured filter cannot apply to a field, as (the part at fault, the reason);
    None if it can."""
    if ref.type == "object":
        return "field", f"'{ref.path}' is a group: filter on one of its fields"
    if ref.type == "array":
        if ref.at != SOURCE or ref.in_table is not None:
            return "field", f"'{ref.path}' is a list field of a child row or referenced record"
        if op not in ("eq", "contains", "in", "null"):
            return "op", f"'{op}' does not apply to the list field '{ref.path}'"
    if op == "null":
        return None if isinstance(value, bool) else ("value", "'null' takes true or false")
    if value is None:
        return "value", f"'{op}' needs a value"
    if (op == "in") != isinstance(value, list):
        return "value", "'in' takes a list of values" if op == "in" else "give one value"
    if op == "contains" and ref.type not in ("text", "array"):
        return "op", f"'contains' applies to text fields, not to '{ref.path}'"
    wanted = {"integer": (int, float), "number": (int, float), "boolean": (bool,)}
    ok = (str, int, float) if ref.type == "array" else wanted.get(ref.type, (str,))
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, ok) or (bool not in ok and isinstance(item, bool)):
            return "value", f"'{ref.path}' holds {ref.type} values; {item!r} is not one"
        if ref.type in ("date", "datetime") and not _is_iso(item, ref.type):
            return "value", f"'{ref.path}' holds dates; {item!r} is not an ISO {ref.type}"
    return None


def _is_iso(text: str, kind: str) -> bool:
    try:
        if kind == "date":
            return len(text) == 10 and bool(date.fromisoformat(text))
        return bool(datetime.fromisoformat(text))
    except ValueError:
        return False


def measure_problem(agg: str, ref: FieldRef | None, rows: Field | None) -> str | None:
    """Why ``agg`` cannot measure the field (None if it can)."""
    if ref is None:
        return None
    if ref.type not in SCALAR_TYPES:
        return f"'{ref.path}' holds {ref.type} values; measure one of its fields"
    if ref.in_table is not None:
        if rows is not None:
            return f"'{ref.path}' is in another child table than the report's rows"
        if agg not in NESTABLE:
            return (
                f"{agg} of '{ref.path}' needs one value per row: make '{ref.in_table.key}' "
                "the report's rows"
            )
    numeric = ("sum", "avg", "median", "stddev", "percentile")
    if agg in numeric and ref.type not in NUMERIC_TYPES:
        return f"{agg} needs a number field; '{ref.path}' holds {ref.type} values"
    if agg in ("min", "max") and ref.type == "boolean":
        return f"{agg} does not apply to the yes/no field '{ref.path}'"
    if rows is not None and not ref.row_level and agg in numeric:
        return (
            f"'{ref.path}' has one value per record, repeated on each '{rows.key}' row: "
            f"its {agg} would count a record once per row; report on the records instead"
        )
    return None


def measure_type(agg: str, ref: FieldRef | None) -> str:
    """The type of a measure's values."""
    if agg in ("count", "count_distinct"):
        return "integer"
    if agg == "sum" and ref is not None and ref.type == "integer":
        return "integer"
    if agg in ("min", "max") and ref is not None:
        return ref.type
    return "number"


def _per_row(ref: FieldRef) -> str:
    table = ref.in_table.key if ref.in_table else ""
    return f"'{ref.path}' has one value per child row: make '{table}' the report's rows"


def _field_title(ref: FieldRef) -> dict[str, str]:
    """The field's own title, else its path in words (``supplier › country``)."""
    title = ref.field.schema.get("title") if ref.field is not None else None
    if title:
        return text_map(title)
    words = " › ".join(part.replace("_", " ") for part in ref.path.split("."))
    return text_map(words[:1].upper() + words[1:])


def _measure_title(agg: str, ref: FieldRef | None, raw: dict[str, Any]) -> dict[str, str]:
    en, zh = AGG_TITLES[agg]
    if agg == "percentile":
        en, zh = f"P{raw['percentile']:g}", f"P{raw['percentile']:g}"
    if ref is None:
        return {"en": en, "zh": zh}
    name = _field_title(ref)
    return {"en": f"{en} of {name['en']}", "zh": f"{name['zh']}{zh}"}


def _condition_fields(node: Condition) -> set[str]:
    """The top-level fields a compiled ``where`` condition reads."""
    found = set()
    if node.operand is not None and node.operand.field is not None:
        found.add(node.operand.field.path.split(".")[0])
    for part in node.parts:
        found |= _condition_fields(part)
    return found
