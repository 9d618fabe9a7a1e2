"""A report as PDF: its title, its chart (rendered by vl-convert) and its table over as many
pages as it takes, the header row repeated on each.

Chinese text needs a CJK font: Debian's ``fonts-noto-cjk`` (Noto Sans CJK SC) is used when
installed, else DejaVu Sans, else the PDF core font Helvetica, which shows only Latin-1
(other characters become '?').
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from itertools import islice
from typing import Any

from jizuo.platform.charts import export_chart
from jizuo.platform.columns import NUMERIC, Column, as_columns, language_of, translated
from jizuo.platform.i18n import N_

#: Rows a PDF shows at most (a longer table belongs in a spreadsheet).
PDF_MAX_ROWS = 5_000
#: (path, face name) of CJK fonts; a collection's face is found by its name.
CJK_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "WenQuanYi Micro Hei"),
)
UNICODE_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
WEIGHTS = {"text": 3.0, "integer": 1.3, "number": 1.6, "date": 1.7, "datetime": 2.6}
MORE_ROWS = N_("Only the first %(n)s rows are shown; export the report as XLSX for all of them.")
PAGE = N_("Page %(page)s of %(pages)s")
YES, NO = N_("yes"), N_("no")


@dataclass(frozen=True)
class PdfFont:
    """The font the PDF is set in: a file (and face of a collection), or a core font."""

    path: str | None
    face: int = 0
    cjk: bool = False


@cache
def pdf_font() -> PdfFont:
    """The best installed font for Chinese and Latin text (looked up once per process)."""
    for path, name in CJK_FONTS:
        if os.path.exists(path):
            return PdfFont(path, _face_index(path, name), cjk=True)
    for path in UNICODE_FONTS:
        if os.path.exists(path):
            return PdfFont(path)
    return PdfFont(None)


def _face_index(path: str, name: str) -> int:
    """The index of the face called ``name`` in a font collection (0 for a single font)."""
    if not path.endswith(".ttc"):
        return 0
    from fontTools.ttLib import TTCollection

    with TTCollection(path, lazy=True) as collection:
        for i, font in enumerate(collection.fonts):
            if font["name"].getDebugName(4) == name:
                return i
    return 0


def cell_text(column: Column, value: Any, locale: str) -> str:
    """A value as the PDF table shows it: numbers grouped per locale, dates in ISO form."""
    from babel.numbers import format_decimal

    if value is None:
        return ""
    if isinstance(value, bool):
        return translated(YES if value else NO, locale)
    if column.type in NUMERIC and isinstance(value, int | float | Decimal):
        pattern = "#,##0." + "#" * 6
        if column.precision is not None:
            pattern = "#,##0." + "0" * column.precision if column.precision > 0 else "#,##0"
        return format_decimal(value, format=pattern, locale=language_of(locale))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def report_pdf(
    title: str,
    columns: Iterable[Any],
    rows: Iterable[Mapping[str, Any]],
    chart_spec: Mapping[str, Any] | None,
    locale: str,
    *,
    max_rows: int = PDF_MAX_ROWS,
) -> bytes:
    """The PDF of a report: title, chart (when given) and table (at most ``max_rows`` rows)."""
    from fpdf import FPDF
    from fpdf.enums import TableCellFillMode, WrapMode
    from fpdf.fonts import FontFace

    columns = as_columns(columns)
    font = pdf_font()
    page_label = translated(PAGE, locale)

    class ReportDocument(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(family, size=8)
            label = page_label % {"page": self.page_no(), "pages": "{nb}"}
            self.cell(0, 8, _printable(label, font), align="C")

    landscape = len(columns) > 6
    pdf = ReportDocument(orientation="L" if landscape else "P", format="A4")
    pdf.set_title(title)
    pdf.set_creator("Jizuo")
    pdf.set_auto_page_break(True, margin=16)
    family = _use_font(pdf, font)
    pdf.add_page()
    pdf.set_font(family, size=16)
    pdf.multi_cell(0, 9, _printable(title, font), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    if chart_spec is not None:
        _chart(pdf, chart_spec)
    pdf.set_font(family, size=8)
    weights = [WEIGHTS.get(c.type, 1.0) for c in columns]
    taken = list(islice(rows, max_rows + 1))
    with pdf.table(
        col_widths=weights,
        width=pdf.epw,
        repeat_headings=1,
        wrapmode=WrapMode.CHAR if font.cjk else WrapMode.WORD,
        headings_style=FontFace(emphasis=None if font.path else "B", fill_color=(226, 232, 240)),
        cell_fill_color=(246, 248, 250),
        cell_fill_mode=TableCellFillMode.ROWS,
        line_height=4.5,
        text_align=["RIGHT" if c.type in NUMERIC else "LEFT" for c in columns],
    ) as table:
        header = table.row()
        for column in columns:
            header.cell(_printable(column.title_in(locale), font))
        for row in taken[:max_rows]:
            line = table.row()
            for column in columns:
                line.cell(_printable(cell_text(column, row.get(column.key), locale), font))
    if len(taken) > max_rows:
        pdf.ln(3)
        note = translated(MORE_ROWS, locale) % {"n": f"{max_rows:,}"}
        pdf.multi_cell(0, 5, _printable(note, font))
    return bytes(pdf.output())


def _use_font(pdf: Any, font: PdfFont) -> str:
    if font.path is None:
        return "helvetica"
    pdf.add_font("report", "", font.path, collection_font_number=font.face)
    return "report"


def _printable(text: str, font: PdfFont) -> str:
    """Text the font can show: the core font only has Latin-1."""
    if font.path is not None:
        return text
    return text.encode("latin-1", "replace").decode("latin-1")


def _chart(pdf: Any, spec: Mapping[str, Any]) -> None:
    """The chart as a PNG as wide as the page allows, on a new page if it does not fit."""
    from PIL import Image

    png = export_chart(spec, "png", scale=2.0)
    with Image.open(io.BytesIO(png)) as image:
        width_px, height_px = image.size
    width = min(pdf.epw, width_px / 2 * 0.2646)  # CSS pixels at 96 dpi, in mm
    height = width * height_px / width_px
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(png), x=pdf.l_margin + (pdf.epw - width) / 2, w=width, h=height)
    pdf.ln(4)
