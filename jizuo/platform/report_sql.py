"""The SQL of a report run: one viewer's rows of the grain, filtered, grouped and aggregated in
the database, so only grouped rows (or, for pandas' statistics, only the needed columns) are
fetched.

* The grain is ``records`` (the source entity's live records in the viewer's workspace and row
  scope), or each of their child-table rows (``json_each`` on SQLite, ``jsonb_array_elements``
  on PostgreSQL) when the report names ``source.rows``.
* Each reference a path follows is a LEFT JOIN of ``records`` on the referenced id, limited to
  the target entity's live records in the workspace and to the viewer's row scope there. A
  record whose reference points outside what the viewer may read gets empty values for the
  referenced fields (grouped as empty), as if the reference were not filled.
* Date buckets agree on both databases: a date's day, the Monday starting its ISO week, the first
  day of its month, quarter or year, as an ISO date; date-times (with an offset, or without as
  UTC) fall into the bucket of their UTC day.
* A child-table column measured at record grain (``sum`` of ``defects.count`` per inspection)
  is aggregated per record in a correlated subquery, then over the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Double,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    case,
    cast,
    column,
    distinct,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.util import ClauseAdapter

from jizuo.platform.actor import Actor
from jizuo.platform.errors import Conflict, error
from jizuo.platform.expressions import ExpressionError
from jizuo.platform.metadata import Field
from jizuo.platform.models import Record
from jizuo.platform.permissions import EntityAccess
from jizuo.platform.query import Filter, entity_is, filter_clause, json_path_sql, value_clause
from jizuo.platform.report_fields import ROW, SOURCE, FieldRef
from jizuo.platform.report_plan import FilterSpec, Group, Measure, ReportPlan

RECORDS = Record.__table__
#: How a component of groups combines into a total or an "other" row (None: it does not).
ROLLUPS = {"count": "sum", "sum": "sum", "n": "sum", "min": "min", "max": "max"}
#: An offset at the end of a date-time text (PostgreSQL regular expression).
ZONED = r"'([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$'"


def _lit(sql: str) -> ColumnElement:
    """A constant written into the SQL: grouped expressions must not carry bound parameters,
    or PostgreSQL sees the SELECT and GROUP BY expressions as different."""
    return literal_column(sql)


def child_rows(dialect: str, document: Any, table: str, *, lateral: bool = False) -> Any:
    """The rows of a child table of a JSON document, as a table of one ``value`` column."""
    if dialect == "postgresql":
        array = document.op("->")(_lit(f"'{table}'"))
        guarded = case((func.jsonb_typeof(array) == _lit("'array'"), array))
        rows = func.jsonb_array_elements(guarded).table_valued("value")
        return rows.lateral() if lateral else rows
    return func.json_each(document, _lit(f"'$.{table}'")).table_valued("value")


@dataclass(frozen=True)
class Component:
    """One SQL aggregate a measure needs (an average needs a sum and a count): ``function``
    (count, distinct, total, sum, min, max, stddev_samp or "percentile <fraction>") of
    ``argument``, a value per row of the grain (None: count the rows)."""

    label: str
    measure: str
    part: str  # count, sum, n, min, max, distinct or stat: how it rolls up
    function: str
    argument: ColumnElement | None = None

    @property
    def rollup(self) -> str | None:
        return ROLLUPS.get(self.part)

    def aggregate(self, value: ColumnElement | None) -> ColumnElement:
        if value is None:
            return func.count()
        if self.function == "distinct":
            return func.count(distinct(value))
        if self.function.startswith("percentile "):
            fraction = float(self.function.split()[1])
            return func.percentile_cont(fraction).within_group(value)
        if self.function == "total":  # a count summed over records: 0 when there are none
            return func.coalesce(func.sum(value), 0)
        return getattr(func, self.function)(value)


class ReportQuery:
    """The FROM, WHERE, grouping expressions and aggregates of one report for one viewer."""

    def __init__(
        self,
        plan: ReportPlan,
        filters: Sequence[FilterSpec],
        dialect: str,
        actor: Actor,
        accesses: dict[str, EntityAccess],
    ):
        self.plan, self.dialect, self.pg = plan, dialect, dialect == "postgresql"
        self.workspace_id = actor.workspace_id
        self.user = actor.expression_user()
        self.accesses = accesses
        self.rows = None
        if plan.rows is not None:
            self.rows = child_rows(dialect, RECORDS.c.data, plan.rows.key, lateral=True)
        self.aliases: dict[str, Any] = {}
        self._columns: dict[str, ColumnElement] = {}
        self.record = self._source_record() if self.pg else None
        self.from_clause = self._from()
        self.conditions = self._conditions(filters)

    # -- FROM and WHERE ---------------------------------------------------------------------

    def _source_record(self) -> Any | None:
        """PostgreSQL: the source record's top-level fields the report groups, measures or
        follows, typed, from one ``jsonb_to_record`` per record. Each is read once, however
        often it is used, and the planner, without statistics on them, expects few groups
        and hashes them in parallel; expressions on ``records.data`` would make it expect a
        group per record (the document is unique) and sort them all."""
        fields = self.plan.source.definition.fields
        plan = self.plan
        read = [g.ref for g in [*plan.groups, *([plan.pivot] if plan.pivot else [])]]
        read += [m.ref for m in plan.measures if m.ref is not None]
        keys = [r.field.path for r in read if r.at == SOURCE and r.field and not r.in_table]
        keys += [j.field.path for j in plan.joins.values() if j.origin == SOURCE]
        tops = dict.fromkeys(k.split(".")[0] for k in keys)
        columns = [column(key, _record_type(fields[key])) for key in tops if key in fields]
        if not columns:
            return None
        record = func.jsonb_to_record(RECORDS.c.data).table_valued(*columns)
        return record.render_derived(name="src", with_types=True).lateral()

    def _from(self) -> Any:
        joined = RECORDS
        if self.record is not None:
            joined = joined.join(self.record, true())
        if self.rows is not None:
            joined = joined.join(self.rows, true())
        for n, join in enumerate(self.plan.joins.values()):
            alias = RECORDS.alias(f"ref_{n}")
            path = join.field.path.split(".")
            target_id = self._json(join.origin, path[1:] if join.origin == ROW else path, "id")
            on = [
                alias.c.id == target_id,
                alias.c.workspace_id == self.workspace_id,
                alias.c.entity_id == literal(join.target.entity.id, literal_execute=True),
                alias.c.deleted_at.is_(None),
            ]
            scope = self._scope(join.key)
            if scope is not None:
                on.append(ClauseAdapter(alias).traverse(scope))
            self.aliases[join.key] = alias
            joined = joined.outerjoin(alias, and_(*on))
        return joined

    def _scope(self, at: str) -> ColumnElement | None:
        return self.accesses[at].scope_clause("read", self.dialect, self.user)

    def _conditions(self, filters: Sequence[FilterSpec]) -> list[ColumnElement]:
        conditions = [
            RECORDS.c.workspace_id == self.workspace_id,
            entity_is(self.plan.source.entity.id),
            RECORDS.c.deleted_at.is_(None),
        ]
        scope = self._scope(SOURCE)
        if scope is not None:
            conditions.append(scope)
        if self.plan.where is not None:
            try:
                conditions.append(self.plan.where.clause(self.dialect, self.user))
            except ExpressionError as exc:
                raise Conflict(
                    f"The report's condition cannot be applied for you: {exc}",
                    errors=[error("/where", str(exc), "expression")],
                ) from None
        return conditions + [self._filter(spec) for spec in filters]

    def _filter(self, spec: FilterSpec) -> ColumnElement:
        ref = spec.ref
        values = spec.value if spec.op == "in" and isinstance(spec.value, list) else None
        if values is not None:  # a definition's list: one test per value (values may hold commas)
            parts = [self._filter(FilterSpec(ref, "eq", v, spec.where)) for v in values]
            return or_(*parts) if parts else false()
        flt = Filter(ref.path, spec.op, _as_text(spec.value))
        if ref.at == SOURCE and ref.system is None:
            # The list filters' own SQL, which the x-index expression indexes answer: also any
            # child row matching, or one option of a multi-select.
            return filter_clause(self.dialect, self.plan.source.definition, flt)
        return value_clause(self.dialect, self.column(ref), flt, ref.sql_type)

    # -- values -----------------------------------------------------------------------------

    def column(self, ref: FieldRef) -> ColumnElement:
        """The SQL expression of a resolved path's value, per row of the grain (the same object
        for the same path, so the value is selected once)."""
        if ref.path not in self._columns:
            if ref.system is not None:
                self._columns[ref.path] = self._table(ref.at).c[ref.system]
            else:
                self._columns[ref.path] = self._json(ref.at, ref.json_path(), ref.type)
        return self._columns[ref.path]

    def _table(self, at: str) -> Any:
        return RECORDS if at in (SOURCE, ROW) else self.aliases[at]

    def _json(self, at: str, path: list[str], kind: str) -> Any:
        if at == SOURCE and self.record is not None and path[0] in self.record.c:
            value = self.record.c[path[0]]
            return value if len(path) == 1 else typed_json(self.dialect, value, path[1:], kind)
        document = self.rows.c.value if at == ROW else self._table(at).c.data
        return typed_json(self.dialect, document, path, kind)

    def group(self, group: Group) -> ColumnElement:
        """The expression a group-by (or pivot) column groups on."""
        value = self.column(group.ref)
        return value if group.bucket is None else self._bucket(value, group.ref, group.bucket)

    def _bucket(self, value: ColumnElement, ref: FieldRef, bucket: str) -> ColumnElement:
        if ref.type == "date" and ref.system is None and bucket != "week":
            return _date_text_bucket(value, bucket)
        if not self.pg:
            modifiers = {
                "day": [],
                "week": ["'weekday 0'", "'-6 days'"],
                "month": ["'start of month'"],
                "year": ["'start of year'"],
            }
            if bucket == "quarter":
                months = (cast(func.strftime(_lit("'%m'"), value), Integer) - _lit("1")) % _lit("3")
                back = func.printf(_lit("'-%d months'"), months)
                return func.date(value, _lit("'start of month'"), back)
            return func.date(value, *map(_lit, modifiers[bucket]))
        if ref.system is not None:
            stamp = func.timezone(_lit("'UTC'"), value)
        elif ref.type == "date":
            stamp = cast(cast(value, Date), TIMESTAMP)
        else:
            zoned = func.timezone(_lit("'UTC'"), cast(value, TIMESTAMP(timezone=True)))
            stamp = case((value.op("~")(_lit(ZONED)), zoned), else_=cast(value, TIMESTAMP))
        if bucket == "day":
            return cast(stamp, Date)
        return cast(func.date_trunc(_lit(f"'{bucket}'"), stamp), Date)

    # -- aggregates -------------------------------------------------------------------------

    def components(self, measure: Measure) -> list[Component]:
        """The SQL aggregates of a measure (none for measures pandas or ratios compute)."""
        ref, agg, key = measure.ref, measure.agg, measure.key
        if agg == "count" and ref is None:
            return [Component(f"{key}__count", key, "count", "count")]
        if agg in ("median", "percentile", "stddev") and self.pg and ref is not None:
            # PostgreSQL has them (linear interpolation, sample deviation, as pandas computes
            # them on SQLite): only the statistic leaves the database.
            fraction = 0.5 if agg == "median" else (measure.percentile or 0) / 100
            function = "stddev_samp" if agg == "stddev" else f"percentile {fraction!r}"
            return [Component(f"{key}__stat", key, "stat", function, self.column(ref))]
        if agg not in ("count", "count_distinct", "sum", "avg", "min", "max"):
            return []
        assert ref is not None
        if ref.in_table is not None:
            outer = "total" if agg == "count" else agg
            return [Component(f"{key}__{agg}", key, agg, outer, self._per_record(ref, agg))]
        value = self.column(ref)
        if agg in ("min", "max") and self.pg and ref.system is None and ref.sql_type == "text":
            value = value.collate("C")  # ISO dates and text by code point, as Python orders them
        if agg == "count_distinct":
            return [Component(f"{key}__distinct", key, "distinct", "distinct", value)]
        if agg == "avg":
            return [
                Component(f"{key}__sum", key, "sum", "sum", value),
                Component(f"{key}__n", key, "n", "count", value),
            ]
        return [Component(f"{key}__{agg}", key, agg, agg, value)]

    def _per_record(self, ref: FieldRef, agg: str) -> ColumnElement:
        """A child-table column aggregated per record (a correlated subquery), to be aggregated
        again over the records: counts and sums add up, minima of minima, maxima of maxima."""
        assert ref.in_table is not None
        rows = child_rows(self.dialect, RECORDS.c.data, ref.in_table.key)
        value = typed_json(self.dialect, rows.c.value, ref.json_path(), ref.type)
        inner = {"count": func.count, "sum": func.sum, "min": func.min, "max": func.max}[agg]
        return select(inner(value)).select_from(rows).scalar_subquery()

    # -- statements -------------------------------------------------------------------------

    def aggregated(
        self,
        keys: Sequence[ColumnElement],
        components: Sequence[Component],
        *,
        limit: int | None = None,
        where: ColumnElement | None = None,
    ) -> Select:
        """One row per distinct value of ``keys`` (one row in all without keys), of the rows
        also meeting ``where``.

        The grain's values are selected once in a subquery and aggregated outside it. SQLite
        would otherwise extract a value from the JSON once per use (a sum and a count of the
        same field parse the record twice); ``LIMIT -1 OFFSET 0`` keeps it from merging the
        subquery into the aggregate.
        """
        values: dict[int, ColumnElement] = {}
        for c in components:
            if c.argument is not None:
                values.setdefault(id(c.argument), c.argument)
        labels = {at: f"v{i}" for i, at in enumerate(values)}
        inner = select(
            *(k.label(f"k{i}") for i, k in enumerate(keys)),
            *(value.label(labels[at]) for at, value in values.items()),
        ).select_from(self.from_clause)
        inner = inner.where(*self.conditions, *([where] if where is not None else []))
        if not keys and not values:
            inner = inner.add_columns(literal_column("1").label("v"))
        if not self.pg:  # PostgreSQL reads the source record once anyway (_source_record)
            inner = inner.limit(-1).offset(0)
        grain = inner.subquery("grain")
        group = [grain.c[f"k{i}"] for i in range(len(keys))]
        aggregates = [
            c.aggregate(None if c.argument is None else grain.c[labels[id(c.argument)]]).label(
                c.label
            )
            for c in components
        ]
        query = select(*group, *aggregates).select_from(grain)
        if keys:
            query = query.group_by(*group)
        return query if limit is None else query.limit(limit)

    def detail(self, keys: Sequence[ColumnElement], values: Sequence[ColumnElement]) -> Select:
        """The group keys and the values pandas needs, one row per row of the grain."""
        columns = [k.label(f"k{i}") for i, k in enumerate(keys)]
        columns += [v.label(f"v{i}") for i, v in enumerate(values)]
        return select(*columns).select_from(self.from_clause).where(*self.conditions)

    @staticmethod
    def excluding(keys: Sequence[ColumnElement], groups: Sequence[tuple[Any, ...]]) -> Any:
        """Rows in none of ``groups`` (key values as the database returned them); every test is
        two-valued, so rows with empty keys are kept unless an empty group is excluded."""
        matches = []
        for group in groups:
            tests = [
                k.is_(None) if v is None else and_(k.is_not(None), k == v)
                for k, v in zip(keys, group, strict=True)
            ]
            matches.append(and_(*tests))
        return not_(or_(*matches)) if matches else true()


def _record_type(f: Field) -> Any:
    """The SQL type of a top-level field in the typed source record."""
    if f.kind == "reference":
        return BigInteger
    json_type = f.schema.get("type")
    if json_type in ("object", "array"):
        return JSONB
    return {"integer": Numeric, "number": Double, "boolean": Boolean}.get(json_type, Text)


def _date_text_bucket(value: ColumnElement, bucket: str) -> ColumnElement:
    """The bucket of an ISO date text by slicing it: the same on both databases, and cheaper
    than parsing a date per row."""

    def part(start: int, length: int) -> ColumnElement:
        return func.substr(value, start, length, type_=Text)

    if bucket == "day":
        return part(1, 10)
    if bucket == "month":
        return part(1, 7) + literal("-01")
    if bucket == "year":
        return part(1, 4) + literal("-01-01")
    month = part(6, 2)
    first = case(
        (month <= literal("03"), literal("01")),
        (month <= literal("06"), literal("04")),
        (month <= literal("09"), literal("07")),
        else_=literal("10"),
    )
    return part(1, 5) + first + literal("-01")


def typed_json(dialect: str, document: Any, path: list[str], kind: str) -> ColumnElement:
    """A value inside a JSON document: numbers, yes/no and record ids typed on PostgreSQL
    (whose ``->>`` gives text); SQLite's ``json_extract`` keeps the JSON types. Decimal numbers
    are doubles on both (SQLite's own arithmetic), integers exact."""
    if dialect == "postgresql" and kind == "id":
        return cast(json_path_sql(dialect, document, path, "text"), BigInteger)
    if dialect == "postgresql" and kind == "number":
        return cast(json_path_sql(dialect, document, path, "text"), Double)
    sql_type = {"integer": "number", "number": "number", "boolean": "boolean", "id": "number"}
    return json_path_sql(dialect, document, path, sql_type.get(kind, "text"))


def _as_text(value: Any) -> str:
    """A filter value as the list filters take it from a query string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
