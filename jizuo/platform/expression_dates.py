"""The date functions of the expression language.

Records store dates as ISO strings (``"2024-05-31"``), so the date functions accept
``date``/``datetime`` objects or ISO strings and *return ISO strings*: ``today()`` and ``date(x)``
give ``"YYYY-MM-DD"``, ``now()`` gives ``"YYYY-MM-DDTHH:MM:SS+00:00"`` (UTC), ``add_days`` keeps
a datetime's time. ISO date strings compare correctly as text, and the evaluator also compares a
date object with an ISO string by parsing the string (:func:`parse_iso`).
``today()``/``now()`` are in UTC. An empty value (``None`` or blank text) gives ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from .expression_operators import builtin, kind

_MAX_ISO_LENGTH = 64

DATE_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_builtin = partial(builtin, DATE_FUNCTIONS)


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
    raise TypeError(f"expected a date or an ISO date text, not {kind(value)}")


def _day(value: Any) -> date | None:
    """The calendar day of a date, datetime or ISO string."""
    parsed = to_date_value(value)
    if isinstance(parsed, datetime):
        return parsed.date()
    return parsed


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
    return None if day is None else day.isoformat()


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
    return (moment + timedelta(days=days)).isoformat()


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
