"""Turning the cells of an imported file into field values of the metadata language.

A cell is text (CSV) or a typed spreadsheet value (XLSX: numbers, dates, booleans). Each
field type accepts the forms people type or spreadsheets write:

* numbers with a decimal point or comma and thousands separators (``1,234.5``,
  ``1.234,5``, ``1 234,5``); with ``decimal_sign="auto"`` a lone comma followed by exactly
  three digits (``1,234``) is a thousands separator, any other lone comma a decimal sign;
* dates as ISO (``2026-11-25``), year first (``2026/11/25``, ``2026.11.25``,
  ``2026年11月25日``) or year last (``25.11.2026``, ``25/11/2026``): year-last dates are
  read in the import's ``date_order`` (day first unless told month first), never guessed;
* booleans as true/false, yes/no, y/n, 1/0, 是/否, ✓/✗;
* selects by option key or by their English or Chinese label; multi-selects split on
  ``;`` (or ``,`` when the cell has no ``;``);
* child tables and groups as JSON (what the CSV export writes).

References and users are looked up by ``import_lookups``; here they stay the cell's text.
A cell the CSV export protected against formula injection (``'=…``) gets its quote back off.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from jizuo.platform.metadata import Field

DATE_ORDERS = ("day_first", "month_first")
DECIMAL_SIGNS = ("auto", ".", ",")
#: What the CSV export puts a quote before (a spreadsheet would run it as a formula).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "真", "对", "✓", "x"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "假", "错", "✗"})
#: Characters people and spreadsheets group thousands with.
GROUPING = str.maketrans("", "", " \u00a0\u202f'_")

_YEAR_FIRST = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_YEAR_LAST = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")


class CellError(ValueError):
    """A cell that is not a value of its field's type; the message says what was expected."""


@dataclass(frozen=True)
class ValueRules:
    """How ambiguous cells are read in one import."""

    date_order: str = "day_first"
    decimal_sign: str = "auto"


def convert_cell(field: Field, cell: Any, rules: ValueRules) -> Any:
    """The value of ``field`` a cell holds; None for an empty cell; CellError if it is none.

    References and users come back as text, for the look-up by their key field."""
    if cell is None:
        return None
    if isinstance(cell, str):
        cell = _unprotect(cell.strip())
        if cell == "":
            return None
    kind = field.kind
    if kind in ("integer", "decimal", "measurement"):
        return _number(cell, rules, whole=field.schema.get("type") == "integer")
    if kind in ("reference", "user", "attachment") and field.schema.get("type") == "array":
        return [convert_cell(_single(field), part, rules) for part in _parts(cell)]
    if kind in ("reference", "user"):
        return _text(cell)  # the look-up reads it as its key field's type
    if kind == "attachment":
        return _number(cell, rules, whole=True)
    if kind == "boolean":
        return _boolean(cell)
    if kind == "date":
        return _date(cell, rules).isoformat()
    if kind == "datetime":
        return _datetime_text(cell, rules)
    if kind == "single_select":
        return match_option(field, field.schema["enum"], cell)
    if kind == "multi_select":
        return _options(field, cell)
    if kind in ("child_table", "object"):
        return _json(field, cell)
    return _text(cell)


def _unprotect(text: str) -> str:
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def _text(cell: Any) -> str:
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # a code a spreadsheet stored as a number: 1001, not 1001.0
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ", timespec="seconds")
    if isinstance(cell, date | time):
        return cell.isoformat()
    return str(cell)


# -- numbers ---------------------------------------------------------------------------


def parse_decimal(text: str, decimal_sign: str = "auto") -> Decimal:
    """A number written with a decimal point or comma and any thousands grouping."""
    raw = text.translate(GROUPING)
    sign = decimal_sign
    if sign == "auto":
        sign = _guess_decimal_sign(raw)
    grouping = "," if sign == "." else "."
    if raw.count(sign) > 1:
        raise CellError(f"'{text}' is not a number")
    raw = raw.replace(grouping, "").replace(sign, ".")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise CellError(f"'{text}' is not a number") from None
    if not number.is_finite():
        raise CellError(f"'{text}' is not a number")
    return number


def _guess_decimal_sign(raw: str) -> str:
    commas, points = raw.count(","), raw.count(".")
    if commas and points:
        return "." if raw.rfind(".") > raw.rfind(",") else ","
    if points > 1:
        return ","  # 1.234.567: points group thousands
    if commas == 1:
        whole, _, fraction = raw.partition(",")
        grouped = len(fraction) == 3 and fraction.isdigit() and whole.lstrip("+-").isdigit()
        return "." if grouped else ","
    return "."


def _number(cell: Any, rules: ValueRules, *, whole: bool) -> int | float:
    if isinstance(cell, bool) or isinstance(cell, date | time):
        raise CellError(f"'{_text(cell)}' is not a number")
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        number = Decimal(repr(cell))
    else:
        number = parse_decimal(str(cell), rules.decimal_sign)
    if whole:
        if number != number.to_integral_value():
            raise CellError(f"'{_text(cell)}' is not a whole number")
        return int(number)
    if number == number.to_integral_value() and "." not in str(number):
        return int(number)
    return float(number)


# -- booleans, dates and times -----------------------------------------------------------


def _boolean(cell: Any) -> bool:
    if isinstance(cell, bool):
        return cell
    word = _text(cell).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"'{_text(cell)}' is not yes or no (true/false, 1/0, 是/否)")


def _date(cell: Any, rules: ValueRules) -> date:
    if isinstance(cell, datetime):
        if cell.time() != time(0):
            raise CellError(f"'{_text(cell)}' has a time of day; the field holds a date")
        return cell.date()
    if isinstance(cell, date):
        return cell
    if not isinstance(cell, str):
        raise CellError(f"'{_text(cell)}' is not a date")
    text = cell.strip()
    day_part, _, rest = text.replace("T", " ", 1).partition(" ")
    if rest and _TIME.match(rest.strip()) and _clock(rest.strip()) == time(0):
        text = day_part  # '2026-11-25 00:00:00', as spreadsheets write a date into CSV
    return parse_date(text, rules.date_order)


def parse_date(text: str, date_order: str = "day_first") -> date:
    """A date written year first (ISO, 2026/11/25, 2026年11月25日) or year last in
    ``date_order`` (25.11.2026 day first, 11/25/2026 month first)."""
    found = _YEAR_FIRST.match(text)
    if found:
        year, month, day = (int(g) for g in found.groups())
        order = "year/month/day"
    else:
        found = _YEAR_LAST.match(text)
        if not found:
            raise CellError(f"'{text}' is not a date (use e.g. 2026-11-25)")
        first, second, year = (int(g) for g in found.groups())
        day, month = (first, second) if date_order == "day_first" else (second, first)
        order = "day/month/year" if date_order == "day_first" else "month/day/year"
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"'{text}' is not a date in {order} order") from None


def _clock(text: str) -> time:
    found = _TIME.match(text)
    if not found:
        raise CellError(f"'{text}' is not a time of day (use e.g. 08:30)")
    hour, minute, second, fraction = found.groups()
    try:
        return time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
    except ValueError:
        raise CellError(f"'{text}' is not a time of day") from None


def _datetime_text(cell: Any, rules: ValueRules) -> str:
    """ISO text without a zone unless the cell gave one, as the forms store it."""
    if isinstance(cell, datetime):
        return cell.isoformat(timespec="seconds")
    if isinstance(cell, date):
        return datetime.combine(cell, time(0)).isoformat(timespec="seconds")
    if not isinstance(cell, str):
        raise CellError(f"'{_text(cell)}' is not a date and time")
    text = cell.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.isoformat(timespec="seconds")
    except ValueError:
        pass
    day_part, _, clock = text.partition(" ")
    day = parse_date(day_part, rules.date_order)
    moment = datetime.combine(day, _clock(clock.strip()) if clock.strip() else time(0))
    return moment.isoformat(timespec="seconds")


# -- selects and JSON ------------------------------------------------------------------


def option_labels(field: Field) -> dict[str, Any]:
    """The ``x-enum-labels`` of a select (of its items for a multi-select)."""
    labels = field.schema.get("x-enum-labels", {})
    if field.kind == "multi_select":
        labels = field.schema.get("items", {}).get("x-enum-labels", labels)
    return labels


def match_option(field: Field, options: list[Any], cell: Any) -> Any:
    """The option a cell names by its key or by a label in any language (case-insensitive)."""
    text = _text(cell).strip()
    wanted = text.casefold()
    labels = option_labels(field)
    for option in options:
        if str(option) == text:
            return option
    for option in options:
        label = labels.get(str(option), {})
        names = label.values() if isinstance(label, dict) else [label]
        if str(option).casefold() == wanted or any(
            str(name).strip().casefold() == wanted for name in names
        ):
            return option
    raise CellError(f"'{text}' is not one of the options")


def _parts(cell: Any) -> list[str]:
    """The items of a list cell: split on ``;``, or on ``,`` when there is no ``;``."""
    text = _text(cell)
    parts = text.split(";") if ";" in text else text.split(",")
    return [part.strip() for part in parts if part.strip()]


def _single(field: Field) -> Field:
    """One item of a list of users or files, as a field of its own."""
    return Field(field.key, field.path, field.kind, {**field.schema, **field.schema["items"]})


def _options(field: Field, cell: Any) -> list[Any]:
    options = field.schema.get("items", {}).get("enum", [])
    return [match_option(field, options, part) for part in _parts(cell)]


def _json(field: Field, cell: Any) -> Any:
    wanted = list if field.kind == "child_table" else dict
    what = "a JSON list of rows" if wanted is list else "a JSON object"
    try:
        value = json.loads(cell) if isinstance(cell, str) else cell
    except ValueError:
        raise CellError(f"the cell is not {what}") from None
    if not isinstance(value, wanted):
        raise CellError(f"the cell is not {what}")
    return value
