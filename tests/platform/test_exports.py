"""Exports: the CSV and XLSX writers, a report's PDF, and record lists exported through the
API with the viewer's permissions and the list's filters."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, datetime

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from jizuo.platform.actor import Actor
from jizuo.platform.charts import chart_spec
from jizuo.platform.exports import CSV_FLUSH_ROWS, csv_chunks, write_csv, write_xlsx
from jizuo.platform.models import User
from jizuo.platform.records import RecordStore
from jizuo.platform.report_pdf import pdf_font, report_pdf
from tests import factories
from tests.plant import INSPECTOR_POLICY, SECRET_COST, Plant

COLUMNS = [
    {"key": "lot", "title": {"en": "Lot", "zh": "批次"}, "type": "text"},
    {"key": "qty", "title": {"en": "Quantity", "zh": "数量"}, "type": "integer"},
    {"key": "cost", "title": {"en": "Cost", "zh": "成本"}, "type": "number", "precision": 2},
    {"key": "day", "title": {"en": "Day", "zh": "日期"}, "type": "date"},
    {"key": "at", "title": {"en": "Found at", "zh": "发现时间"}, "type": "datetime"},
    {"key": "ok", "title": "OK", "type": "boolean"},
]
ROWS = [
    {"lot": "L-1", "qty": 3, "cost": 4.5, "day": "2024-05-01", "at": "2024-05-01T08:30:00Z",
     "ok": True},
    {"lot": "=HYPERLINK(\"x\")", "qty": 12345, "cost": 0.125, "day": date(2024, 6, 2),
     "at": datetime(2024, 6, 2, 23, 59), "ok": False},
    {"lot": "螺栓\x07批", "qty": None, "cost": None, "day": None, "at": None, "ok": None},
]  # fmt: skip
NCRS = "/api/v1/apps/qms/entities/ncr/records"


def test_xlsx_has_typed_cells_a_frozen_header_in_the_viewers_language_and_widths():
    out = io.BytesIO()
    assert write_xlsx(COLUMNS, iter(ROWS), out, locale="zh", sheet_title="ncr") == 3
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert sheet.title == "ncr" and sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("批次", "数量", "成本", "日期", "发现时间", "OK")
    assert sheet["A1"].font.b
    assert rows[1] == ("L-1", 3, 4.5, datetime(2024, 5, 1), datetime(2024, 5, 1, 8, 30), True)
    assert rows[2][1:] == (12345, 0.125, datetime(2024, 6, 2), datetime(2024, 6, 2, 23, 59), False)
    # Text that looks like a formula stays text; characters XML cannot hold are dropped.
    assert sheet["A3"].data_type == "s" and sheet["A3"].value == '=HYPERLINK("x")'
    assert rows[3] == ("螺栓批", None, None, None, None, None)
    assert sheet["B2"].data_type == "n" and sheet["C2"].number_format == "#,##0.00"
    assert sheet["D2"].is_date and sheet["D2"].number_format == "yyyy-mm-dd"
    assert sheet["E2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["F"].width


def test_csv_is_utf8_with_bom_typed_and_never_a_formula():
    out = io.BytesIO()
    assert write_csv(COLUMNS, ROWS, out, locale="en") == 3
    text = out.getvalue().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Lot", "Quantity", "Cost", "Day", "Found at", "OK"]
    assert rows[1] == ["L-1", "3", "4.5", "2024-05-01", "2024-05-01T08:30:00Z", "true"]
    assert rows[2] == ["'=HYPERLINK(\"x\")", "12345", "0.125", "2024-06-02",
                       "2024-06-02T23:59:00", "false"]  # fmt: skip
    assert rows[3][0] == "螺栓\x07批" and rows[3][1:] == ["", "", "", "", ""]


def test_csv_streams_its_rows_without_reading_them_all_first():
    consumed = 0

    def rows():  # noqa: ANN202
        nonlocal consumed
        for i in range(100_000):
            consumed += 1
            yield {"lot": f"L-{i}", "qty": i}

    chunks = csv_chunks(COLUMNS[:2], rows())
    first = next(chunks)
    assert consumed == CSV_FLUSH_ROWS and first.count(b"\n") == CSV_FLUSH_ROWS + 1
    lines = sum(chunk.count(b"\n") for chunk in itertools.chain([first], chunks))
    assert consumed == 100_000 and lines == 100_001


def _pdf_text(page) -> str:  # noqa: ANN001
    return "".join(page.extract_text().replace("\x00", "").split())


def test_report_pdf_has_the_chart_and_a_table_over_pages_with_the_header_on_each():
    rows = [{"lot": f"LOT-{i:04d}", "qty": i, "cost": i / 4, "day": "2024-05-01", "at": None,
             "ok": i % 2 == 0} for i in range(240)]  # fmt: skip
    chart = chart_spec({"type": "bar", "x": "lot", "y": "qty"}, COLUMNS, rows[:8], "en")
    pdf = report_pdf("Rejected lots", COLUMNS, iter(rows), chart, "en")
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 4
    assert len(reader.pages[0].images) == 1  # the chart
    texts = [_pdf_text(page) for page in reader.pages]
    assert "Rejectedlots" in texts[0]
    for i, text in enumerate(texts):
        assert "LotQuantityCostDayFoundatOK" in text, f"no header on page {i + 1}"
        assert f"Page{i + 1}of{len(texts)}" in text
    body = "".join(texts)
    assert all(f"LOT-{i:04d}" in body for i in range(240))
    assert "1,234" not in body and "59.75" in body  # 239 / 4 with two digits


def test_report_pdf_in_chinese_and_its_row_limit():
    rows = [{"lot": f"批次{i}", "qty": i} for i in range(30)]
    pdf = report_pdf("不合格品报告", COLUMNS[:2], rows, None, "zh", max_rows=20)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(_pdf_text(page) for page in reader.pages)
    assert "批次19" in text and "批次20" not in text
    assert "Onlythefirst20rowsareshown" in text
    if not pdf_font().cjk:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert "不合格品报告" in text and "批次数量" in text


# -- record lists through the API -------------------------------------------------------------


def _plant(session) -> Plant:  # noqa: ANN001
    plant = Plant(session)
    plant.ncr(lot_no="LOT-A1", source="iqc", qty_rejected=3, supplier=plant.s1, unit_cost=2.5,
              defects=[{"code": "D1", "count": 1}, {"code": "D2", "count": 2}])  # fmt: skip
    plant.ncr(lot_no="=CMD()", source="oqc", qty_rejected=7, unit_cost=SECRET_COST)
    plant.ncr(lot_no="LOT-C3", source="iqc", qty_rejected=5, supplier=plant.s2)
    return plant


def _admin_headers(plant: Plant) -> dict:
    token = factories.token(plant.session, plant.ws, plant.admin_user)
    plant.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _xlsx(response) -> list[tuple]:  # noqa: ANN001
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    return list(book.active.iter_rows(values_only=True))


def test_xlsx_export_of_a_filtered_sorted_list(session, client):
    plant = _plant(session)
    headers = _admin_headers(plant)
    url = f"{NCRS}.xlsx?source=iqc&order_by=-qty_rejected&lang=zh"
    rows = _xlsx(client.get(url, headers=headers))
    header = rows[0]
    assert header[:3] == ("id", "状态", "创建时间")
    assert header[3:] == ("number", "supplier", "lot_no", "source",
                          "complaint", "qty_rejected", "unit_cost", "cost", "defects",
                          "disposition")  # fmt: skip
    body = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert [r["lot_no"] for r in body] == ["LOT-C3", "LOT-A1"]
    assert [r["supplier"] for r in body] == ["Bolt", "Acme"]  # referenced records' names
    assert body[1]["qty_rejected"] == 3 and body[1]["unit_cost"] == 2.5 and body[1]["cost"] == 7.5
    assert body[1]["defects"] == 2  # child rows counted
    assert isinstance(body[0]["创建时间"], datetime) and body[0]["number"].startswith("NCR-")
    csv_text = client.get(f"{NCRS}.csv?q=CMD", headers=headers).get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    assert len(lines) == 2 and lines[1][5] == "'=CMD()" and lines[0][1] == "State"


def test_exports_respect_hidden_fields_row_scopes_and_the_export_right(app, session, client):
    plant = _plant(session)
    grant = INSPECTOR_POLICY["entities"]["ncr"]["inspector"]
    policy = {"entities": {
        "ncr": {"inspector": {**grant, "actions": ["read", "create", "export"]},
                "visitor": {"actions": ["read"]}}}}  # fmt: skip
    plant.policy("qms", policy)
    ina = plant.person("ina", ("inspector",))
    vic = plant.person("vic", ("visitor",))
    # The inspector's scope: the records she created. Once she may no longer read suppliers,
    # a reference shows the id only.
    plant.policy("erp", {"entities": {"supplier": {"inspector": {"actions": ["read"]}}}})
    user_id = session.scalar(select(User.id).where(User.username == "ina"))
    ina_actor = Actor(plant.ws.id, user_id, "ina", frozenset({"inspector"}))
    mine = RecordStore(session, ina_actor).entity("qms", "ncr")
    mine.create({"lot_no": "LOT-INA", "source": "iqc", "qty_rejected": 1, "supplier": plant.s1})
    session.commit()
    plant.policy("erp", {"entities": {"supplier": {"inspector": {"actions": []}}}})
    for fmt in ("csv", "xlsx"):
        response = client.get(f"{NCRS}.{fmt}", headers=ina)
        assert response.status_code == 200
        data = response.get_data()
        if fmt == "xlsx":
            rows = _xlsx(response)
            assert rows[0][3:] == ("number", "supplier", "lot_no", "source", "complaint",
                                   "qty_rejected", "defects", "disposition")  # fmt: skip
            assert [(r[4], r[5]) for r in rows[1:]] == [(f"#{plant.s1}", "LOT-INA")]
        else:
            assert b"unit_cost" not in data and str(SECRET_COST).encode() not in data
            assert b"LOT-INA" in data and b"LOT-A1" not in data
        # Filtering or sorting on a hidden field is refused as for an unknown field.
        refused = client.get(f"{NCRS}.{fmt}?order_by=unit_cost", headers=ina)
        assert refused.status_code == 400 and refused.json["errors"][0]["path"] == "unit_cost"
    assert client.get(f"{NCRS}.xlsx", headers=vic).status_code == 403
    assert client.get(f"{NCRS}.csv?nope__gt=1", headers=_admin_headers(plant)).status_code == 400
    assert client.get(f"{NCRS}.xlsx?lang=fr", headers=ina).status_code == 400
    # Another workspace's app is answered like a missing one.
    other = factories.workspace(session, "other")
    user, _ = factories.member(session, other, "olga", ("admin",))
    olga = {"Authorization": f"Bearer {factories.token(session, other, user)}"}
    session.commit()
    assert client.get(f"{NCRS}.csv", headers=olga).status_code == 404
    assert client.get(f"{NCRS}.csv").status_code == 401


def test_the_runtime_list_exports_xlsx_with_the_pages_filters(app, session):
    plant = _plant(session)
    browser = app.test_client()
    factories.login(browser, "root")
    page = browser.get("/apps/qms/ncr/?source=iqc").get_data(as_text=True)
    assert "/apps/qms/ncr/export.xlsx?source=iqc" in page
    rows = _xlsx(browser.get("/apps/qms/ncr/export.xlsx?source=iqc&q=LOT-C"))
    assert [r[5] for r in rows[1:]] == ["LOT-C3"] and plant.s2
