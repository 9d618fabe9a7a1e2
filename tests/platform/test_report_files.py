"""Report downloads: XLSX and PDF hold the figures of the JSON result (which the engine's tests
check against pandas), the chart as SVG and PNG, with the viewer's rights as for CSV."""

from __future__ import annotations

import io

import openpyxl
import pytest
from pypdf import PdfReader

from tests.report_plant import ReportPlant

URL = "/api/v1/apps/qms/reports"
BY_SUPPLIER = {
    "title": {"en": "Defects by supplier", "zh": "供应商缺陷"},
    "source": {"entity": "inspection"},
    "group_by": [{"field": "supplier.name", "key": "supplier"}],
    "measures": [
        {"key": "defects", "agg": "sum", "field": "defects.count",
         "title": {"en": "Defects", "zh": "缺陷数"}},
        {"key": "qty", "agg": "sum", "field": "qty_inspected", "title": "Inspected"},
        {"key": "mean", "agg": "avg", "field": "measured", "title": "Mean"},
    ],
    "totals": True,
    "chart": {"type": "bar", "x": "supplier", "y": "defects",
              "rules": [{"value": "mean", "label": "Mean"}, {"value": 5, "label": "Goal"}]},
}  # fmt: skip
TABLE_ONLY = {
    "title": "By result",
    "source": {"entity": "inspection"},
    "group_by": [{"field": "result"}],
    "measures": [{"key": "n", "agg": "count"}],
}


def page_text(page) -> str:  # noqa: ANN001
    """A page's text without spaces (a CJK font's text comes out as UTF-16 code units)."""
    return "".join(page.extract_text().replace("\x00", "").split())


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    plant = ReportPlant(session, n=80)
    plant.report("by_supplier", BY_SUPPLIER)
    plant.report("table_only", TABLE_ONLY)
    return plant


@pytest.fixture
def admin(plant):  # noqa: ANN001, ANN201
    return plant.person("ada", ("admin",))


def test_xlsx_holds_the_results_figures(plant, client, admin):  # noqa: ANN001
    body = client.get(f"{URL}/by_supplier", headers=admin).json
    response = client.get(f"{URL}/by_supplier.xlsx?lang=zh", headers=admin)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="qms-by_supplier.xlsx"' in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.active
    assert sheet.title == "供应商缺陷"
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0] == ["供应商", "缺陷数", "Inspected", "Mean"]
    expected = [[r["supplier"], r["defects"], r["qty"]] for r in body["rows"]]
    assert [row[:3] for row in table[1:-1]] == expected
    means = [r["mean"] for r in body["rows"]]
    assert [row[3] for row in table[1:-1]] == pytest.approx(means, rel=1e-14)  # 15 digits kept
    totals = body["totals"]
    assert table[-1] == ["合计", totals["defects"], totals["qty"], pytest.approx(totals["mean"])]
    assert isinstance(table[1][1], int) and isinstance(table[1][3], float)


def test_pdf_holds_the_table_and_the_chart(plant, client, admin):  # noqa: ANN001
    body = client.get(f"{URL}/by_supplier", headers=admin).json
    response = client.get(f"{URL}/by_supplier.pdf?lang=en", headers=admin)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    assert reader.metadata.title == "Defects by supplier"
    text = page_text(reader.pages[0])
    assert "Defectsbysupplier" in text and "Page1of1" in text
    for row in body["rows"]:
        assert f"{row['supplier'] or ''}{row['defects']}{row['qty']:,}" in text
    assert f"Total{body['totals']['defects']}{body['totals']['qty']:,}" in text
    assert reader.pages[0].images, "the chart is drawn as an image"


def test_svg_shows_the_bars_labels_and_rules_at_measure_totals(plant, client, admin):  # noqa: ANN001
    body = client.get(f"{URL}/by_supplier", headers=admin).json
    response = client.get(f"{URL}/by_supplier.svg", headers=admin)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.lstrip().startswith("<svg")
    for row in body["rows"]:
        if row["supplier"] is not None:
            assert f">{row['supplier']}</text>" in svg
    assert f"Mean {body['totals']['mean']}" in svg and "Goal 5" in svg


def test_png_of_the_chart(plant, client, admin):  # noqa: ANN001
    response = client.get(f"{URL}/by_supplier.png", headers=admin)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_report_without_a_chart_has_no_image_but_a_table(plant, client, admin):  # noqa: ANN001
    for fmt in ("svg", "png"):
        refused = client.get(f"{URL}/table_only.{fmt}", headers=admin)
        assert refused.status_code == 404
        assert refused.json["detail"].startswith("Report 'qms.table_only' has no chart")
    pdf = client.get(f"{URL}/table_only.pdf", headers=admin)
    reader = PdfReader(io.BytesIO(pdf.data))
    assert not reader.pages[0].images and "Byresult" in page_text(reader.pages[0])


def test_filters_narrow_the_files(plant, client, admin):  # noqa: ANN001
    response = client.get(f"{URL}/by_supplier.xlsx?supplier.name=Acme", headers=admin)
    table = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.values)
    assert [row[0] for row in table[1:]] == ["Acme", "Total"]
    expected = sum(
        d["qty_inspected"]
        for d in plant.inspections
        if plant.suppliers.get(d.get("supplier"), {}).get("name") == "Acme"
    )
    assert table[1][2] == expected == table[2][2]


@pytest.mark.parametrize("fmt", ["xlsx", "pdf", "svg", "png"])
def test_downloads_need_the_export_right_and_visible_fields(plant, client, fmt):  # noqa: ANN001
    plant.policy("qms", {"entities": {"*": {"inspector": {"actions": ["read"]}}}})
    plant.policy("erp", {"entities": {"*": {"inspector": {"actions": ["read", "export"]}}}})
    reader = plant.person("ina", ("inspector",))
    assert client.get(f"{URL}/by_supplier", headers=reader).status_code == 200
    refused = client.get(f"{URL}/by_supplier.{fmt}", headers=reader)
    assert refused.status_code == 403 and "export" in refused.json["detail"]
    exporter = {"actions": ["read", "export"], "fields": {"measured": "hidden"}}
    plant.policy("qms", {"entities": {"inspection": {"inspector": exporter}}})
    hidden = client.get(f"{URL}/by_supplier.{fmt}", headers=reader)
    assert hidden.status_code == 403 and "qms.inspection.measured" in hidden.json["detail"]
