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
* **Dates** are ISO strings (see :mod:`jizuo.platform.expression_functions`); comparing a
  ``date``/``datetime`` object with an ISO string parses the string, and a datetime compared
  with a date compares its day.
* **Refused:** names, attributes and functions starting with ``_``; lambda, ``:=``,
  comprehensions, ``*``/``**`` unpacking, keyword arguments, bitwise operators, f-string format
  specifications and conversions, bytes/complex literals, calling anything but a name or a
  mapping field.
* **Limits** (checked before Python's parser sees deep input): at most ``MAX_SOURCE_LENGTH``
  characters, bracket nesting ``MAX_BRACKET_DEPTH``, syntax tree depth ``MAX_DEPTH`` and
  ``MAX_NODES`` nodes; results are bounded by the limits of ``expression_functions``. With no
  loops in the language, every evaluation is bounded by the tree size times those limits.

Parsing is cached (``parse_expression``); evaluation reuses per-thread evaluators, so
evaluating a cached expression costs a few microseconds.
"""

from __future__ import annotations

import ast
import decimal
import difflib
import functools
import keyword
import operator
import threading
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from simpleeval import DISALLOW_FUNCTIONS, DISALLOW_METHODS, EvalWithCompoundTypes

from . import expression_functions as fns

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

MAX_SOURCE_LENGTH = 2_000
MAX_BRACKET_DEPTH = 50
MAX_DEPTH = 100
MAX_NODES = 500
_PARSE_CACHE_SIZE = 2_048
_SHOWN_LENGTH = 120
_POOL_SIZE = 4


def _short(text: str, limit: int = _SHOWN_LENGTH) -> str:
    """Text cut to ``limit`` characters, so hostile input does not flood logs and screens."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ExpressionError(ValueError):
    """An expression that cannot be parsed, is refused, or failed to evaluate."""

    expression: str
    reason: str
    message: str

    def __init__(self, expression: str, reason: str) -> None:
        # Both arguments go to args so that the error survives pickling (job queues).
        super().__init__(expression, reason)
        self.expression = expression
        self.reason = reason
        self.message = f"{reason} in expression {_short(expression)!r}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Expression:
    """A parsed and vetted expression; ``names`` are the variables it reads."""

    source: str
    names: frozenset[str]
    functions: frozenset[str] = frozenset()
    # The vetted syntax tree, set only by parse_expression (an Expression built by hand is
    # re-parsed from its source, so no unvetted tree can reach the evaluator).
    _tree: ast.expr | None = field(default=None, init=False, repr=False, compare=False)


# --------------------------------------------------------------------------------------------
# Registry of functions

_functions: dict[str, Callable[..., Any]] = dict(fns.BUILTIN_FUNCTIONS)
_registry_lock = threading.Lock()


def register_function(name: str, func: Callable[..., Any]) -> None:
    """Add a function to the language; built-in names and names starting with '_' are refused."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a valid function name")
    if name.startswith("_"):
        raise ValueError(f"function names may not start with '_': {name!r}")
    if name in fns.BUILTIN_FUNCTIONS:
        raise ValueError(f"{name!r} is a built-in function of the expression language")
    problem = _callable_problem(func)
    if problem:
        raise ValueError(f"cannot register {name!r}: {problem}")
    with _registry_lock:
        current = _functions.get(name)
        if current is not None and current is not func:
            raise ValueError(f"a different function is already registered as {name!r}")
        _functions[name] = func


def available_functions() -> frozenset[str]:
    """Names of the curated and registered functions (for editors and documentation)."""
    return frozenset(_functions)


def _callable_problem(func: Any) -> str | None:
    """Why a value may not be called from an expression, or None if it may."""
    if not callable(func):
        return "it is not callable"
    if isinstance(func, (type, types.ModuleType)):
        return "classes and modules cannot be called"
    try:
        forbidden = func in DISALLOW_FUNCTIONS
    except TypeError:  # unhashable callables cannot be in the set
        forbidden = False
    # C functions of a module (builtins.__import__, os.system, posix.*) are never meant for
    # expressions, whatever a caller put in names; nor is str.format, whose format strings
    # read attributes ('{0.__class__}').
    if (
        forbidden
        or isinstance(getattr(func, "__self__", None), types.ModuleType)
        or getattr(func, "__name__", None) in DISALLOW_METHODS
    ):
        return "this function is not allowed in expressions"
    return None


# --------------------------------------------------------------------------------------------
# Parsing and vetting

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: fns.safe_add,
    ast.Sub: fns.safe_sub,
    ast.Mult: fns.safe_mul,
    ast.Div: fns.safe_truediv,
    ast.FloorDiv: fns.safe_floordiv,
    ast.Mod: fns.safe_mod,
    ast.Pow: fns.safe_pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: fns.neg,
    ast.UAdd: fns.pos,
    ast.Not: operator.not_,
}
_ORDER: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn, *_ORDER)
_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.BitXor: "'^' is not supported (use ** or pow() for powers)",
    ast.BitOr: "'|' is not supported (use 'or')",
    ast.BitAnd: "'&' is not supported (use 'and')",
    ast.LShift: "'<<' is not supported",
    ast.RShift: "'>>' is not supported",
    ast.MatMult: "'@' is not supported",
    ast.Invert: "'~' is not supported (use 'not')",
}
_COMPREHENSION = "comprehensions are not allowed (use sum_of(), count_of() and the aggregates)"
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions are not allowed",
    ast.NamedExpr: "assignments (:=) are not allowed",
    ast.ListComp: _COMPREHENSION,
    ast.SetComp: _COMPREHENSION,
    ast.DictComp: _COMPREHENSION,
    ast.GeneratorExp: _COMPREHENSION,
    ast.Starred: "* unpacking is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}
_CONSTANT_TYPES = (str, int, float, bool, type(None))
_LITERALS = (ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set)


def parse_expression(source: str) -> Expression:
    """Parse and vet an expression (cached); ExpressionError for syntax errors and refused parts."""
    if isinstance(source, Expression):
        return source
    if not isinstance(source, str):
        raise ExpressionError(
            _short(repr(source)), f"an expression must be text, not {type(source).__name__}"
        )
    return _parse_cached(source)


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(source: str) -> Expression:
    """Parse once per distinct source text (errors are not cached, and are cheap to repeat)."""
    text = source.strip()
    if not text:
        raise ExpressionError(source, "the expression is empty")
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            source,
            f"the expression is too long ({len(text)} characters, at most {MAX_SOURCE_LENGTH})",
        )
    _check_brackets(source, text)
    try:
        # Python warns about e.g. invalid escapes in literals; a warning must neither reach the
        # logs on every parse nor turn into an error where warnings are errors.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(source, f"syntax error: {exc.msg}{where}") from None
    except (ValueError, MemoryError, RecursionError, OverflowError) as exc:
        raise ExpressionError(
            source, f"the expression cannot be parsed: {_describe(exc)}"
        ) from None
    names, calls = _vet(source, tree.body)
    _check_constant_parts(source, tree.body)
    expression = Expression(source, names, calls)
    object.__setattr__(expression, "_tree", tree.body)
    return expression


def _check_brackets(source: str, text: str) -> None:
    """Refuse deep bracket nesting before Python's recursive parser sees it."""
    depth = 0
    for char in text:
        if char in "([{":
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                raise ExpressionError(
                    source, f"brackets are nested too deeply (more than {MAX_BRACKET_DEPTH} levels)"
                )
        elif char in ")]}":
            depth -= 1


def _check_identifier(source: str, name: str, what: str) -> None:
    """Refuse private and dunder identifiers, the usual way out of a sandbox."""
    if name.startswith("_"):
        raise ExpressionError(source, f"{what} starting with '_' are not allowed ({name!r})")


def _vet(source: str, body: ast.expr) -> tuple[frozenset[str], frozenset[str]]:
    """Check every node against the whitelist; return the variable names and function names."""
    names: set[str] = set()
    calls: set[str] = set()
    # Iterative walk: a recursive one could itself overflow on a deep (hostile) tree.
    stack: list[tuple[ast.AST, int]] = [(body, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(source, f"the expression is too complex (over {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ExpressionError(
                source, f"the expression is nested too deeply (over {MAX_DEPTH} levels)"
            )
        children: list[ast.AST] = []
        kind = type(node)
        if kind is ast.Constant:
            if not isinstance(node.value, _CONSTANT_TYPES):
                raise ExpressionError(
                    source, f"{type(node.value).__name__} literals are not supported"
                )
        elif kind is ast.Name:
            _check_identifier(source, node.id, "names")
            names.add(node.id)
        elif kind is ast.Attribute:
            _check_identifier(source, node.attr, "attributes")
            if isinstance(node.value, _LITERALS):
                raise ExpressionError(source, _method_hint(node.attr, "literal values", False))
            children.append(node.value)
        elif kind is ast.Subscript:
            children += [node.value, node.slice]
        elif kind is ast.Slice:
            children += [part for part in (node.lower, node.upper, node.step) if part is not None]
        elif kind is ast.BinOp or kind is ast.UnaryOp:
            table: Mapping[type[ast.AST], Any] = _BINARY if kind is ast.BinOp else _UNARY
            if type(node.op) not in table:
                reason = _REFUSED_OPERATORS.get(type(node.op), "this operator is not supported")
                raise ExpressionError(source, f"operator {reason}")
            children += [node.left, node.right] if kind is ast.BinOp else [node.operand]
        elif kind is ast.BoolOp:
            children += node.values
        elif kind is ast.Compare:
            if not all(isinstance(op, _COMPARISONS) for op in node.ops):
                raise ExpressionError(source, "this comparison is not supported")
            children += [node.left, *node.comparators]
        elif kind is ast.IfExp:
            children += [node.test, node.body, node.orelse]
        elif kind is ast.Call:
            if node.keywords:
                raise ExpressionError(source, "keyword arguments are not supported")
            if type(node.func) is ast.Name:
                _check_identifier(source, node.func.id, "functions")
                calls.add(node.func.id)
            elif type(node.func) is ast.Attribute:
                if isinstance(node.func.value, _LITERALS):
                    hint = _method_hint(node.func.attr, "literal values", True)
                    raise ExpressionError(source, hint)
                children.append(node.func)
            else:
                raise ExpressionError(source, "only functions can be called, by their name")
            children += node.args
        elif kind is ast.List or kind is ast.Tuple or kind is ast.Set:
            children += node.elts
        elif kind is ast.Dict:
            if any(key is None for key in node.keys):
                raise ExpressionError(source, "** unpacking is not allowed")
            children += [*node.keys, *node.values]
        elif kind is ast.JoinedStr:
            children += node.values
        elif kind is ast.FormattedValue:
            if node.conversion != -1:
                raise ExpressionError(
                    source, "conversions (!r, !s, !a) in f-strings are not allowed"
                )
            if node.format_spec is not None:
                raise ExpressionError(source, "format specifications in f-strings are not allowed")
            children.append(node.value)
        else:
            reason = _REFUSED_NODES.get(kind, f"{kind.__name__} is not allowed")
            raise ExpressionError(source, reason)
        stack.extend((child, depth + 1) for child in children)
    return frozenset(names), frozenset(calls)


# Nodes whose value is fixed when all their children's values are (no names, no calls).
_FOLDABLE = (
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.Subscript,
    ast.Slice,
    ast.JoinedStr,
    ast.FormattedValue,
)


def _constant_parts(node: ast.expr, found: list[ast.expr]) -> bool:
    """Whether ``node`` is constant; collects its largest constant parts into ``found``."""
    children = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
    constant = [_constant_parts(child, found) for child in children]
    if isinstance(node, _FOLDABLE) and all(constant):
        return True
    found.extend(
        child
        for child, is_constant in zip(children, constant, strict=True)
        if is_constant and not isinstance(child, ast.Constant)
    )
    return False


def _check_constant_parts(source: str, body: ast.expr) -> None:
    """Evaluate the parts made only of literals, so that '9**9**9' is refused when saved."""
    # They would fail on every record anyway; limits keep this as bounded as evaluation.
    # The walk is recursive, which is safe because _vet has bounded the depth.
    found: list[ast.expr] = []
    if _constant_parts(body, found) and not isinstance(body, ast.Constant):
        found.append(body)
    if not found:
        return
    evaluator = _acquire()
    try:
        for part in found:
            try:
                evaluator.eval(source, part)
            except ExpressionError:
                raise
            except Exception as exc:
                raise ExpressionError(source, _describe(exc)) from None
    finally:
        _release(evaluator)


def _method_hint(attr: str, owner: str, called: bool) -> str:
    """Message for reading or calling an attribute of a value that is not a mapping."""
    use = f"{attr}(value)" if attr in _functions else None
    if called:
        advice = f": write {use} instead of value.{attr}()" if use else ""
        return f"{owner} have no methods{advice}"
    advice = f" (to compute it, write {use})" if use else ""
    return f"{owner} have no fields ('.{attr}'), only records (mappings) have{advice}"


# --------------------------------------------------------------------------------------------
# Evaluation

_NO_NAMES: Mapping[str, Any] = types.MappingProxyType({})
_IN_CONTAINERS = (str, list, tuple, set, frozenset, Mapping)


def _describe(exc: BaseException) -> str:
    """A short human message for an exception raised while evaluating."""
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, (OverflowError, decimal.Overflow)):
        return "number too large"
    if isinstance(exc, decimal.DecimalException):
        return "invalid decimal operation"
    if isinstance(exc, RecursionError):
        return "too complex to evaluate"
    if isinstance(exc, MemoryError):
        return "result too large"
    return _short(str(exc) or type(exc).__name__, 200)


def _kind(value: Any) -> str:
    """Type of a value for messages."""
    return "an empty value" if value is None else f"a {type(value).__name__}"


def _suggest(name: str, candidates: Iterable[Any]) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    # list() of a dict is atomic, so a concurrent register_function cannot break the loop.
    keys = list(candidates) if isinstance(candidates, dict) else islice(candidates, 1_000)
    pool = [c for c in keys if isinstance(c, str)]
    close = difflib.get_close_matches(name, pool, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _as_iso(value: str) -> Any:
    """An ISO string as a date/datetime for comparisons; the string itself if it is not one."""
    try:
        return fns.parse_iso(value)
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


def _compare(kind: type[ast.cmpop], a: Any, b: Any) -> bool:
    """One comparison with the language's rules for empty values and dates."""
    if kind is ast.Is:
        return a is b
    if kind is ast.IsNot:
        return a is not b
    if kind is ast.In or kind is ast.NotIn:
        if b is None or (a is None and isinstance(b, str)):
            found = False
        elif isinstance(b, _IN_CONTAINERS):
            found = a in b
        else:
            raise TypeError(f"'in' needs a text or a list on its right, not {_kind(b)}")
        return found if kind is ast.In else not found
    a, b = _comparable(a, b)
    if kind is ast.Eq:
        return bool(a == b)
    if kind is ast.NotEq:
        return bool(a != b)
    if a is None or b is None:
        return False
    return bool(_ORDER[kind](a, b))


class _Evaluator(EvalWithCompoundTypes):
    """simpleeval's evaluator with the node handlers that carry the language's rules."""

    def __init__(self) -> None:
        super().__init__(operators={}, functions={}, names={})
        # Shared registry: evaluators see functions registered after they were created.
        self.functions = _functions
        # Comprehensions are refused when vetting; drop their handlers too.
        for kind in (ast.ListComp, ast.GeneratorExp, ast.DictComp):
            self.nodes.pop(kind, None)

    def _eval(self, node: ast.AST) -> Any:
        # simpleeval rescans every intermediate value for modules and forbidden functions,
        # which costs O(data) per node. Here no value can have its attributes read or be
        # called unless it is a mapping entry or a name checked by _callable_problem, so the
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
            reason = f"unknown name {node.id!r}" + _suggest(node.id, self.names)
        raise ExpressionError(self.expr, reason)

    def _field(self, base: Any, attr: str, owner: ast.expr) -> Any:
        """``base.attr``: a mapping key, None for an empty base, an error otherwise."""
        if base is None:
            return None
        if isinstance(base, Mapping):
            try:
                return self._guard(base[attr])
            except KeyError:
                shown = _short(ast.unparse(owner), 60)
                reason = f"{shown!r} has no field {attr!r}" + _suggest(attr, base)
                raise ExpressionError(self.expr, reason) from None
        hint = _method_hint(attr, f"values like {_kind(base)}", False)
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
                reason = (
                    f"no key {_short(repr(key), 60)} in {_short(ast.unparse(node.value), 60)!r}"
                )
                raise ExpressionError(self.expr, reason) from None
        if isinstance(base, (str, list, tuple)):
            try:
                return self._guard(base[key])
            except IndexError:
                reason = f"index {key!r} is out of range (length {len(base)})"
                raise ExpressionError(self.expr, reason) from None
        raise ExpressionError(self.expr, f"cannot index {_kind(base)}")

    def _eval_call(self, node: ast.Call) -> Any:
        target = node.func
        if type(target) is ast.Name:
            label = target.id
            func = self.functions.get(label)
            if label in fns.LAZY_CONDITIONALS:
                return self._eval_conditional(node, label)
            if func is None:
                if label not in self.names:
                    reason = f"unknown function {label!r}" + _suggest(label, self.functions)
                    raise ExpressionError(self.expr, reason)
                func = self._caller_callable(self.names[label], label)
        else:
            assert type(target) is ast.Attribute  # vetted: names and mapping fields only
            label = target.attr
            base = self._eval(target.value)
            if base is None:
                return None  # like a.b on an empty reference
            if not isinstance(base, Mapping):
                hint = _method_hint(label, f"values like {_kind(base)}", True)
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
            reason = _describe(exc)
            # Our functions and Python name themselves ("abs() takes 1 argument"); others not.
            if not reason.startswith(f"{label}()"):
                reason = f"{label}() failed: {reason}"
            raise ExpressionError(self.expr, reason) from exc

    def _caller_callable(self, value: Any, label: str) -> Callable[..., Any]:
        """A callable the caller supplied in names, checked before it is called."""
        problem = _callable_problem(value)
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
        return _BINARY[type(node.op)](self._eval(node.left), self._eval(node.right))

    def _eval_unaryop(self, node: ast.UnaryOp) -> Any:
        return _UNARY[type(node.op)](self._eval(node.operand))

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
            piece = fns.to_text(self._eval(part))
            length += len(piece)
            if length > fns.MAX_TEXT_LENGTH:
                raise ExpressionError(self.expr, "text too long")
            pieces.append(piece)
        return "".join(pieces)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        return self._eval(node.value)


# Evaluators are reused (building one costs ~20 µs, more than evaluating a formula); one
# free list per thread, and a nested evaluate() (from a caller's function) takes another.
_pool = threading.local()


def _acquire() -> _Evaluator:
    """An idle evaluator of this thread, or a new one."""
    free: list[_Evaluator] | None = getattr(_pool, "free", None)
    return free.pop() if free else _Evaluator()


def _release(evaluator: _Evaluator) -> None:
    """Give an evaluator back to this thread's free list."""
    free: list[_Evaluator] | None = getattr(_pool, "free", None)
    if free is None:
        free = _pool.free = []
    if len(free) < _POOL_SIZE:
        free.append(evaluator)


def evaluate(expression: str | Expression, names: Mapping[str, Any] | None = None) -> Any:
    """Evaluate with the given variables and the curated functions; raises ExpressionError."""
    parsed = parse_expression(expression)
    tree = parsed._tree
    if tree is None:
        parsed = _parse_cached(parsed.source)
        tree = parsed._tree
    if names is None:
        names = _NO_NAMES
    elif not isinstance(names, Mapping):
        raise ExpressionError(parsed.source, f"names must be a mapping, not {type(names).__name__}")
    evaluator = _acquire()
    evaluator.names = names
    try:
        return evaluator.eval(parsed.source, tree)
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(parsed.source, _describe(exc)) from exc
    finally:
        evaluator.names = _NO_NAMES
        _release(evaluator)


def check_expression(source: str, known_names: Iterable[str]) -> Expression:
    """Parse, and refuse names neither in known_names nor functions (when a definition is saved)."""
    parsed = parse_expression(source)
    known = {known_names} if isinstance(known_names, str) else set(known_names)
    unknown = sorted(parsed.names - known)
    if unknown:
        if len(unknown) == 1:
            reason = f"unknown name {unknown[0]!r}" + _suggest(unknown[0], known)
        else:
            reason = "unknown names " + ", ".join(repr(name) for name in unknown)
        raise ExpressionError(parsed.source, reason)
    missing = sorted(
        name for name in parsed.functions if name not in _functions and name not in known
    )
    if missing:
        reason = f"unknown function {missing[0]!r}" + _suggest(missing[0], _functions)
        raise ExpressionError(parsed.source, reason)
    return parsed
