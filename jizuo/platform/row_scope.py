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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy.sql.elements import ColumnElement

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
from jizuo.platform.query import SYSTEM_COLUMNS, SYSTEM_TYPES
from jizuo.platform.row_scope_sql import ClauseBuilder, Condition, Operand, to_sql

_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_KINDS = {"array": "multi-select", "object": "group"}


class ScopeError(ExpressionError):
    """A row scope refused when it is saved; the reason says which part and why."""


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

    def condition(self, node: ast.expr) -> Condition:
        if not _reads_record(node):
            return Condition("value", value=self.value(node))
        if isinstance(node, ast.BoolOp):
            kind = "and" if isinstance(node.op, ast.And) else "or"
            return Condition(kind, tuple(self.condition(v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Condition("not", (self.condition(node.operand),))
        if isinstance(node, ast.IfExp):
            return Condition("if", tuple(map(self.condition, (node.test, node.body, node.orelse))))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        operand = self.operand(node)
        if operand.sql_type in _KINDS:
            self.refuse(
                f"{operand.label} is a {_KINDS[operand.sql_type]} field, not a condition: "
                f"write {operand.label} != None, or test an option with 'in'"
            )
        return Condition("truth", operand=operand)

    def operand(self, node: ast.expr) -> Operand:
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
            return Operand(label, SYSTEM_TYPES.get(parts[0], "number"))
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
        return Operand(label, found.sql_type, found)

    def compare(self, node: ast.Compare) -> Condition:
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
            return Condition(
                "compare", op="==" if op is ast.Is else "!=", operand=operand, value="None"
            )
        if op in (ast.In, ast.NotIn):
            test = self.membership(operand, other, on_left)
            return test if op is ast.In else Condition("not", (test,))
        if operand.sql_type in _KINDS and not none:
            self.refuse(
                f"{operand.label} is a {_KINDS[operand.sql_type]} field: it can only be compared "
                f"with None as a whole (test one option with 'value in {operand.label}')"
            )
        symbol = _OPS[op] if on_left else _FLIPPED.get(_OPS[op], _OPS[op])
        return Condition("compare", op=symbol, operand=operand, value=self.value(other))

    def membership(self, operand: Operand, other: ast.expr, on_left: bool) -> Condition:
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
        return Condition("compare", op=op, operand=operand, value=self.value(other))


@dataclass(frozen=True)
class RowScope:
    """A checked row scope of one entity definition."""

    source: str
    definition: EntityDefinition = field(repr=False, compare=False)
    expression: Expression = field(repr=False, compare=False)
    root: Condition = field(repr=False, compare=False)

    def clause(self, dialect: str, user: Mapping[str, Any]) -> ColumnElement[bool]:
        """The WHERE clause for this user; ExpressionError when the user's values cannot be
        compared (a missing attribute, a value of the wrong type): callers fail closed."""
        return to_sql(ClauseBuilder(self.source, dialect, user).condition(self.root))

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
