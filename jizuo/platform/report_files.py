"""A report result as files — XLSX, PDF (table and chart), and its chart as SVG or PNG — and
the Vega-Lite spec of its chart, which report pages draw in the browser.

Every writer takes a :class:`ReportResult` the engine computed with the viewer's rights, so a
file shows exactly what the viewer may see; the titles, the totals row and the chart's labels
are in the viewer's language.
"""

from __future__ import annotations

import io
from typing import Any

from jizuo.platform.charts import chart_spec, export_chart
from jizuo.platform.columns import text_in
from jizuo.platform.errors import NotFound
from jizuo.platform.exports import write_xlsx
from jizuo.platform.report_pdf import report_pdf
from jizuo.platform.report_result import ReportResult


def report_chart(result: ReportResult) -> dict[str, Any] | None:
    """The report's chart config with each rule that names a measure placed at that measure's
    total; a rule whose total is unknown (no totals, an empty result) is left out."""
    if result.chart is None:
        return None
    rules = []
    for rule in result.chart.get("rules") or []:
        value = rule.get("value")
        if isinstance(value, str):
            value = (result.totals or {}).get(value)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
        rules.append({**rule, "value": value})
    return {**result.chart, "rules": rules}


def result_chart_spec(result: ReportResult, language: str) -> dict[str, Any] | None:
    """The Vega-Lite spec of the report's chart over its rows before any pivot (None when the
    report has no chart)."""
    chart = report_chart(result)
    if chart is None:
        return None
    return chart_spec(chart, result.long_columns, result.long_rows, language)


def report_title(result: ReportResult, language: str) -> str:
    """The report's title in ``language`` (its key when it has none)."""
    return text_in(result.title, language) or result.key


def report_xlsx(result: ReportResult, language: str) -> bytes:
    """The XLSX workbook of a result: one sheet, typed cells, the totals as its last row."""
    stream = io.BytesIO()
    write_xlsx(
        result.columns,
        result.table_rows(language),
        stream,
        locale=language,
        sheet_title=report_title(result, language),
    )
    return stream.getvalue()


def report_pdf_file(result: ReportResult, language: str) -> bytes:
    """The PDF of a result: title, chart (when it has one) and table with the totals."""
    return report_pdf(
        report_title(result, language),
        result.columns,
        result.table_rows(language),
        result_chart_spec(result, language),
        language,
    )


def _chart_file(fmt: str) -> Any:
    def write(result: ReportResult, language: str) -> bytes:
        spec = result_chart_spec(result, language)
        if spec is None:
            raise NotFound(
                f"Report '{result.app}.{result.key}' has no chart; download its table as CSV, "
                "XLSX or PDF."
            )
        return export_chart(spec, fmt)

    write.__name__ = f"report_{fmt}"
    write.__doc__ = f"The report's chart as {fmt.upper()} (NotFound when it has none)."
    return write


report_svg = _chart_file("svg")
report_png = _chart_file("png")
