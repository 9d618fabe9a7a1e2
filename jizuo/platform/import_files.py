"""Reading the rows of an imported CSV or XLSX file one at a time, never all at once.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030
(what Chinese Excel saves as CSV); the delimiter is the one of ``,`` ``;`` and tab that
splits the header into the most columns. XLSX: openpyxl in read-only mode, which parses
the sheet as it is read; the first sheet unless one is named.

Rows are numbered as a spreadsheet shows them (the header row is 1 unless ``header_row``
says otherwise), so errors point at the row a user sees. Blank rows are skipped.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jizuo.platform.errors import JizuoError, ValidationFailed, error

CSV_NAMES = (".csv", ".txt", ".tsv")
XLSX_NAMES = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t")
#: Bytes looked at to choose the encoding and the delimiter.
SAMPLE_BYTES = 256 * 1024
#: Longest header text kept (a header is a name, not a document).
MAX_HEADER = 200

csv.field_size_limit(16 * 1024 * 1024)  # a long text or a child table's JSON in one cell


class FileTooLarge(JizuoError):
    """An imported file with more bytes or rows than an import may have."""

    status = 413
    title = "Content too large"


def bad_file(message: str) -> ValidationFailed:
    """The error for a file that cannot be read as a table."""
    return ValidationFailed(message, errors=[error("/file", message, "file")])


def file_format(filename: str, head: bytes) -> str:
    """``csv`` or ``xlsx`` from the file's first bytes and name; refuses anything else."""
    name = (filename or "").lower()
    if head.startswith(b"PK\x03\x04"):
        if name.endswith(CSV_NAMES):
            raise bad_file("The file is named .csv but is a zip archive (an Excel workbook?).")
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise bad_file("Old Excel workbooks (.xls) cannot be read; save the file as .xlsx.")
    if name.endswith(XLSX_NAMES):
        raise bad_file("The file is named .xlsx but is not an Excel workbook.")
    if not name.endswith(CSV_NAMES) and name:
        raise bad_file("Import a CSV (.csv) or Excel (.xlsx) file.")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise bad_file("The file is not a CSV text file.")
    return "csv"


@dataclass
class Table:
    """The header and the data rows of one sheet of a file (open it with ``open_table``)."""

    headers: list[str]
    sheet_names: list[str]
    _rows: Iterator[tuple[int, list[Any]]]
    _close: Any

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) of every non-blank data row, in file order."""
        return self._rows

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_table(
    path: Path | str, filename: str, *, sheet: str | None = None, header_row: int = 1
) -> Table:
    """Open a stored import file; ValidationFailed if it is not a readable table."""
    with open(path, "rb") as probe:
        head = probe.read(SAMPLE_BYTES)
    if not head:
        raise bad_file("The file is empty.")
    kind = file_format(filename, head)
    opened = _open_csv(path, head) if kind == "csv" else _open_xlsx(path, sheet)
    rows, close, sheet_names = opened
    try:
        headers = _read_header(rows, header_row)
    except BaseException:
        close()
        raise
    numbered = ((number, cells) for number, cells in rows if _filled(cells))
    return Table(headers, sheet_names, numbered, close)


def _read_header(rows: Iterator[tuple[int, list[Any]]], header_row: int) -> list[str]:
    headers = None
    for number, cells in rows:
        if number == header_row:
            headers = [_header_text(cell) for cell in cells]
            break
    if headers is None:
        raise bad_file(f"The file has no row {header_row} to read the column names from.")
    while headers and headers[-1] == "":
        headers.pop()
    if not any(headers):
        raise bad_file(f"Row {header_row} holds no column names.")
    return _unique(headers)


def _header_text(cell: Any) -> str:
    text = "" if cell is None else " ".join(str(cell).split())
    return text[:MAX_HEADER]


def _unique(headers: list[str]) -> list[str]:
    """Repeated names get a number (``Notes``, ``Notes (2)``) so each column can be mapped."""
    seen: dict[str, int] = {}
    out = []
    for header in headers:
        if header == "":
            out.append("")
            continue
        seen[header] = seen.get(header, 0) + 1
        out.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return out


def _filled(cells: list[Any]) -> bool:
    return any(cell is not None and str(cell).strip() != "" for cell in cells)


# -- CSV -------------------------------------------------------------------------------


def csv_encoding(head: bytes) -> str:
    """The encoding of a CSV file from its first bytes: a BOM's, else UTF-8 if they are
    UTF-8, else GB18030."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # Final=False: the sample may end inside a character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def csv_delimiter(first_line: str) -> str:
    """The delimiter among , ; and tab that splits the header row into the most columns."""
    best, most = ",", 1
    for delimiter in DELIMITERS:
        count = len(next(csv.reader([first_line], delimiter=delimiter), []))
        if count > most:
            best, most = delimiter, count
    return best


def _open_csv(path: Path | str, head: bytes) -> tuple[Iterator, Any, list[str]]:
    encoding = csv_encoding(head)
    binary = open(path, "rb")  # noqa: SIM115 - closed by the Table
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    try:
        sample = head.decode(encoding, errors="ignore").lstrip("\ufeff")
        delimiter = csv_delimiter(sample.splitlines()[0] if sample else "")
    except BaseException:
        text.close()
        raise
    reader = csv.reader(text, delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 0
        try:
            for cells in reader:
                number += 1
                yield number, cells
        except UnicodeDecodeError:
            raise bad_file(
                f"Row {number + 1} is not valid {encoding} text; save the file as UTF-8 CSV."
            ) from None
        except csv.Error as exc:
            raise bad_file(f"Row {number + 1} cannot be read as CSV: {exc}.") from None

    return rows(), text.close, []


# -- XLSX ------------------------------------------------------------------------------


def _open_xlsx(path: Path | str, sheet: str | None) -> tuple[Iterator, Any, list[str]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, not the path: the stored file has no .xlsx name for openpyxl to check.
    handle = open(path, "rb")  # noqa: SIM115 - closed by the Table

    def close() -> None:
        book.close()
        handle.close()

    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        handle.close()
        raise bad_file(f"The workbook cannot be read: {exc}.") from None
    names = list(book.sheetnames)
    if sheet:
        if sheet not in names:
            close()
            raise ValidationFailed(
                f"The workbook has no sheet '{sheet}'.",
                errors=[error("/sheet", f"use one of: {', '.join(names)}", "sheet")],
            )
        worksheet = book[sheet]
    else:
        worksheet = book.worksheets[0]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)

    return rows(), close, names


def preview(
    path: Path | str, filename: str, *, sheet: str | None = None, header_row: int = 1, rows: int = 3
) -> tuple[Table, list[list[Any]]]:
    """The table's header and sheets, and its first data rows (the table is closed)."""
    with open_table(path, filename, sheet=sheet, header_row=header_row) as table:
        first = []
        for _number, cells in table.rows():
            first.append(cells)
            if len(first) >= rows:
                break
    return table, first
