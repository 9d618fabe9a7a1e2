"""Spreadsheet writers: CSV and XLSX of any table (columns + rows), streamed.

Rows come from an iterable and go to the stream as they come, so an export of 100 000
records never holds them all in memory: CSV is written a row at a time, XLSX through
openpyxl's write-only mode (rows spill to a temporary file until the workbook is saved).

Values keep their types: numbers as numbers, dates and times as spreadsheet dates with a
number format. Text that a spreadsheet would run as a formula (``=CMD()``) is neutralised
in CSV and stored as text in XLSX.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from jizuo.platform.columns import NUMERIC, Column, as_columns

#: Cells starting with these would run as formulas in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows an XLSX sheet holds, the header included.
XLSX_MAX_ROWS = 1_048_576
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
#: Control characters XLSX (XML 1.0) cannot hold.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CSV_FLUSH_ROWS = 500

#: A value as a cell: ``cell(column, value)``.
CellFunction = Callable[[Column, Any], Any]


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _as_datetime(value: Any) -> datetime | None:
    """A date-time in UTC without its zone (spreadsheets have none)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return None
    return None


# -- CSV ------------------------------------------------------------------------------------


def csv_value(column: Column, value: Any) -> Any:
    """One CSV cell: numbers as written, dates in ISO form, text never a formula."""
    if value is None or value == "":
        return ""
    if column.type in NUMERIC:
        number = _number(value)
        if number is not None:
            return number
    elif column.type == "date":
        day = _as_date(value)
        if day is not None:
            return day.isoformat()
    elif column.type == "datetime" and isinstance(value, datetime):
        return value.isoformat()
    text = _text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(
    columns: Iterable[Any], rows: Iterable[Mapping[str, Any]], *, locale: str = "en"
) -> Iterator[bytes]:
    """The CSV document in pieces of a few hundred rows: UTF-8 with a BOM (so spreadsheets
    read Chinese text), the header in ``locale``."""
    columns = as_columns(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([c.title_in(locale) for c in columns])
    pending = 0
    for row in rows:
        writer.writerow([csv_value(c, row.get(c.key)) for c in columns])
        pending += 1
        if pending >= CSV_FLUSH_ROWS:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


def write_csv(
    columns: Iterable[Any],
    rows: Iterable[Mapping[str, Any]],
    stream: BinaryIO,
    *,
    locale: str = "en",
) -> int:
    """Write the table as CSV to a binary stream; the number of rows written."""
    counted = _Counted(rows)
    for chunk in csv_chunks(columns, counted, locale=locale):
        stream.write(chunk)
    return counted.count


class _Counted:
    """Rows passed through, counted."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]):
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row


# -- XLSX -----------------------------------------------------------------------------------


def _display_width(text: str) -> int:
    """Width in spreadsheet characters: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def column_width(column: Column, title: str) -> float:
    """A column's width from its title and type (rows stream by, unseen, when it is set)."""
    by_type = {"date": 12, "datetime": 20, "integer": 10, "number": 12, "boolean": 8}
    return min(60, max(by_type.get(column.type, 18), _display_width(title) + 3))


def xlsx_value(column: Column, value: Any) -> tuple[Any, str | None]:
    """A cell's value and number format: numbers, dates and times typed; the rest as text."""
    if value is None or value == "":
        return None, None
    if column.type in NUMERIC:
        number = _number(value)
        if number is not None:
            if column.precision is not None:
                digits = "." + "0" * column.precision if column.precision > 0 else ""
                return number, f"#,##0{digits}"
            return number, None
    elif column.type == "date":
        day = _as_date(value)
        if day is not None:
            return day, DATE_FORMAT
    elif column.type == "datetime":
        moment = _as_datetime(value)
        if moment is not None:
            return moment, DATETIME_FORMAT
    elif column.type == "boolean" and isinstance(value, bool):
        return value, None
    return _ILLEGAL.sub("", _text(value)), None


def write_xlsx(
    columns: Iterable[Any],
    rows: Iterable[Mapping[str, Any]],
    stream: BinaryIO,
    *,
    locale: str = "en",
    sheet_title: str = "Export",
) -> int:
    """Write the table as an XLSX workbook to a binary stream; the number of rows written.

    One sheet, a bold frozen header in ``locale``, widths by title and type, typed cells.
    More rows than a sheet holds is an error (ValueError) before anything is saved."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = as_columns(columns)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(sheet_title))
    sheet.freeze_panes = "A2"
    titles = [c.title_in(locale) for c in columns]
    for i, (column, title) in enumerate(zip(columns, titles, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = column_width(column, title)
    bold = Font(bold=True)
    header = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", title))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        count += 1
        if count >= XLSX_MAX_ROWS:
            raise ValueError(f"An XLSX sheet holds at most {XLSX_MAX_ROWS - 1} rows.")
        cells = []
        for column in columns:
            value, number_format = xlsx_value(column, row.get(column.key))
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            if number_format:
                cell.number_format = number_format
            cells.append(cell)
        sheet.append(cells)
    book.save(stream)
    return count


def _sheet_title(title: str) -> str:
    """A valid sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31]
    return cleaned or "Export"
