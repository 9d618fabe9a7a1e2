"""The error of the expression language, and the short messages it carries."""

from __future__ import annotations

import decimal
import difflib
from collections.abc import Iterable
from itertools import islice
from typing import Any

_SHOWN_LENGTH = 120


def short(text: str, limit: int = _SHOWN_LENGTH) -> str:
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
        self.message = f"{reason} in expression {short(expression)!r}"

    def __str__(self) -> str:
        return self.message


def describe(exc: BaseException) -> str:
    """A short human message for an exception raised while parsing or evaluating."""
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
    return short(str(exc) or type(exc).__name__, 200)


def suggest(name: str, candidates: Iterable[Any]) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    # list() of a dict is atomic, so a concurrent register_function cannot break the loop.
    keys = list(candidates) if isinstance(candidates, dict) else islice(candidates, 1_000)
    pool = [c for c in keys if isinstance(c, str)]
    close = difflib.get_close_matches(name, pool, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
