"""A report result as CSV: UTF-8 with a BOM (so spreadsheets read Chinese text), a header of
column titles in the viewer's language, a row per result row and the totals last."""

from __future__ import annotations

import csv
import io
from typing import Any

from jizuo.platform.report_result import ReportResult

TOTAL_LABEL = {"en": "Total", "zh": "合计"}
#: Cells starting with these would run as formulas in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One cell: numbers as they are, yes/no as true/false, text never as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def report_csv(result: ReportResult, language: str) -> str:
    """The CSV document of a result, titles in ``language`` (en or zh)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(column.title[language]) for column in result.columns])
    for row in result.rows:
        writer.writerow([csv_cell(row.get(column.key)) for column in result.columns])
    if result.totals is not None:
        cells = [csv_cell(result.totals.get(column.key)) for column in result.columns]
        if result.columns and result.columns[0].role != "measure":
            cells[0] = TOTAL_LABEL[language]
        writer.writerow(cells)
    return out.getvalue()
