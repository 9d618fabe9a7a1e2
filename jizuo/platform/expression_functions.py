"""The curated functions of the expression language: math, conversions, text, aggregates.

Conventions shared by every function (the date functions are in
:mod:`jizuo.platform.expression_dates`, the limits and the text of values in
:mod:`jizuo.platform.expression_operators`):

* **Empty values.** ``None`` is an empty field. Numeric and text functions of one value return
  ``None`` for ``None`` (``abs(None)``, ``upper(None)``); ``min``/``max``/``sum``/``avg`` and the
  ``*_of`` aggregates skip empty values; predicates (``contains``, ``startswith``...) are False.
* **Rounding.** ``round`` rounds half away from zero on the decimal value written
  (``round(2.675, 2) == 2.68``), as people on the shop floor expect, not Python's half-even.

Functions raise ``ValueError``/``TypeError`` with a plain message; the evaluator turns them into
``ExpressionError`` naming the expression and the function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import partial
from types import MappingProxyType
from typing import Any

from .expression_dates import DATE_FUNCTIONS
from .expression_operators import (
    CONTAINERS,
    MAX_INT_DIGITS,
    MAX_TEXT_LENGTH,
    SEQUENCES,
    builtin,
    kind,
    safe_pow,
    to_text,
)

MAX_ROUND_DIGITS = 15

BUILTIN: dict[str, Callable[..., Any]] = {}
_builtin = partial(builtin, BUILTIN)


def _number_or_none(value: Any, func: str) -> Any:
    """Check that a value is a number (or empty) for the numeric functions."""
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    raise TypeError(f"{func}() expects a number, not {kind(value)}")


def _bounded_decimal(value: Any) -> Any:
    """Refuse Decimals whose whole part would be a huge integer (NUMERIC allows 131072 digits)."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > MAX_INT_DIGITS:
        raise ValueError("number too large")
    return value


# Math


@_builtin("abs")
def abs_(x: Any) -> Any:
    """Absolute value."""
    x = _number_or_none(x, "abs")
    return None if x is None else abs(x)


@_builtin("round")
def round_(x: Any, ndigits: Any = None) -> Any:
    """Round half away from zero; an int without ``ndigits``, like Python."""
    x = _bounded_decimal(_number_or_none(x, "round"))
    if x is None:
        return None
    places = 0 if ndigits is None else ndigits
    if not isinstance(places, int) or abs(places) > MAX_ROUND_DIGITS:
        # Python's round(10, -10**18) computes 10**(10**18): keep the digits small.
        raise ValueError(
            f"round() digits must be a whole number between -15 and 15, not {places!r}"
        )
    if isinstance(x, float) and not math.isfinite(x):
        if ndigits is None:
            raise ValueError(f"cannot round {x} to a whole number")
        return x
    exact = Decimal(repr(x)) if isinstance(x, float) else Decimal(x)
    # Enough precision for the integer part and the kept decimals (floats have <= 309 digits).
    context = Context(prec=max(28, exact.adjusted() + abs(places) + 5))
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=context)
    if ndigits is None or (isinstance(x, int) and places <= 0):
        return int(rounded)
    if isinstance(x, int):
        return x
    if isinstance(x, Decimal):
        return rounded
    return float(rounded)


@_builtin("floor")
def floor(x: Any) -> Any:
    """Largest whole number not above ``x``."""
    x = _bounded_decimal(_number_or_none(x, "floor"))
    return None if x is None else math.floor(x)


@_builtin("ceil")
def ceil(x: Any) -> Any:
    """Smallest whole number not below ``x``."""
    x = _bounded_decimal(_number_or_none(x, "ceil"))
    return None if x is None else math.ceil(x)


@_builtin("sqrt")
def sqrt(x: Any) -> Any:
    """Square root (an error for negative numbers)."""
    x = _number_or_none(x, "sqrt")
    if x is None:
        return None
    if x < 0:
        raise ValueError(f"square root of a negative number ({x})")
    return math.sqrt(x)


@_builtin("pow")
def pow_(base: Any, exponent: Any) -> Any:
    """``base ** exponent``, bounded like the ``**`` operator."""
    return safe_pow(_number_or_none(base, "pow"), _number_or_none(exponent, "pow"))


def _flatten(args: Iterable[Any]) -> list[Any]:
    """Arguments, with list arguments spread one level, and empty values dropped."""
    values: list[Any] = []
    for arg in args:
        if isinstance(arg, SEQUENCES):
            values.extend(v for v in arg if v is not None)
        elif arg is not None:
            values.append(arg)
    return values


def _numbers(values: list[Any], func: str) -> list[Any]:
    """Check that all values are numbers, converting Decimals if floats are mixed in."""
    for value in values:
        if not isinstance(value, (int, float, Decimal)):
            raise TypeError(f"{func}() expects numbers, not {kind(value)}")
    if any(isinstance(v, float) for v in values) and any(isinstance(v, Decimal) for v in values):
        return [float(v) if isinstance(v, Decimal) else v for v in values]
    return values


@_builtin("min")
def min_(*args: Any) -> Any:
    """Smallest of the values (lists are spread, empty values skipped); None if none."""
    values = _flatten(args)
    return min(values) if values else None


@_builtin("max")
def max_(*args: Any) -> Any:
    """Largest of the values (lists are spread, empty values skipped); None if none."""
    values = _flatten(args)
    return max(values) if values else None


@_builtin("sum")
def sum_(*args: Any) -> Any:
    """Sum of the numbers (lists are spread, empty values skipped); 0 if none."""
    return sum(_numbers(_flatten(args), "sum"))


@_builtin("avg")
def avg(*args: Any) -> Any:
    """Mean of the numbers (lists are spread, empty values skipped); None if none."""
    values = _numbers(_flatten(args), "avg")
    return sum(values) / len(values) if values else None


# Conversions


@_builtin("len")
def len_(x: Any) -> int:
    """Length of a text or list; 0 for an empty value."""
    if x is None:
        return 0
    if isinstance(x, (str, *CONTAINERS)):
        return len(x)
    raise TypeError(f"len() expects a text or a list, not {kind(x)}")


@_builtin("int")
def int_(x: Any) -> Any:
    """Whole number from a number or text, truncating toward zero; None stays None."""
    if x is None:
        return None
    if isinstance(x, str):
        text = x.strip()
        if not text:
            return None
        if len(text) > MAX_INT_DIGITS:
            raise ValueError("number too long")
        try:
            exact = Decimal(text)
        except ArithmeticError:
            raise ValueError(f"{x!r} is not a number") from None
        if not exact.is_finite() or exact.adjusted() > MAX_INT_DIGITS:
            raise ValueError(f"{x!r} cannot be made a whole number")
        return int(exact)
    if isinstance(x, (int, float, Decimal)):
        return int(_bounded_decimal(x))
    raise TypeError(f"int() expects a number or a text, not {kind(x)}")


@_builtin("float")
def float_(x: Any) -> Any:
    """Decimal number from a number or text; None stays None."""
    if x is None:
        return None
    if isinstance(x, str):
        if not x.strip():
            return None
        return float(x.strip())
    if isinstance(x, (int, float, Decimal)):
        return float(x)
    raise TypeError(f"float() expects a number or a text, not {kind(x)}")


@_builtin("str")
def str_(x: Any) -> str:
    """Text of a value; '' for an empty value; booleans are 'true'/'false'."""
    return to_text(x)


@_builtin("bool")
def bool_(x: Any) -> bool:
    """Truth of a value: empty, 0, '' and empty lists are false."""
    return bool(x)


# Text


@_builtin("lower")
def lower(text: Any) -> Any:
    """Lower-case text; None stays None."""
    return None if text is None else to_text(text).lower()


@_builtin("upper")
def upper(text: Any) -> Any:
    """Upper-case text; None stays None."""
    return None if text is None else to_text(text).upper()


@_builtin("trim")
def trim(text: Any) -> Any:
    """Text without leading and trailing white space; None stays None."""
    return None if text is None else to_text(text).strip()


@_builtin("concat")
def concat(*parts: Any) -> str:
    """Join values as text; empty values count as ''."""
    pieces = []
    length = 0
    for part in parts:
        piece = to_text(part)
        length += len(piece)
        if length > MAX_TEXT_LENGTH:
            raise ValueError(f"text too long (more than {MAX_TEXT_LENGTH} characters)")
        pieces.append(piece)
    return "".join(pieces)


@_builtin("contains")
def contains(container: Any, item: Any) -> bool:
    """Substring test for text, membership test for lists; False for an empty value."""
    if container is None:
        return False
    if isinstance(container, str):
        return to_text(item) in container
    if isinstance(container, CONTAINERS):
        return item in container
    raise TypeError(f"contains() expects a text or a list, not {kind(container)}")


@_builtin("startswith")
def startswith(text: Any, prefix: Any) -> bool:
    """True if the text starts with the prefix; False for an empty value."""
    return text is not None and to_text(text).startswith(to_text(prefix))


@_builtin("endswith")
def endswith(text: Any, suffix: Any) -> bool:
    """True if the text ends with the suffix; False for an empty value."""
    return text is not None and to_text(text).endswith(to_text(suffix))


# Aggregates over child rows (lists of dicts)


def _rows(rows: Any, func: str) -> list[Mapping[str, Any]]:
    """Check a child table: a list of records; an empty value is no rows."""
    if rows is None:
        return []
    if not isinstance(rows, SEQUENCES):
        raise TypeError(f"{func}() expects a list of rows, not {kind(rows)}")
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"{func}() expects a list of rows (records), found {kind(row)}")
    return list(rows)


def _column(rows: Any, field: Any, func: str) -> list[Any]:
    """Non-empty values of one field of the rows (a missing field counts as empty)."""
    if not isinstance(field, str):
        raise TypeError(f"{func}() expects a field name as text, not {kind(field)}")
    values = []
    for row in _rows(rows, func):
        value = row.get(field)
        if value is not None and value != "":
            values.append(value)
    return values


@_builtin("sum_of")
def sum_of(rows: Any, field: Any) -> Any:
    """Sum of a field over child rows, skipping empty values; 0 for no rows."""
    return sum(_numbers(_column(rows, field, "sum_of"), "sum_of"))


@_builtin("min_of")
def min_of(rows: Any, field: Any) -> Any:
    """Smallest value of a field over child rows; None if there is none."""
    values = _column(rows, field, "min_of")
    return min(values) if values else None


@_builtin("max_of")
def max_of(rows: Any, field: Any) -> Any:
    """Largest value of a field over child rows; None if there is none."""
    values = _column(rows, field, "max_of")
    return max(values) if values else None


@_builtin("avg_of")
def avg_of(rows: Any, field: Any) -> Any:
    """Mean of a field over child rows, skipping empty values; None if there is none."""
    values = _numbers(_column(rows, field, "avg_of"), "avg_of")
    return sum(values) / len(values) if values else None


_ANY = object()


@_builtin("count_of")
def count_of(rows: Any, field: Any = None, value: Any = _ANY) -> int:
    """Rows: all of them, those where ``field`` is not empty, or those where it equals ``value``."""
    if field is None:
        return len(_rows(rows, "count_of"))
    if value is _ANY:
        return len(_column(rows, field, "count_of"))
    return sum(1 for v in _column(rows, field, "count_of") if v == value)


# Dates (in expression_dates)

BUILTIN.update(DATE_FUNCTIONS)


# Empty values and choices


@_builtin("coalesce")
def coalesce(*values: Any) -> Any:
    """First value that is neither None nor ''; None if there is none."""
    for value in values:
        if value is not None and value != "":
            return value
    return None


@_builtin("if_")
def if_(condition: Any, then: Any, otherwise: Any) -> Any:
    """``then`` if the condition is true, else ``otherwise`` (the evaluator only computes one)."""
    return then if condition else otherwise


BUILTIN["iif"] = if_


@_builtin("is_empty")
def is_empty(value: Any) -> bool:
    """True for None, blank text and empty lists; 0 and False are not empty."""
    if isinstance(value, CONTAINERS):
        return len(value) == 0
    return value is None or (isinstance(value, str) and not value.strip())


# Names the evaluator computes lazily: only the chosen branch is evaluated, so
# ``if_(qty > 0, total / qty, None)`` does not divide by zero.
LAZY_CONDITIONALS = frozenset({"if_", "iif"})

BUILTIN_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(BUILTIN)
