"""The evaluator of the expression language: simpleeval's, with the language's rules.

It runs only trees that :mod:`jizuo.platform.expression_vetting` has accepted; the rules for
empty values, fields, calls and dates it applies are described in
:mod:`jizuo.platform.expressions`. Evaluators are pooled per thread (:func:`acquire`,
:func:`release`).
"""

from __future__ import annotations

import ast
import operator
import threading
import types
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from simpleeval import EvalWithCompoundTypes

from .expression_dates import parse_iso
from .expression_errors import ExpressionError, describe, short, suggest
from .expression_functions import LAZY_CONDITIONALS
from .expression_operators import (
    MAX_TEXT_LENGTH,
    kind,
    neg,
    pos,
    safe_add,
    safe_floordiv,
    safe_mod,
    safe_mul,
    safe_pow,
    safe_sub,
    safe_truediv,
    to_text,
)
from .expression_registry import callable_problem, functions, method_hint

_POOL_SIZE = 4

BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: safe_add,
    ast.Sub: safe_sub,
    ast.Mult: safe_mul,
    ast.Div: safe_truediv,
    ast.FloorDiv: safe_floordiv,
    ast.Mod: safe_mod,
    ast.Pow: safe_pow,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: neg,
    ast.UAdd: pos,
    ast.Not: operator.not_,
}
ORDER: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

NO_NAMES: Mapping[str, Any] = types.MappingProxyType({})
_IN_CONTAINERS = (str, list, tuple, set, frozenset, Mapping)


def _as_iso(value: str) -> Any:
    """An ISO string as a date/datetime for comparisons; the string itself if it is not one."""
    try:
        return parse_iso(value)
    except ValueError:
        return value


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Let date objects compare with ISO strings, and datetimes with dates (by their day)."""
    if isinstance(a, date) and isinstance(b, str):
        b = _as_iso(b)
    elif isinstance(b, date) and isinstance(a, str):
        a = _as_iso(a)
    if isinstance(a, date) and isinstance(b, date):
        if isinstance(a, datetime) and not isinstance(b, datetime):
            a = a.date()
        elif isinstance(b, datetime) and not isinstance(a, datetime):
            b = b.date()
    return a, b


def _compare(op: type[ast.cmpop], a: Any, b: Any) -> bool:
    """One comparison with the language's rules for empty values and dates."""
    if op is ast.Is:
        return a is b
    if op is ast.IsNot:
        return a is not b
    if op is ast.In or op is ast.NotIn:
        if b is None or (a is None and isinstance(b, str)):
            found = False
        elif isinstance(b, _IN_CONTAINERS):
            found = a in b
        else:
            raise TypeError(f"'in' needs a text or a list on its right, not {kind(b)}")
        return found if op is ast.In else not found
    a, b = _comparable(a, b)
    if op is ast.Eq:
        return bool(a == b)
    if op is ast.NotEq:
        return bool(a != b)
    if a is None or b is None:
        return False
    return bool(ORDER[op](a, b))


class Evaluator(EvalWithCompoundTypes):
    """simpleeval's evaluator with the node handlers that carry the language's rules."""

    def __init__(self) -> None:
        super().__init__(operators={}, functions={}, names={})
        # Shared registry: evaluators see functions registered after they were created.
        self.functions = functions
        # Comprehensions are refused when vetting; drop their handlers too.
        for node_type in (ast.ListComp, ast.GeneratorExp, ast.DictComp):
            self.nodes.pop(node_type, None)

    def _eval(self, node: ast.AST) -> Any:
        # simpleeval rescans every intermediate value for modules and forbidden functions,
        # which costs O(data) per node. Here no value can have its attributes read or be
        # called unless it is a mapping entry or a name checked by callable_problem, so the
        # scan is replaced by checks where caller values enter (_guard) and at calls.
        try:
            handler = self.nodes[type(node)]
        except KeyError:
            raise ExpressionError(self.expr, f"{type(node).__name__} is not allowed") from None
        return handler(node)

    def _guard(self, value: Any) -> Any:
        """Refuse modules coming from caller data."""
        if isinstance(value, types.ModuleType):
            raise ExpressionError(self.expr, "modules are not allowed in expressions")
        return value

    def _eval_name(self, node: ast.Name) -> Any:
        try:
            return self._guard(self.names[node.id])
        except KeyError:
            pass
        if node.id in self.functions:
            reason = f"{node.id!r} is a function: call it, as in {node.id}(...)"
        else:
            reason = f"unknown name {node.id!r}" + suggest(node.id, self.names)
        raise ExpressionError(self.expr, reason)

    def _field(self, base: Any, attr: str, owner: ast.expr) -> Any:
        """``base.attr``: a mapping key, None for an empty base, an error otherwise."""
        if base is None:
            return None
        if isinstance(base, Mapping):
            try:
                return self._guard(base[attr])
            except KeyError:
                shown = short(ast.unparse(owner), 60)
                reason = f"{shown!r} has no field {attr!r}" + suggest(attr, base)
                raise ExpressionError(self.expr, reason) from None
        hint = method_hint(attr, f"values like {kind(base)}", False)
        raise ExpressionError(self.expr, hint)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        return self._field(self._eval(node.value), node.attr, node.value)

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        base = self._eval(node.value)
        key = self._eval(node.slice)
        if base is None:
            return None
        if isinstance(base, Mapping):
            try:
                return self._guard(base[key])
            except KeyError:
                reason = f"no key {short(repr(key), 60)} in {short(ast.unparse(node.value), 60)!r}"
                raise ExpressionError(self.expr, reason) from None
        if isinstance(base, (str, list, tuple)):
            try:
                return self._guard(base[key])
            except IndexError:
                reason = f"index {key!r} is out of range (length {len(base)})"
                raise ExpressionError(self.expr, reason) from None
        raise ExpressionError(self.expr, f"cannot index {kind(base)}")

    def _eval_call(self, node: ast.Call) -> Any:
        target = node.func
        if type(target) is ast.Name:
            label = target.id
            func = self.functions.get(label)
            if label in LAZY_CONDITIONALS:
                return self._eval_conditional(node, label)
            if func is None:
                if label not in self.names:
                    reason = f"unknown function {label!r}" + suggest(label, self.functions)
                    raise ExpressionError(self.expr, reason)
                func = self._caller_callable(self.names[label], label)
        else:
            assert type(target) is ast.Attribute  # vetted: names and mapping fields only
            label = target.attr
            base = self._eval(target.value)
            if base is None:
                return None  # like a.b on an empty reference
            if not isinstance(base, Mapping):
                hint = method_hint(label, f"values like {kind(base)}", True)
                raise ExpressionError(self.expr, hint)
            func = self._caller_callable(self._field(base, label, target.value), label)
        args = [self._eval(arg) for arg in node.args]
        try:
            return self._guard(func(*args))
        except ExpressionError as exc:
            if exc.expression == self.expr:
                raise
            # Raised by a nested evaluation inside a caller's function: report it here.
            raise ExpressionError(self.expr, f"{label}() failed: {exc.message}") from exc
        except Exception as exc:
            reason = describe(exc)
            # Our functions and Python name themselves ("abs() takes 1 argument"); others not.
            if not reason.startswith(f"{label}()"):
                reason = f"{label}() failed: {reason}"
            raise ExpressionError(self.expr, reason) from exc

    def _caller_callable(self, value: Any, label: str) -> Callable[..., Any]:
        """A callable the caller supplied in names, checked before it is called."""
        problem = callable_problem(value)
        if problem:
            raise ExpressionError(self.expr, f"{label!r} cannot be called: {problem}")
        return value  # type: ignore[no-any-return]

    def _eval_conditional(self, node: ast.Call, label: str) -> Any:
        """``if_``/``iif``: evaluate only the branch chosen by the condition."""
        if len(node.args) != 3:
            reason = (
                f"{label}() takes 3 arguments (condition, then, otherwise), not {len(node.args)}"
            )
            raise ExpressionError(self.expr, reason)
        condition, then, otherwise = node.args
        return self._eval(then) if self._eval(condition) else self._eval(otherwise)

    def _eval_binop(self, node: ast.BinOp) -> Any:
        return BINARY[type(node.op)](self._eval(node.left), self._eval(node.right))

    def _eval_unaryop(self, node: ast.UnaryOp) -> Any:
        return UNARY[type(node.op)](self._eval(node.operand))

    def _eval_compare(self, node: ast.Compare) -> Any:
        left = self._eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._eval(comparator)
            if not _compare(type(op), left, right):
                return False
            left = right
        return True

    def _eval_joinedstr(self, node: ast.JoinedStr) -> str:
        pieces = []
        length = 0
        for part in node.values:
            piece = to_text(self._eval(part))
            length += len(piece)
            if length > MAX_TEXT_LENGTH:
                raise ExpressionError(self.expr, "text too long")
            pieces.append(piece)
        return "".join(pieces)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        return self._eval(node.value)


# Evaluators are reused (building one costs ~20 µs, more than evaluating a formula); one
# free list per thread, and a nested evaluate() (from a caller's function) takes another.
_pool = threading.local()


def acquire() -> Evaluator:
    """An idle evaluator of this thread, or a new one."""
    free: list[Evaluator] | None = getattr(_pool, "free", None)
    return free.pop() if free else Evaluator()


def release(evaluator: Evaluator) -> None:
    """Give an evaluator back to this thread's free list."""
    free: list[Evaluator] | None = getattr(_pool, "free", None)
    if free is None:
        free = _pool.free = []
    if len(free) < _POOL_SIZE:
        free.append(evaluator)
