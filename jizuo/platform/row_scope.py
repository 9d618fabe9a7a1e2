"""Row scopes: which records of an entity a role may see, written in the expression language.

A scope reads ``record`` (the record's fields and system columns) and ``user`` (the acting
user, known per request)::

    record.created_by == user.id
    record.supplier in user.suppliers or user.has_role('QE')
    'major' in record.tags and not (record.qty_rejected < 10)

Listings apply the scope in SQL (:meth:`RowScope.clause`, never by loading rows); writes check
one record in Python (:meth:`RowScope.matches`). Both must give the same answer, so the SQL
follows the evaluator's rules:

* each part that does not read ``record`` is evaluated in Python per request and bound as a
  value (``user.suppliers``, ``user.has_role('QE')``, ``today()``);
* every atomic predicate is two-valued (never SQL NULL), so ``not`` behaves as in Python:
  ``not (record.qty < 5)`` holds for an empty ``qty``;
* ``== None``/``!= None`` are IS NULL/IS NOT NULL; ``< <= > >=`` with an empty side are false;
  a value of another type than the field is unequal (``record.qty == 'x'`` is false);
* text orders by code point (``COLLATE "C"`` on PostgreSQL), as Python's ``str`` does;
* ``created_at``/``updated_at`` compare with a date (or ISO date text) by their UTC day and with
  a time-zoned date-time by the instant; :func:`record_names` gives them in UTC.

Refused when the scope is saved (:func:`compile_scope`, :class:`ScopeError`): names other than
``record``/``user``, unknown fields, two record fields in one comparison, calls, arithmetic or
indexing on record fields, chained comparisons, child-table fields, whole multi-select or group
fields (except against ``None``). Refused per request with ExpressionError, as the evaluator
would fail on a non-empty field (callers fail closed): ordering a field against a value of
another type, date objects against text fields, integers beyond ±2**63 and floats beyond ±2**53
(SQL cannot compare those exactly with stored numbers), lists over ``MAX_LIST_ITEMS`` values.
Multi-select options are taken to be scalars (text, numbers, yes/no), as the designer's enums are.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NoReturn

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
from jizuo.platform.expression_errors import short, suggest
from jizuo.platform.expressions import (
    Expression,
    ExpressionError,
    check_expression,
    evaluate,
    parse_expression,
)
from jizuo.platform.metadata import CONTEXT_NAMES, EntityDefinition, Field
from jizuo.platform.models import Record
from jizuo.platform.query import SYSTEM_COLUMNS, SYSTEM_TYPES, field_sql

MAX_LIST_ITEMS = 10_000
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SQL_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
_KINDS = {"array": "multi-select", "object": "group"}
_Sql = bool | ColumnElement


class ScopeError(ExpressionError):
    """A row scope refused when it is saved; the reason says which part and why."""


@dataclass(frozen=True)
class _Operand:
    """``record.<name>``: a system column (field None) or a top-level or group data field."""

    label: str
    sql_type: str  # number, text, boolean, datetime, array or object
    field: Field | None = None

    def sql(self, dialect: str) -> ColumnElement:
        if self.field is None:
            return SYSTEM_COLUMNS[self.label.removeprefix("record.")]
        return field_sql(dialect, self.field)


@dataclass(frozen=True)
class _Node:
    """A condition: and/or/not/if of conditions, a value's truth, a field's truth or a test."""

    kind: str  # and, or, not, if, value, truth, compare
    parts: tuple[_Node, ...] = ()
    op: str = ""  # == != < <= > >=, 'in' (record.x in value), 'has' (value in record.x)
    operand: _Operand | None = None
    value: str = ""  # source text of the part evaluated in Python


def _reads_record(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "record" for n in ast.walk(node))


class _Checker:
    """Turns a vetted tree into conditions, refusing what SQL cannot answer like Python."""

    def __init__(self, source: str, definition: EntityDefinition) -> None:
        self.source, self.definition = source, definition

    def refuse(self, reason: str) -> NoReturn:
        raise ScopeError(self.source, reason)

    def value(self, node: ast.expr) -> str:
        text = ast.unparse(node)
        try:
            parse_expression(text)
        except ExpressionError as exc:
            self.refuse(exc.reason)
        return text

    def condition(self, node: ast.expr) -> _Node:
        if not _reads_record(node):
            return _Node("value", value=self.value(node))
        if isinstance(node, ast.BoolOp):
            kind = "and" if isinstance(node.op, ast.And) else "or"
            return _Node(kind, tuple(self.condition(v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return _Node("not", (self.condition(node.operand),))
        if isinstance(node, ast.IfExp):
            return _Node("if", tuple(map(self.condition, (node.test, node.body, node.orelse))))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        operand = self.operand(node)
        if operand.sql_type in _KINDS:
            self.refuse(
                f"{operand.label} is a {_KINDS[operand.sql_type]} field, not a condition: "
                f"write {operand.label} != None, or test an option with 'in'"
            )
        return _Node("truth", operand=operand)

    def operand(self, node: ast.expr) -> _Operand:
        parts, base = [], node
        while isinstance(base, ast.Attribute):
            parts.insert(0, base.attr)
            base = base.value
        if not (isinstance(base, ast.Name) and base.id == "record"):
            self.refuse(
                f"{short(ast.unparse(node), 60)!r} is not supported in row scopes: only plain "
                "record fields can be compared, not calls, arithmetic or indexing on them, "
                "because the scope runs as SQL"
            )
        if not parts:
            self.refuse("'record' as a whole cannot be compared: name a field (record.<field>)")
        label = "record." + ".".join(parts)
        if len(parts) == 1 and parts[0] in SYSTEM_COLUMNS:
            return _Operand(label, SYSTEM_TYPES.get(parts[0], "number"))
        fields, found = self.definition.fields, None
        for i, part in enumerate(parts):
            if found is not None and found.kind != "object":
                self.refuse(f"record.{found.path} has no fields (its kind is {found.kind})")
            found = fields.get(part)
            if found is None:
                known = [*fields, *SYSTEM_COLUMNS] if i == 0 else fields
                where = "record" if i == 0 else f"record.{'.'.join(parts[:i])}"
                self.refuse(f"{where} has no field {part!r}" + suggest(part, known))
            if found.kind == "child_table":
                self.refuse(
                    f"record.{found.path} is a child table: row scopes cannot read child-table "
                    "rows (a scope compares one value per record)"
                )
            fields = found.children
        assert found is not None
        return _Operand(label, found.sql_type, found)

    def compare(self, node: ast.Compare) -> _Node:
        if len(node.ops) > 1:
            self.refuse("chained comparisons are not supported in row scopes: use 'and'")
        left, right, op = node.left, node.comparators[0], type(node.ops[0])
        if _reads_record(left) and _reads_record(right):
            first, second = self.operand(left), self.operand(right)
            self.refuse(
                f"{first.label} is compared with {second.label}: row scopes compare a record "
                "field with a value, not two record fields"
            )
        on_left = _reads_record(left)
        operand = self.operand(left if on_left else right)
        other = right if on_left else left
        none = isinstance(other, ast.Constant) and other.value is None
        if op in (ast.Is, ast.IsNot):
            if not none:
                self.refuse("'is' is supported only as 'is None' or 'is not None'; use ==")
            return _Node(
                "compare", op="==" if op is ast.Is else "!=", operand=operand, value="None"
            )
        if op in (ast.In, ast.NotIn):
            test = self.membership(operand, other, on_left)
            return test if op is ast.In else _Node("not", (test,))
        if operand.sql_type in _KINDS and not none:
            self.refuse(
                f"{operand.label} is a {_KINDS[operand.sql_type]} field: it can only be compared "
                f"with None as a whole (test one option with 'value in {operand.label}')"
            )
        symbol = _OPS[op] if on_left else _FLIPPED.get(_OPS[op], _OPS[op])
        return _Node("compare", op=symbol, operand=operand, value=self.value(other))

    def membership(self, operand: _Operand, other: ast.expr, on_left: bool) -> _Node:
        if on_left and operand.sql_type in _KINDS:
            self.refuse(
                f"{operand.label} is a {_KINDS[operand.sql_type]} field and cannot be looked up "
                f"in a list; test one option with 'value in {operand.label}'"
            )
        if not on_left and operand.sql_type not in ("text", "array"):
            self.refuse(
                f"'in' needs a text or multi-select field on its right, and {operand.label} is "
                f"{operand.field.kind if operand.field else operand.sql_type}"
            )
        op = "in" if on_left else "has"
        return _Node("compare", op=op, operand=operand, value=self.value(other))


class _Builder:
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

    def condition(self, node: _Node) -> _Sql:
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
            body, orelse = (_sql(self.condition(part)) for part in node.parts[1:])
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

    def truth(self, operand: _Operand, column: ColumnElement) -> _Sql:
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

    def compare(self, op: str, operand: _Operand, column: ColumnElement, value: Any) -> _Sql:
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

    def typed(self, operand: _Operand, column: ColumnElement, value: Any) -> tuple[Any, Any]:
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

    def within(self, operand: _Operand, column: ColumnElement, container: Any) -> _Sql:
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

    def has(self, operand: _Operand, column: ColumnElement, value: Any) -> _Sql:
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


def _sql(built: _Sql) -> ColumnElement:
    if isinstance(built, bool):
        return true() if built else false()
    return built


@dataclass(frozen=True)
class RowScope:
    """A checked row scope of one entity definition."""

    source: str
    definition: EntityDefinition = field(repr=False, compare=False)
    expression: Expression = field(repr=False, compare=False)
    root: _Node = field(repr=False, compare=False)

    def clause(self, dialect: str, user: Mapping[str, Any]) -> ColumnElement[bool]:
        """The WHERE clause for this user; ExpressionError when the user's values cannot be
        compared (a missing attribute, a value of the wrong type): callers fail closed."""
        return _sql(_Builder(self.source, dialect, user).condition(self.root))

    def matches(self, record: Mapping[str, Any], user: Mapping[str, Any]) -> bool:
        """Whether one record (see :func:`record_names`) is in scope, evaluated in Python."""
        return bool(evaluate(self.expression, {"record": record, "user": user}))


class _Same:
    """A cache key comparing a definition by identity (definitions are not hashable); the
    cache holds it, so its id cannot be reused by another definition meanwhile."""

    def __init__(self, definition: EntityDefinition) -> None:
        self.definition = definition

    def __hash__(self) -> int:
        return id(self.definition)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.definition is self.definition


def compile_scope(source: str, definition: EntityDefinition) -> RowScope:
    """Check a row scope when it is saved (ScopeError says what is unsupported); cached."""
    if not isinstance(source, str):
        raise ScopeError(short(repr(source)), "a row scope must be text")
    return _compile(source, _Same(definition))


@functools.lru_cache(maxsize=1_024)
def _compile(source: str, key: _Same) -> RowScope:
    try:
        expression = parse_expression(source)
        unknown = sorted(expression.names - CONTEXT_NAMES)
        if unknown:
            reason = f"unknown name {unknown[0]!r}" + suggest(unknown[0], CONTEXT_NAMES)
            raise ScopeError(source, f"{reason}: a row scope reads only 'record' and 'user'")
        check_expression(expression, CONTEXT_NAMES)
    except ScopeError:
        raise
    except ExpressionError as exc:
        raise ScopeError(source, exc.reason) from None
    tree = expression._tree
    assert tree is not None
    root = _Checker(source, key.definition).condition(tree)
    return RowScope(source, key.definition, expression, root)


def record_names(
    definition: EntityDefinition,
    data: Mapping[str, Any] | None,
    *,
    id: int | None = None,
    state: str | None = None,
    version: int | None = None,
    entity_version: int | None = None,
    created_at: datetime | None = None,
    created_by: int | None = None,
    updated_at: datetime | None = None,
    updated_by: int | None = None,
) -> dict[str, Any]:
    """The ``record`` of :meth:`RowScope.matches`: every field (None when absent, groups filled
    likewise, so a scope never fails on an unfilled field) and the system columns, whose
    date-times are given in UTC as the SQL compares them."""
    names = _filled(definition.fields, data)
    system = dict(id=id, state=state, version=version, entity_version=entity_version,
                  created_at=created_at, created_by=created_by, updated_at=updated_at,
                  updated_by=updated_by)  # fmt: skip
    for key, value in system.items():
        if isinstance(value, datetime):
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        names[key] = value
    return names


def stored_record_names(definition: EntityDefinition, record: Record) -> dict[str, Any]:
    """:func:`record_names` of a stored record."""
    return record_names(definition, record.data, **{k: getattr(record, k) for k in SYSTEM_COLUMNS})


def _filled(fields: Mapping[str, Field], data: Any) -> dict[str, Any]:
    values = data if isinstance(data, Mapping) else {}
    out = {}
    for key, f in fields.items():
        value = values.get(key)
        if f.kind == "object" and isinstance(value, Mapping):
            value = {**value, **_filled(f.children, value)}
        out[key] = value
    return out
