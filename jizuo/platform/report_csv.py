"""A report result as CSV, through the platform's table writer (UTF-8 with a BOM, typed
cells, text never run as a formula): a header of column titles in the viewer's language, a
row per result row and the totals last."""

from __future__ import annotations

from jizuo.platform.exports import csv_chunks
from jizuo.platform.report_result import ReportResult


def report_csv(result: ReportResult, language: str) -> bytes:
    """The CSV document of a result, titles in ``language`` (en or zh)."""
    rows = result.table_rows(language)
    return b"".join(csv_chunks(result.columns, rows, locale=language))
