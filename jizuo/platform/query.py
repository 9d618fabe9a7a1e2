"""Filters, ordering and cursor pagination of records, compiled to SQL.

Every filter becomes a WHERE clause on the JSON column, written with the same
expression that ``record_indexes`` indexes, so PostgreSQL and SQLite can use the
``x-index`` expression indexes. Nothing is loaded to be filtered in Python.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Numeric,
    Text,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from jizuo.platform.errors import BadRequest, error
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.models import Record

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "null")
SYSTEM_COLUMNS = {
    "id": Record.id,
    "state": Record.state,
    "version": Record.version,
    "entity_version": Record.entity_version,
    "created_at": Record.created_at,
    "created_by": Record.created_by,
    "updated_at": Record.updated_at,
    "updated_by": Record.updated_by,
}
SYSTEM_TYPES = {"state": "text", "created_at": "datetime", "updated_at": "datetime"}


def entity_is(entity_id: int) -> ColumnElement:
    """``records.entity_id = N`` with N written into the SQL, not bound.

    The per-entity indexes are partial (``WHERE entity_id = N``); a planner can only
    use them when it sees the literal value in the query.
    """
    return Record.entity_id == literal(int(entity_id), literal_execute=True)


def json_path_sql(dialect: str, source: Any, path: list[str], sql_type: str) -> ColumnElement:
    """The SQL expression reading a field at ``path`` inside a JSON column, typed for comparison.

    Keys are checked identifiers (``^[a-z][a-z0-9_]*$``), so they are written as literals:
    an index expression must match the query's text exactly to be used.
    """
    if dialect == "postgresql":
        if len(path) == 1:
            text = source.op("->>", return_type=Text)(literal_column(f"'{path[0]}'"))
        else:
            text = source.op("#>>", return_type=Text)(literal_column("'{" + ",".join(path) + "}'"))
        if sql_type == "number":
            return cast(text, Numeric)
        if sql_type == "boolean":
            return cast(text, Boolean)
        return text
    return func.json_extract(source, literal_column("'$." + ".".join(path) + "'"))


def field_sql(dialect: str, f: Field) -> ColumnElement:
    """The expression for a top-level or nested-object field of ``records.data``."""
    return json_path_sql(dialect, Record.data, f.path.split("."), f.sql_type)


def _coerce(value: str, sql_type: str, name: str) -> Any:
    if sql_type == "number":
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise BadRequest(
                f"Filter '{name}' needs a number.",
                errors=[error(name, f"'{value}' is not a number")],
            ) from None
        return number if number.is_finite() else _bad(name, value)
    if sql_type == "boolean":
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise BadRequest(f"Filter '{name}' needs true or false.", errors=[error(name, value)])
    if sql_type == "datetime":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise BadRequest(f"Filter '{name}' needs an ISO date-time.") from None
    return value


def _bad(name: str, value: str) -> Any:
    raise BadRequest(f"Filter '{name}' needs a finite number.", errors=[error(name, value)])


def _compare(
    expr: ColumnElement, op: str, value: Any, sql_type: str, dialect: str
) -> ColumnElement:
    if dialect == "sqlite" and sql_type == "boolean":
        value = int(value)  # json_extract returns 1/0 for JSON booleans
    if dialect == "sqlite" and isinstance(value, Decimal):
        value = float(value)
    if op == "eq":
        return expr == value
    if op == "ne":
        return or_(expr != value, expr.is_(None))
    if op == "gt":
        return expr > value
    if op == "gte":
        return expr >= value
    if op == "lt":
        return expr < value
    if op == "lte":
        return expr <= value
    raise AssertionError(op)


@dataclass(frozen=True)
class Filter:
    """One parsed ``name__op=value`` query parameter."""

    name: str
    op: str
    value: str


def parse_filters(params: dict[str, str], reserved: set[str]) -> list[Filter]:
    """Turn query parameters into filters (``supplier=3``, ``qty__gte=5``, ``lot.no__in=a,b``)."""
    out = []
    for raw, value in params.items():
        if raw in reserved:
            continue
        name, _, op = raw.partition("__")
        op = op or "eq"
        if op not in OPERATORS:
            raise BadRequest(
                f"Unknown filter operator '{op}' in '{raw}'.",
                errors=[error(raw, f"use one of: {', '.join(OPERATORS)}")],
            )
        if "\x00" in value:
            raise BadRequest(f"Filter '{raw}' holds a NUL character.", errors=[error(raw, "NUL")])
        out.append(Filter(name, op, value))
    return out


def filter_clause(dialect: str, defn: EntityDefinition, flt: Filter) -> ColumnElement:
    """The WHERE clause of one filter; unknown fields are a 400."""
    if flt.name in SYSTEM_COLUMNS:
        sql_type = SYSTEM_TYPES.get(flt.name, "number")
        return _scalar_clause(SYSTEM_COLUMNS[flt.name], flt, sql_type, dialect)
    f = defn.field_at(flt.name)
    if f is None:
        raise BadRequest(
            f"Unknown field '{flt.name}' in filter.",
            errors=[error(flt.name, f"'{defn.key}' has no field '{flt.name}'")],
        )
    parent = defn.field_at(flt.name.rsplit(".", 1)[0]) if "." in flt.name else None
    if parent is not None and parent.kind == "child_table":
        return _any_row_clause(dialect, parent, f, flt)
    if f.sql_type == "array":
        return _array_clause(dialect, f, flt)
    if f.sql_type == "object":
        raise BadRequest(f"Filter on a field of '{flt.name}', not on the group itself.")
    return _scalar_clause(field_sql(dialect, f), flt, f.sql_type, dialect)


def value_clause(dialect: str, expr: ColumnElement, flt: Filter, sql_type: str) -> ColumnElement:
    """One filter's WHERE clause on any SQL expression of a value (reports filter the values
    of child rows and referenced records with it)."""
    return _scalar_clause(expr, flt, sql_type, dialect)


def _scalar_clause(expr: ColumnElement, flt: Filter, sql_type: str, dialect: str) -> ColumnElement:
    if flt.op == "null":
        wanted = _coerce(flt.value, "boolean", flt.name)
        return expr.is_(None) if wanted else expr.is_not(None)
    if flt.op == "in":
        values = [_coerce(v, sql_type, flt.name) for v in flt.value.split(",") if v != ""]
        if dialect == "sqlite":
            values = [float(v) if isinstance(v, Decimal) else v for v in values]
        return expr.in_(values) if values else false()
    if flt.op == "contains":
        if sql_type != "text":
            raise BadRequest(f"'contains' applies to text fields, not to '{flt.name}'.")
        escaped = flt.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return expr.ilike(f"%{escaped}%", escape="\\")
    return _compare(expr, flt.op, _coerce(flt.value, sql_type, flt.name), sql_type, dialect)


def _array_clause(dialect: str, f: Field, flt: Filter) -> ColumnElement:
    """Multi-selects: ``contains`` (or ``eq``) one option, ``in`` any of several."""
    if flt.op == "null":
        present = json_path_sql(dialect, Record.data, f.path.split("."), "text")
        wanted = _coerce(flt.value, "boolean", flt.name)
        return present.is_(None) if wanted else present.is_not(None)
    if flt.op not in ("eq", "contains", "in"):
        raise BadRequest(f"'{flt.op}' does not apply to the list field '{flt.name}'.")
    item_type = "number" if f.schema.get("items", {}).get("type") in ("integer", "number") else ""
    raw = flt.value.split(",") if flt.op == "in" else [flt.value]
    values = [_coerce(v, item_type or "text", flt.name) for v in raw]
    values = [float(v) if isinstance(v, Decimal) else v for v in values]
    clauses = []
    for value in values:
        if dialect == "postgresql":
            array = Record.data.op("->")(literal_column(f"'{f.key}'"))
            clauses.append(array.op("@>")(literal([value], JSONB)))
        else:
            each = func.json_each(Record.data, literal_column(f"'$.{f.path}'")).table_valued(
                "value"
            )
            clauses.append(exists(select(1).select_from(each).where(each.c.value == value)))
    return or_(*clauses)


def _any_row_clause(dialect: str, table: Field, f: Field, flt: Filter) -> ColumnElement:
    """A filter on a child-table column matches records where any row matches."""
    if dialect == "postgresql":
        rows = func.jsonb_array_elements(
            Record.data.op("->")(literal_column(f"'{table.key}'"))
        ).table_valued("value")
        column = json_path_sql(dialect, rows.c.value, [f.key], f.sql_type)
        guard = func.jsonb_typeof(Record.data.op("->")(literal_column(f"'{table.key}'"))) == "array"
    else:
        rows = func.json_each(Record.data, literal_column(f"'$.{table.key}'")).table_valued("value")
        column = func.json_extract(rows.c.value, literal_column(f"'$.{f.key}'"))
        guard = None
    inner = _scalar_clause(column, Filter(flt.name, flt.op, flt.value), f.sql_type, dialect)
    clause = exists(select(1).select_from(rows).where(inner))
    return and_(guard, clause) if guard is not None else clause


# -- ordering and cursors ------------------------------------------------------------


@dataclass(frozen=True)
class Ordering:
    """``order_by`` resolved: the SQL expression, direction and how to read a row's sort value."""

    name: str
    expr: ColumnElement
    descending: bool
    sql_type: str

    def value_of(self, record: Record) -> Any:
        """The sort value of a fetched record, as it goes into a cursor."""
        if self.name in SYSTEM_COLUMNS:
            value = getattr(record, self.name)
        else:
            value = record.data
            for part in self.name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        return value.isoformat() if isinstance(value, datetime) else value


def resolve_ordering(dialect: str, defn: EntityDefinition, order_by: str | None) -> Ordering:
    """Parse ``order_by`` (``field`` or ``-field``; default: newest first by id)."""
    if not order_by:
        return Ordering("id", Record.id, True, "number")
    descending = order_by.startswith("-")
    name = order_by.lstrip("-")
    if name in SYSTEM_COLUMNS:
        return Ordering(name, SYSTEM_COLUMNS[name], descending, SYSTEM_TYPES.get(name, "number"))
    f = defn.field_at(name)
    if f is None or f.sql_type in ("array", "object") or "." in f.path and f.path != name:
        raise BadRequest(
            f"Cannot order by '{name}'.",
            errors=[error("order_by", f"'{defn.key}' has no sortable field '{name}'")],
        )
    parent = defn.field_at(name.rsplit(".", 1)[0]) if "." in name else None
    if parent is not None and parent.kind == "child_table":
        raise BadRequest(f"Cannot order by the child-table column '{name}'.")
    return Ordering(name, field_sql(dialect, f), descending, f.sql_type)


def order_clauses(ordering: Ordering) -> list[ColumnElement]:
    """ORDER BY the field (empty values last) then by id, in the same direction."""
    if ordering.name == "id":
        return [Record.id.desc() if ordering.descending else Record.id.asc()]
    if ordering.descending:
        return [ordering.expr.desc().nulls_last(), Record.id.desc()]
    return [ordering.expr.asc().nulls_last(), Record.id.asc()]


def encode_cursor(value: Any, record_id: int) -> str:
    """An opaque cursor pointing just after a row."""
    raw = json.dumps([value, record_id], default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: Ordering) -> tuple[Any, int]:
    """The sort value and id a cursor points after; a 400 if it was tampered with."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, record_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(record_id, int) or isinstance(value, dict | list):
            raise ValueError
        if isinstance(value, str) and "\x00" in value:
            raise ValueError
        if value is not None and ordering.sql_type == "datetime":
            value = datetime.fromisoformat(value)
        if isinstance(value, float | int) and ordering.sql_type == "number":
            value = Decimal(str(value))
    except (ValueError, TypeError):
        raise BadRequest("The cursor is not valid.", errors=[error("cursor", "invalid")]) from None
    return value, record_id


def after_cursor(ordering: Ordering, value: Any, record_id: int, dialect: str) -> ColumnElement:
    """Rows strictly after (value, id) in the listing's order, empty values sorting last."""
    by_id = Record.id < record_id if ordering.descending else Record.id > record_id
    if ordering.name == "id":
        return by_id
    expr = ordering.expr
    if isinstance(value, Decimal) and dialect == "sqlite":
        value = float(value)
    if value is None:
        return and_(expr.is_(None), by_id)
    beyond = expr < value if ordering.descending else expr > value
    return or_(beyond, and_(expr == value, by_id), expr.is_(None))


def before_cursor(ordering: Ordering, value: Any, record_id: int, dialect: str) -> ColumnElement:
    """Rows strictly before (value, id) in the listing's order (the previous pages)."""
    by_id = Record.id > record_id if ordering.descending else Record.id < record_id
    if ordering.name == "id":
        return by_id
    expr = ordering.expr
    if isinstance(value, Decimal) and dialect == "sqlite":
        value = float(value)
    if value is None:  # empty values sort last: every non-empty value comes before
        return or_(expr.is_not(None), and_(expr.is_(None), by_id))
    before = expr > value if ordering.descending else expr < value
    return or_(before, and_(expr == value, by_id))


def reversed_order_clauses(ordering: Ordering) -> list[ColumnElement]:
    """``order_clauses`` backwards: read from a cursor towards the first page."""
    if ordering.name == "id":
        return [Record.id.asc() if ordering.descending else Record.id.desc()]
    if ordering.descending:
        return [ordering.expr.asc().nulls_first(), Record.id.asc()]
    return [ordering.expr.desc().nulls_first(), Record.id.desc()]
