"""The one expression language of the platform.

Used by form rules (``visible_if``, ``required_if``, ``readonly_if``), record validations,
computed fields (``x-formula``), workflow guards, automation conditions and row-level
permissions. The syntax is Python's expression syntax as far as ``simpleeval`` supports it,
restricted further here::

    qty_rejected * unit_cost
    source == 'customer' and severity in ['major', 'critical']
    sum_of(defects, 'count') <= qty_rejected
    record.created_by == user.id or user.has_role('QE')
    if_(qty > 0, round(rejected / qty * 100, 1), None)

Semantics (decisions every caller can rely on):

* **Empty values.** ``None`` is an empty field. Arithmetic (``+ - * / // % **``, unary ``-``)
  with an empty operand gives ``None`` (SQL-like), so a formula over an unfilled field is empty
  instead of failing the record write. ``==``/``!=`` compare normally; ``< <= > >=`` with an
  empty side are False; ``x in None`` is False. Division by zero is an error, not empty: guard it
  with ``if_(qty, total / qty, None)`` (``if_``/``iif`` only evaluate the chosen branch).
* **Fields.** ``a.b`` on a mapping (a record, the user) reads ``a["b"]``; a key that is missing is
  an error (a typo in a permission rule must not silently compare ``None == None``), a key whose
  value is ``None`` is empty; ``None.b`` is ``None`` (an empty reference field). ``a[k]`` indexes
  mappings, lists and text. Objects other than mappings have no readable attributes at all.
* **Calls.** ``f(...)`` calls a curated or registered function; otherwise a callable the caller
  passed in ``names``. ``user.has_role('QE')`` calls a callable stored under ``has_role`` in the
  ``user`` mapping. Methods of values (``'abc'.upper()``, ``name.upper()``) are refused: use
  ``upper(name)``. Function names live apart from variable names: a field called ``year`` does
  not hide the function ``year()`` and vice versa.
* **Dates** are ISO strings (see :mod:`jizuo.platform.expression_dates`); comparing a
  ``date``/``datetime`` object with an ISO string parses the string, and a datetime compared
  with a date compares its day.
* **Refused:** names, attributes and functions starting with ``_``; lambda, ``:=``,
  comprehensions, ``*``/``**`` unpacking, keyword arguments, bitwise operators, f-string format
  specifications and conversions, bytes/complex literals, calling anything but a name or a
  mapping field.
* **Limits** (checked before Python's parser sees deep input): at most ``MAX_SOURCE_LENGTH``
  characters, bracket nesting ``MAX_BRACKET_DEPTH``, syntax tree depth ``MAX_DEPTH`` and
  ``MAX_NODES`` nodes; results are bounded by the limits of ``expression_operators``. With no
  loops in the language, every evaluation is bounded by the tree size times those limits.

Parsing is cached (``parse_expression``); evaluation reuses per-thread evaluators, so
evaluating a cached expression costs a few microseconds.

The language is built in layers; each module imports only those listed before it:

* :mod:`~jizuo.platform.expression_operators` — limits, bounded operators, the text of values;
* :mod:`~jizuo.platform.expression_dates` and :mod:`~jizuo.platform.expression_functions` —
  the curated functions;
* :mod:`~jizuo.platform.expression_errors` — :class:`ExpressionError` and its messages;
* :mod:`~jizuo.platform.expression_registry` — the functions expressions may call;
* :mod:`~jizuo.platform.expression_evaluator` — the evaluator and its per-thread pool;
* :mod:`~jizuo.platform.expression_vetting` — from text to a vetted syntax tree;
* this module — the public face: parsing (cached), checking and evaluating.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .expression_errors import ExpressionError, describe, short, suggest
from .expression_evaluator import NO_NAMES, acquire, release
from .expression_registry import available_functions, register_function
from .expression_registry import functions as _functions
from .expression_vetting import (
    MAX_BRACKET_DEPTH,
    MAX_DEPTH,
    MAX_NODES,
    MAX_SOURCE_LENGTH,
    vetted_tree,
)

__all__ = [
    "MAX_BRACKET_DEPTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_SOURCE_LENGTH",
    "Expression",
    "ExpressionError",
    "available_functions",
    "check_expression",
    "evaluate",
    "parse_expression",
    "register_function",
]

_PARSE_CACHE_SIZE = 2_048


@dataclass(frozen=True)
class Expression:
    """A parsed and vetted expression; ``names`` are the variables it reads."""

    source: str
    names: frozenset[str]
    functions: frozenset[str] = frozenset()
    # The vetted syntax tree, set only by parse_expression (an Expression built by hand is
    # re-parsed from its source, so no unvetted tree can reach the evaluator).
    _tree: ast.expr | None = field(default=None, init=False, repr=False, compare=False)


def parse_expression(source: str) -> Expression:
    """Parse and vet an expression (cached); ExpressionError for syntax errors and refused parts."""
    if isinstance(source, Expression):
        return source
    if not isinstance(source, str):
        raise ExpressionError(
            short(repr(source)), f"an expression must be text, not {type(source).__name__}"
        )
    return _parse_cached(source)


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(source: str) -> Expression:
    """Parse once per distinct source text (errors are not cached, and are cheap to repeat)."""
    tree, names, calls = vetted_tree(source)
    expression = Expression(source, names, calls)
    object.__setattr__(expression, "_tree", tree)
    return expression


def evaluate(expression: str | Expression, names: Mapping[str, Any] | None = None) -> Any:
    """Evaluate with the given variables and the curated functions; raises ExpressionError."""
    parsed = parse_expression(expression)
    tree = parsed._tree
    if tree is None:
        parsed = _parse_cached(parsed.source)
        tree = parsed._tree
    if names is None:
        names = NO_NAMES
    elif not isinstance(names, Mapping):
        raise ExpressionError(parsed.source, f"names must be a mapping, not {type(names).__name__}")
    evaluator = acquire()
    evaluator.names = names
    try:
        return evaluator.eval(parsed.source, tree)
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(parsed.source, describe(exc)) from exc
    finally:
        evaluator.names = NO_NAMES
        release(evaluator)


def check_expression(source: str, known_names: Iterable[str]) -> Expression:
    """Parse, and refuse names neither in known_names nor functions (when a definition is saved)."""
    parsed = parse_expression(source)
    known = {known_names} if isinstance(known_names, str) else set(known_names)
    unknown = sorted(parsed.names - known)
    if unknown:
        if len(unknown) == 1:
            reason = f"unknown name {unknown[0]!r}" + suggest(unknown[0], known)
        else:
            reason = "unknown names " + ", ".join(repr(name) for name in unknown)
        raise ExpressionError(parsed.source, reason)
    missing = sorted(
        name for name in parsed.functions if name not in _functions and name not in known
    )
    if missing:
        reason = f"unknown function {missing[0]!r}" + suggest(missing[0], _functions)
        raise ExpressionError(parsed.source, reason)
    return parsed
