"""From the text of an expression to a vetted syntax tree.

Vetting is a whitelist: every node of the tree must be one the language allows (the refusals
are listed in :mod:`jizuo.platform.expressions`). The limits are checked before Python's parser
sees deep input; parts made only of literals are evaluated once here, so that an expression that
would fail on every record (``9**9**9``) is refused when it is saved.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Mapping
from typing import Any

from .expression_errors import ExpressionError, describe
from .expression_evaluator import BINARY, ORDER, UNARY, acquire, release
from .expression_registry import method_hint

MAX_SOURCE_LENGTH = 2_000
MAX_BRACKET_DEPTH = 50
MAX_DEPTH = 100
MAX_NODES = 500

_COMPARISONS = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn, *ORDER)
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


def vetted_tree(source: str) -> tuple[ast.expr, frozenset[str], frozenset[str]]:
    """Parse and vet; return the tree, the variable names and the function names it uses."""
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
        raise ExpressionError(source, f"the expression cannot be parsed: {describe(exc)}") from None
    names, calls = _vet(source, tree.body)
    _check_constant_parts(source, tree.body)
    return tree.body, names, calls


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
                raise ExpressionError(source, method_hint(node.attr, "literal values", False))
            children.append(node.value)
        elif kind is ast.Subscript:
            children += [node.value, node.slice]
        elif kind is ast.Slice:
            children += [part for part in (node.lower, node.upper, node.step) if part is not None]
        elif kind is ast.BinOp or kind is ast.UnaryOp:
            table: Mapping[type[ast.AST], Any] = BINARY if kind is ast.BinOp else UNARY
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
                    hint = method_hint(node.func.attr, "literal values", True)
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
    evaluator = acquire()
    try:
        for part in found:
            try:
                evaluator.eval(source, part)
            except ExpressionError:
                raise
            except Exception as exc:
                raise ExpressionError(source, describe(exc)) from None
    finally:
        release(evaluator)
