"""Columns of tabular output (list exports, reports, charts): a key, a title and a type.

Writers and charts take plain columns and rows (dicts by column key), so anything that
produces a table — the record store, the report engine — can hand it on without the
writers knowing where it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import has_app_context
from flask_babel import force_locale, gettext

#: Column types: how a value is written (a number cell, a date cell…) and charted.
COLUMN_TYPES = ("text", "integer", "number", "date", "datetime", "boolean")
NUMERIC = ("integer", "number")
TEMPORAL = ("date", "datetime")
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Column:
    """One column: ``title`` is text or ``{"en": …, "zh": …}``; ``type`` one of COLUMN_TYPES."""

    key: str
    title: Any = None
    type: str = "text"
    #: Fraction digits of a number column (None: as stored).
    precision: int | None = None

    def title_in(self, locale: str) -> str:
        """The column's title in ``locale`` (its key when it has none)."""
        return text_in(self.title, locale) or self.key


def as_column(value: Any) -> Column:
    """A Column from a Column, a mapping or any object with ``key``, ``title``, ``type``."""
    if isinstance(value, Column):
        return value
    get = value.get if isinstance(value, Mapping) else lambda name: getattr(value, name, None)
    kind = get("type") or "text"
    return Column(
        key=str(get("key")),
        title=get("title"),
        type=kind if kind in COLUMN_TYPES else "text",
        precision=get("precision"),
    )


def as_columns(values: Iterable[Any]) -> list[Column]:
    """``as_column`` of each."""
    return [as_column(v) for v in values]


def text_in(value: Any, locale: str) -> str:
    """Metadata text (``{"en": …, "zh": …}`` or plain) in ``locale``, else English, else any."""
    if isinstance(value, Mapping):
        return str(value.get(locale) or value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def language_of(locale: str | None) -> str:
    """One of LANGUAGES for a locale such as ``zh_Hans_CN`` or ``en-US``."""
    lang = (locale or "en").replace("-", "_").split("_")[0].lower()
    return lang if lang in LANGUAGES else "en"


def translated(message: str, locale: str) -> str:
    """A UI message of the catalogs in ``locale`` (as is outside an application)."""
    if not has_app_context():
        return message
    with force_locale(language_of(locale)):
        return gettext(message)
