"""Limits and bounded operators of the expression language, and what its functions share.

* **Empty values.** The operators (``+ - * / // % **``, unary ``-``/``+``) give ``None`` when an
  operand is ``None`` (an empty field), so a formula over an unfilled field is empty.
* **Limits.** Results are bounded so that no expression can make the server allocate or compute
  without bound: text up to ``MAX_TEXT_LENGTH`` characters, lists up to ``MAX_ITEMS`` elements
  (counted deeply), integers up to ``MAX_INT_BITS`` bits.
* **Text of values** (:func:`to_text`, used by ``str``, ``concat`` and f-strings): an empty value
  is ``''`` and booleans are ``true``/``false`` (as JSON does); lists and mappings have no text
  form, so that no expression can turn a large value into an even larger text.

The operators and functions raise ``ValueError``/``TypeError`` with a plain message; the
evaluator turns them into ``ExpressionError`` naming the expression.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

MAX_TEXT_LENGTH = 100_000
MAX_ITEMS = 100_000
MAX_INT_BITS = 10_000
# Python's own int/str conversion limit; we apply it before Decimal to int conversions too.
MAX_INT_DIGITS = 4_300

SEQUENCES = (list, tuple)
CONTAINERS = (list, tuple, set, frozenset, dict)


def kind(value: Any) -> str:
    """Type of a value for error messages."""
    return "an empty value" if value is None else f"a {type(value).__name__}"


def to_text(value: Any) -> str:
    """Text of a scalar value; None is ''. Containers are refused (their text is unbounded)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    raise TypeError(f"expected a text, number or date, not {kind(value)}")


def builtin(
    table: dict[str, Callable[..., Any]], name: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: put a function in ``table`` under its public name (shown in its messages)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__name__ = name
        func.__qualname__ = name
        table[name] = func
        return func

    return decorate


# --------------------------------------------------------------------------------------------
# Sizes and bounded operators (used by the evaluator for + - * / // % **)


def value_size(value: Any, limit: int = MAX_ITEMS) -> int:
    """Deep size of a value (1 per element plus text lengths), counting stops past ``limit``."""
    # Iterative and stopping early so that huge or cyclic caller data costs at most O(limit).
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        total += 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (*CONTAINERS, Mapping)):
            if len(item) > limit:
                return limit + 1
            if isinstance(item, Mapping):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
        if total > limit:
            return total
    return total


def _harmonise(a: Any, b: Any) -> tuple[Any, Any]:
    """Make Decimal (from Numeric columns) and float operands compatible."""
    if isinstance(a, Decimal) and isinstance(b, float):
        return float(a), b
    if isinstance(b, Decimal) and isinstance(a, float):
        return a, float(b)
    return a, b


def _check_int(value: Any) -> Any:
    """Refuse integers above MAX_INT_BITS (their arithmetic is what makes 9**9**9 hang)."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ValueError(f"number too large (more than {MAX_INT_BITS} bits)")
    if isinstance(value, complex):
        raise ValueError("the result is not a real number")
    return value


def safe_add(a: Any, b: Any) -> Any:
    """``a + b`` with empty propagation and bounded text/list growth."""
    if a is None or b is None:
        return None
    if isinstance(a, str) and isinstance(b, str):
        if len(a) + len(b) > MAX_TEXT_LENGTH:
            raise ValueError(f"text too long (more than {MAX_TEXT_LENGTH} characters)")
        return a + b
    if isinstance(a, SEQUENCES) and isinstance(b, SEQUENCES):
        if value_size(a) + value_size(b) > MAX_ITEMS:
            raise ValueError(f"list too long (more than {MAX_ITEMS} items)")
        return a + b
    a, b = _harmonise(a, b)
    return _check_int(a + b)


def safe_sub(a: Any, b: Any) -> Any:
    """``a - b`` with empty propagation."""
    if a is None or b is None:
        return None
    a, b = _harmonise(a, b)
    return _check_int(a - b)


def _repeat(seq: Any, times: Any) -> Any:
    """``seq * times`` for text and lists, bounded by the deep size of the result."""
    if not isinstance(times, int):
        raise TypeError(f"can only repeat a text or list by a whole number, not {kind(times)}")
    count = max(times, 0)
    if isinstance(seq, str):
        if len(seq) * count > MAX_TEXT_LENGTH:
            raise ValueError(f"text too long (more than {MAX_TEXT_LENGTH} characters)")
    elif (value_size(seq) - 1) * count > MAX_ITEMS:
        raise ValueError(f"list too long (more than {MAX_ITEMS} items)")
    return seq * count


def safe_mul(a: Any, b: Any) -> Any:
    """``a * b`` with empty propagation, bounded repetition and bounded integers."""
    if a is None or b is None:
        return None
    if isinstance(a, (str, *SEQUENCES)):
        return _repeat(a, b)
    if isinstance(b, (str, *SEQUENCES)):
        return _repeat(b, a)
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise ValueError(f"number too large (more than {MAX_INT_BITS} bits)")
    a, b = _harmonise(a, b)
    return a * b


def safe_truediv(a: Any, b: Any) -> Any:
    """``a / b`` with empty propagation (division by zero is an error, not empty)."""
    if a is None or b is None:
        return None
    a, b = _harmonise(a, b)
    return a / b


def safe_floordiv(a: Any, b: Any) -> Any:
    """``a // b`` with empty propagation."""
    if a is None or b is None:
        return None
    a, b = _harmonise(a, b)
    return a // b


def safe_mod(a: Any, b: Any) -> Any:
    """``a % b`` on numbers only: ``'%999999999d' % 1`` would build a gigabyte of text."""
    if a is None or b is None:
        return None
    if isinstance(a, (str, bytes)):
        raise TypeError("the % operator works on numbers only")
    a, b = _harmonise(a, b)
    return a % b


def safe_pow(a: Any, b: Any) -> Any:
    """``a ** b`` with empty propagation, refusing results above MAX_INT_BITS before computing."""
    if a is None or b is None:
        return None
    a, b = _harmonise(a, b)
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        # The result has about b * log2|a| bits: refuse before Python spends minutes on it.
        if b * math.log2(abs(a)) > MAX_INT_BITS:
            raise ValueError(f"number too large ({a} ** {b})")
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        # Decimal powers are bounded by the decimal context (precision, Emax).
        return a**b
    return _check_int(a**b)


def neg(a: Any) -> Any:
    """``-a`` with empty propagation."""
    return None if a is None else -a


def pos(a: Any) -> Any:
    """``+a`` with empty propagation."""
    return None if a is None else +a
