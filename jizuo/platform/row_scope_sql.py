"""Row scopes in SQL: a checked scope condition (see :mod:`jizuo.platform.row_scope`) turned
into one user's WHERE clause.

Parts that do not read ``record`` are evaluated in Python first and bound as values; every
atomic predicate is two-valued (never SQL NULL), so ``not`` behaves as in the evaluator.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    and_,
    cast,
    exists,
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
from sqlalchemy.sql.elements import ColumnElement

from jizuo.platform.expression_dates import parse_iso
from jizuo.platform.expression_errors import short
from jizuo.platform.expressions import (
    ExpressionError,
    evaluate,
)
from jizuo.platform.metadata import Field
from jizuo.platform.models import Record
from jizuo.platform.query import SYSTEM_COLUMNS, field_sql

_SQL_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
_Sql = bool | ColumnElement
MAX_LIST_ITEMS = 10_000


@dataclass(frozen=True)
class Operand:
    """``record.<name>``: a system column (field None) or a top-level or group data field."""

    label: str
    sql_type: str  # number, text, boolean, datetime, array or object
    field: Field | None = None

    def sql(self, dialect: str) -> ColumnElement:
        if self.field is None:
            return SYSTEM_COLUMNS[self.label.removeprefix("record.")]
        return field_sql(dialect, self.field)


@dataclass(frozen=True)
class Condition:
    """A condition: and/or/not/if of conditions, a value's truth, a field's truth or a test."""

    kind: str  # and, or, not, if, value, truth, compare
    parts: tuple[Condition, ...] = ()
    op: str = ""  # == != < <= > >=, 'in' (record.x in value), 'has' (value in record.x)
    operand: Operand | None = None
    value: str = ""  # source text of the part evaluated in Python


class ClauseBuilder:
    """Builds one user's WHERE clause; a Python bool stands for a part already decided."""

    def __init__(self, source: str, dialect: str, user: Mapping[str, Any]) -> None:
        self.source, self.pg, self.names = source, dialect == "postgresql", {"user": user}
        self.dialect = dialect

    def error(self, reason: str) -> ExpressionError:
        return ExpressionError(self.source, reason)

    def fold(self, text: str) -> Any:
        try:
            return evaluate(text, self.names)
        except ExpressionError as exc:
            raise self.error(exc.reason) from exc

    def python(self, symbol: str, a: Any, b: Any) -> bool:
        """The evaluator's own answer for ``a <symbol> b``."""
        try:
            return bool(evaluate(f"a {symbol} b", {"a": a, "b": b}))
        except ExpressionError as exc:
            raise self.error(exc.reason) from exc

    def condition(self, node: Condition) -> _Sql:
        if node.kind == "value":
            return bool(self.fold(node.value))
        if node.kind == "not":
            inner = self.condition(node.parts[0])
            return (not inner) if isinstance(inner, bool) else not_(inner)
        if node.kind in ("and", "or"):
            decisive = node.kind == "or"
            clauses = []
            for part in node.parts:  # left to right, stopping where Python would
                built = self.condition(part)
                if built is decisive:
                    return decisive
                if not isinstance(built, bool):
                    clauses.append(built)
            if not clauses:
                return not decisive
            return or_(*clauses) if decisive else and_(*clauses)
        if node.kind == "if":
            test = self.condition(node.parts[0])
            if isinstance(test, bool):
                return self.condition(node.parts[1 if test else 2])
            body, orelse = (to_sql(self.condition(part)) for part in node.parts[1:])
            return or_(and_(test, body), and_(not_(test), orelse))
        assert node.operand is not None
        column = node.operand.sql(self.dialect)
        if node.kind == "truth":
            return self.truth(node.operand, column)
        value = self.fold(node.value)
        if node.op == "in":
            return self.within(node.operand, column, value)
        if node.op == "has":
            return self.has(node.operand, column, value)
        return self.compare(node.op, node.operand, column, value)

    def truth(self, operand: Operand, column: ColumnElement) -> _Sql:
        if operand.sql_type == "boolean":
            return column.is_(True)
        if operand.sql_type in ("number", "text"):
            return and_(column.is_not(None), column != (0 if operand.sql_type == "number" else ""))
        return column.is_not(None)

    def each_value(self, column: ColumnElement, test: Callable[[Any], bool]) -> _Sql:
        """A yes/no field has three values: ask the evaluator about each."""
        chosen = [value for value in (None, True, False) if test(value)]
        if len(chosen) == 3 or not chosen:
            return bool(chosen)
        if chosen == [True, False]:
            return column.is_not(None)
        return or_(*(column.is_(value) for value in chosen))

    def compare(self, op: str, operand: Operand, column: ColumnElement, value: Any) -> _Sql:
        if value is None:
            return column.is_(None) if op == "==" else column.is_not(None) if op == "!=" else False
        if operand.sql_type == "boolean":
            return self.each_value(column, lambda b: self.python(op, b, value))
        target, bound = self.typed(operand, column, value)
        if target is None:  # never equal to any value of the field; not orderable against it
            if op in ("==", "!="):
                return op == "!="
            raise self.error(f"{operand.label} cannot be ordered against {_kind(value)}")
        if isinstance(bound, float) and not math.isfinite(bound):
            if op in ("==", "!="):
                return op == "!="
            return column.is_not(None) if _SQL_OPS[op](0, bound) else False
        if op == "!=":
            return or_(column.is_(None), target != bound)
        if self.pg and operand.sql_type == "text" and op != "==":
            target = target.collate("C")
        return and_(column.is_not(None), _SQL_OPS[op](target, bound))

    def typed(self, operand: Operand, column: ColumnElement, value: Any) -> tuple[Any, Any]:
        """(SQL expression, bound value) comparing like the evaluator; (None, None) if the value
        is of another type than the field."""
        if operand.sql_type == "number":
            number = self.number(value)
            return (None, None) if number is None else (column, number)
        if operand.sql_type == "text":
            if isinstance(value, date):
                raise self.error(
                    f"{operand.label} is text: compare it with ISO text such as today(), "
                    "not with a date object"
                )
            return (column, value) if isinstance(value, str) else (None, None)
        if isinstance(value, str):  # created_at / updated_at, as _comparable does
            try:
                value = parse_iso(value)
            except ValueError:
                return None, None
        if isinstance(value, datetime):
            return (None, None) if value.tzinfo is None else (column, self.instant(value))
        if isinstance(value, date):
            if self.pg:
                return cast(func.timezone("UTC", column), Date), value
            return func.date(column), value.isoformat()
        return None, None

    def instant(self, value: datetime) -> datetime:
        utc = value.astimezone(UTC)
        return utc if self.pg else utc.replace(tzinfo=None)  # SQLite stores naive UTC text

    def number(self, value: Any) -> Any:
        """A number bound so that SQL compares it exactly as Python would, else None."""
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, Decimal):
            if value.is_nan():
                raise self.error("a NaN decimal cannot be compared")
            if not value.is_finite() or value != value.to_integral_value():
                value = float(value) if not self.pg or not value.is_finite() else value
            else:
                value = int(value)
        if isinstance(value, int) and abs(value) >= 2**63:
            raise self.error(f"the number {short(str(value), 30)} is too large for a row scope")
        if isinstance(value, float) and math.isfinite(value):
            if abs(value) >= 2**53:
                raise self.error(f"the number {value!r} is too large to compare exactly")
            return Decimal(repr(value)) if self.pg else value
        return value if isinstance(value, (int, float, Decimal)) else None

    def within(self, operand: Operand, column: ColumnElement, container: Any) -> _Sql:
        """``record.x in container``: the evaluator compares with == item by item."""
        if container is None:
            return False
        if isinstance(container, str):
            if operand.sql_type != "text":
                raise self.error(f"{operand.label} is not text and cannot be found in a text")
            return and_(column.is_not(None), self.position(literal(container), column) > 0)
        if not isinstance(container, (list, tuple, set, frozenset, Mapping)):
            raise self.error(f"'in' needs a text or a list on its right, not {_kind(container)}")
        if len(container) > MAX_LIST_ITEMS:
            raise self.error(f"lists in row scopes hold at most {MAX_LIST_ITEMS} values")
        if operand.sql_type == "boolean":
            return self.each_value(column, lambda b: self.python("in", b, container))
        values = []
        for item in container:
            if operand.sql_type == "number":
                bound = self.number(item)
                ok = bound is not None and not (isinstance(bound, float) and math.isinf(bound))
            elif operand.sql_type == "text":
                bound, ok = item, isinstance(item, str)
            else:  # plain ==: only time-zoned datetimes equal a created_at
                ok = isinstance(item, datetime) and item.tzinfo is not None
                bound = self.instant(item) if ok else None
            if ok and bound == bound and bound not in values:  # NaN equals nothing
                values.append(bound)
        clauses = [column.is_(None)] if any(item is None for item in container) else []
        if values:
            clauses.append(and_(column.is_not(None), column.in_(values)))
        return or_(*clauses) if clauses else False

    def has(self, operand: Operand, column: ColumnElement, value: Any) -> _Sql:
        """``value in record.x``: a substring of a text field, or an option of a multi-select."""
        if operand.sql_type == "text":
            if value is None:
                return False
            if not isinstance(value, str):
                raise self.error(f"only text can be found in {operand.label}, not {_kind(value)}")
            return and_(column.is_not(None), self.position(column, literal(value)) > 0)
        if isinstance(value, (bool, int, float, Decimal)):
            value = self.number(value)
            if isinstance(value, Decimal):
                value = int(value) if value == value.to_integral_value() else float(value)
            if not math.isfinite(value):
                return False
            # Python's == makes 1, 1.0 and True one option; JSONB containment does not.
            candidates = [value, bool(value)] if value in (0, 1) else [value]
        elif value is None or isinstance(value, str):
            candidates = [value]
        else:
            return False
        assert operand.field is not None
        path = operand.field.path.split(".")
        if self.pg:
            array = Record.data.op("#>")(literal_column("'{" + ",".join(path) + "}'"))
            contains = [
                func.coalesce(array.op("@>", return_type=Boolean)(literal([c], JSONB)), false())
                for c in candidates
            ]
            return or_(*contains)
        each = func.json_each(Record.data, literal_column(f"'$.{'.'.join(path)}'"))
        items = each.table_valued("value", "type")
        found = items.c.type == "null" if value is None else items.c.value == candidates[0]
        return exists(select(1).select_from(items).where(found))

    def position(self, haystack: ColumnElement, needle: ColumnElement) -> ColumnElement:
        return func.strpos(haystack, needle) if self.pg else func.instr(haystack, needle)


def _kind(value: Any) -> str:
    return f"a value of type {type(value).__name__}"


def to_sql(built: _Sql) -> ColumnElement:
    if isinstance(built, bool):
        return true() if built else false()
    return built
