"""Languages of the pages: where the translations live and locale-aware formatting.

The catalogs are plain files in the package (``jizuo/translations/<lang>/LC_MESSAGES``),
compiled ``.mo`` next to the ``.po``, so installing needs no build step. Update them with::

    pybabel extract -F babel.cfg -o /tmp/messages.pot jizuo
    pybabel update -i /tmp/messages.pot -d jizuo/translations
    pybabel compile -d jizuo/translations

(``tests/platform/test_i18n.py`` fails while a message lacks its translation or a ``.mo``
is older than its ``.po``.)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from flask import Flask
from flask_babel import format_date, format_datetime, get_locale

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
#: Enough fraction digits that a stored value is shown as it is, only grouped.
MOST_DIGITS = Decimal("1e-12")


def N_(message: str) -> str:  # noqa: N802 - the name the message extractor looks for
    """Mark a message for extraction without translating it (it is translated later)."""
    return message


#: Messages translated where they are used from a variable, so the extractor cannot see them.
DEFERRED_MESSAGES = (
    N_("Bad request"),
    N_("Sign-in required"),
    N_("Not allowed"),
    N_("Not found"),
    N_("Conflict"),
    N_("Not valid"),
    N_("Too many attempts"),
)


def number(value: Any, precision: int | None = None) -> str:
    """A number in the current locale (grouped, the locale's decimal sign); ``precision``
    fixes the fraction digits, else every stored digit is kept."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return "" if value is None else str(value)
    # Lists show many numbers: Python's own grouping is far faster than a CLDR pattern, and
    # rounds the same way (half to even, on the number as written).
    if isinstance(value, int):
        text = f"{value:,}" if not precision else f"{Decimal(value):,.{precision}f}"
    else:
        exact = value if isinstance(value, Decimal) else Decimal(repr(value))
        if not exact.is_finite():
            return str(value)
        if precision is not None:
            text = f"{exact.quantize(Decimal(1).scaleb(-precision), ROUND_HALF_EVEN):,f}"
        else:
            text = f"{exact.quantize(MOST_DIGITS, ROUND_HALF_EVEN):,f}"
            text = text.rstrip("0").rstrip(".") if "." in text else text
        if text.startswith("-") and text.strip("-0.,") == "":
            text = text[1:]  # no "-0"
    group, decimal = _separators(str(get_locale() or "en"))
    return (
        text
        if (group, decimal) == (",", ".")
        else text.translate({ord(","): group, ord("."): decimal})
    )


@lru_cache(maxsize=16)
def _separators(locale: str) -> tuple[str, str]:
    symbols = Locale.parse(locale).number_symbols.get("latn", {})
    return symbols.get("group", ","), symbols.get("decimal", ".")


def date_text(value: Any) -> str:
    """A date (or ISO date text) in the current locale."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "medium") if isinstance(value, date) else str(value or "")


def datetime_text(value: Any) -> str:
    """A date and time (or ISO date-time text) in the current locale."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return format_datetime(value, "medium")
    return str(value or "")


def init_app(app: Flask) -> None:
    """Point flask-babel at the package's catalogs and add the formatting filters."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["date"] = date_text
    app.jinja_env.filters["datetime"] = datetime_text
