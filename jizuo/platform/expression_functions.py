"""The curated functions of the expression language, the safe operators and their limits.

Conventions shared by every function here:

* **Empty values.** ``None`` is an empty field. Numeric and text functions of one value return
  ``None`` for ``None`` (``abs(None)``, ``upper(None)``); ``min``/``max``/``sum``/``avg`` and the
  ``*_of`` aggregates skip empty values; predicates (``contains``, ``startswith``...) are False.
* **Dates.** Records store dates as ISO strings (``"2024-05-31"``), so the date functions accept
  ``date``/``datetime`` objects or ISO strings and *return ISO strings*: ``today()`` and
  ``date(x)`` give ``"YYYY-MM-DD"``, ``now()`` gives ``"YYYY-MM-DDTHH:MM:SS+00:00"`` (UTC),
  ``add_days`` keeps a datetime's time. ISO date strings compare correctly as text, and the
  evaluator also compares a date object with an ISO string by parsing the string.
  ``today()``/``now()`` are in UTC.
* **Text of values.** ``str``, ``concat`` and f-strings write an empty value as ``''`` and
  booleans as ``true``/``false`` (as JSON does); lists and mappings have no text form, so that no
  expression can turn a large value into an even larger text.
* **Rounding.** ``round`` rounds half away from zero on the decimal value written
  (``round(2.675, 2) == 2.68``), as people on the shop floor expect, not Python's half-even.
* **Limits.** Results are bounded so that no expression can make the server allocate or compute
  without bound: text up to ``MAX_TEXT_LENGTH`` characters, lists up to ``MAX_ITEMS`` elements
  (counted deeply), integers up to ``MAX_INT_BITS`` bits.

Functions raise ``ValueError``/``TypeError`` with a plain message; the evaluator turns them into
``ExpressionError`` naming the expression and the function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType
from typing import Any

MAX_TEXT_LENGTH = 100_000
MAX_ITEMS = 100_000
MAX_INT_BITS = 10_000
MAX_ROUND_DIGITS = 15
# Python's own int/str conversion limit; we apply it before Decimal to int conversions too.
MAX_INT_DIGITS = 4_300
_MAX_ISO_LENGTH = 64

_SEQUENCES = (list, tuple)
_CONTAINERS = (list, tuple, set, frozenset, dict)


def _empty_text(value: Any) -> bool:
    """True for None and for text that is blank."""
    return value is None or (isinstance(value, str) and not value.strip())


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
        elif isinstance(item, (*_CONTAINERS, Mapping)):
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
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
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
        raise TypeError(f"can only repeat a text or list by a whole number, not {_kind(times)}")
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
    if isinstance(a, (str, *_SEQUENCES)):
        return _repeat(a, b)
    if isinstance(b, (str, *_SEQUENCES)):
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
    result = a**b
    return _check_int(result)


def neg(a: Any) -> Any:
    """``-a`` with empty propagation."""
    return None if a is None else -a


def pos(a: Any) -> Any:
    """``+a`` with empty propagation."""
    return None if a is None else +a


# --------------------------------------------------------------------------------------------
# Conversions shared by the functions


def _kind(value: Any) -> str:
    """Name of a value's type for error messages."""
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
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"expected a text, number or date, not {_kind(value)}")


def _number_or_none(value: Any, func: str) -> Any:
    """Check that a value is a number (or empty) for the numeric functions."""
    if value is None or (isinstance(value, (int, float, Decimal))):
        return value
    raise TypeError(f"{func}() expects a number, not {_kind(value)}")


def _bounded_decimal(value: Any) -> Any:
    """Refuse Decimals whose whole part would be a huge integer (NUMERIC allows 131072 digits)."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > MAX_INT_DIGITS:
        raise ValueError("number too large")
    return value


def parse_iso(text: str) -> date | datetime:
    """Parse an ISO 8601 date (``YYYY-MM-DD``) or date-time string."""
    if not isinstance(text, str) or len(text) > _MAX_ISO_LENGTH:
        raise ValueError(f"{text!r} is not an ISO date")
    stripped = text.strip()
    try:
        if len(stripped) == 10:
            return date.fromisoformat(stripped)
        return datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date") from None


def to_date_value(value: Any) -> date | datetime | None:
    """A date or datetime from a date/datetime object or an ISO string; None stays None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_iso(value)
    raise TypeError(f"expected a date or an ISO date text, not {_kind(value)}")


def _day(value: Any) -> date | None:
    """The calendar day of a date, datetime or ISO string."""
    parsed = to_date_value(value)
    if isinstance(parsed, datetime):
        return parsed.date()
    return parsed


def _iso(value: date | datetime) -> str:
    """ISO text of a date or datetime, the form records store."""
    return value.isoformat()


# --------------------------------------------------------------------------------------------
# The functions

BUILTIN: dict[str, Callable[..., Any]] = {}


def _builtin(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function under its public name (which Python's own messages then show)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__name__ = name
        func.__qualname__ = name
        BUILTIN[name] = func
        return func

    return decorate


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
        if isinstance(arg, _SEQUENCES):
            values.extend(v for v in arg if v is not None)
        elif arg is not None:
            values.append(arg)
    return values


def _numbers(values: list[Any], func: str) -> list[Any]:
    """Check that all values are numbers, converting Decimals if floats are mixed in."""
    for value in values:
        if not isinstance(value, (int, float, Decimal)):
            raise TypeError(f"{func}() expects numbers, not {_kind(value)}")
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
    if isinstance(x, (str, *_CONTAINERS)):
        return len(x)
    raise TypeError(f"len() expects a text or a list, not {_kind(x)}")


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
    raise TypeError(f"int() expects a number or a text, not {_kind(x)}")


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
    raise TypeError(f"float() expects a number or a text, not {_kind(x)}")


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
    if isinstance(container, _CONTAINERS):
        return item in container
    raise TypeError(f"contains() expects a text or a list, not {_kind(container)}")


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
    if not isinstance(rows, _SEQUENCES):
        raise TypeError(f"{func}() expects a list of rows, not {_kind(rows)}")
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"{func}() expects a list of rows (records), found {_kind(row)}")
    return list(rows)


def _column(rows: Any, field: Any, func: str) -> list[Any]:
    """Non-empty values of one field of the rows (a missing field counts as empty)."""
    if not isinstance(field, str):
        raise TypeError(f"{func}() expects a field name as text, not {_kind(field)}")
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


# Dates


@_builtin("today")
def today() -> str:
    """Today's date in UTC as ``YYYY-MM-DD``."""
    return datetime.now(UTC).date().isoformat()


@_builtin("now")
def now() -> str:
    """The current UTC time as ISO text, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@_builtin("date")
def date_(value: Any) -> Any:
    """The ``YYYY-MM-DD`` day of a date, datetime or ISO text; None stays None."""
    day = _day(value)
    return None if day is None else _iso(day)


@_builtin("days_between")
def days_between(start: Any, end: Any) -> Any:
    """Whole calendar days from ``start`` to ``end`` (time of day ignored); None if empty."""
    first, last = _day(start), _day(end)
    if first is None or last is None:
        return None
    return (last - first).days


@_builtin("add_days")
def add_days(value: Any, days: Any) -> Any:
    """ISO text of the date (or datetime) ``days`` later; None if either is empty."""
    moment = to_date_value(value)
    if moment is None or days is None:
        return None
    if isinstance(days, float) and days.is_integer():
        days = int(days)
    if not isinstance(days, int):
        raise TypeError(f"add_days() expects a whole number of days, not {days!r}")
    return _iso(moment + timedelta(days=days))


@_builtin("year")
def year(value: Any) -> Any:
    """Year of a date; None stays None."""
    day = _day(value)
    return None if day is None else day.year


@_builtin("month")
def month(value: Any) -> Any:
    """Month (1-12) of a date; None stays None."""
    day = _day(value)
    return None if day is None else day.month


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
    if isinstance(value, _CONTAINERS):
        return len(value) == 0
    return _empty_text(value)


# Names the evaluator computes lazily: only the chosen branch is evaluated, so
# ``if_(qty > 0, total / qty, None)`` does not divide by zero.
LAZY_CONDITIONALS = frozenset({"if_", "iif"})

BUILTIN_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(BUILTIN)
