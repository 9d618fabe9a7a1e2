"""Report and dashboard pages: listed on the app's page for who may run them, filters as query
parameters, the chart spec and localized table, downloads for who may export, tiles."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from jizuo.platform import definitions
from tests import factories
from tests.platform.test_dashboards import BY_MONTH, BY_SUPPLIER, DASHBOARD, TOTALS
from tests.report_plant import ReportPlant

REPORT = "/apps/qms/reports/by_supplier"


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    plant = ReportPlant(session, n=120)
    plant.report("by_supplier", {**BY_SUPPLIER, "totals": True, "date_field": "date", "measures": [
        {"key": "n", "agg": "count"}, {"key": "qty", "agg": "sum", "field": "qty_inspected"}]})  # fmt: skip
    plant.report("totals", TOTALS)
    plant.report("by_month", BY_MONTH)
    pinned = {**DASHBOARD, "pinned": True}
    definitions.save_draft_definition(session, plant.admin, "qms", "dashboard", "quality", pinned)
    definitions.publish_definition(session, plant.admin, "qms", "dashboard", "quality")
    session.commit()
    return plant


def signed_in(app, plant, name, roles):  # noqa: ANN001, ANN201
    plant.person(name, roles)
    client = app.test_client()
    factories.login(client, name)
    return client


def table(body: str) -> list[list[str]]:
    found = re.search(r'<table class="list report-table">(.*?)</table>', body, re.S)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]
    return [[unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in row] for row in cells]


def test_the_report_page_shows_chart_table_filters_and_downloads(app, plant):  # noqa: ANN001
    client = signed_in(app, plant, "ada", ("admin",))
    home = client.get("/apps/qms/").get_data(as_text=True)
    assert REPORT in home and "/apps/qms/reports/totals" in home
    assert "/apps/qms/dashboards/quality" in home
    body = client.get(REPORT, headers={"Accept-Language": "en"}).get_data(as_text=True)
    rows = table(body)
    assert rows[0] == ["Supplier", "Count", "Sum of Qty inspected"]
    frame = plant.frame()
    total = int(frame["qty_inspected"].sum())
    assert rows[-1] == ["Total", str(len(frame)), f"{total:,}"]
    spec = json.loads(unescape(re.search(r'<script type="application/json">(.*?)</script>', body, re.S).group(1)))  # fmt: skip
    assert (
        spec["mark"]["type"] == "bar" if isinstance(spec["mark"], dict) else spec["mark"] == "bar"
    )
    assert 'name="supplier.name__contains"' in body
    for fmt in ("csv", "xlsx", "pdf", "svg", "png"):
        assert f"/api/v1/apps/qms/reports/by_supplier.{fmt}?lang=en" in body
    narrowed = client.get(f"{REPORT}?supplier.name__contains=Acme&from=2024-01-01&to=2024-01-31")
    rows = table(narrowed.get_data(as_text=True))
    acme = frame[(frame["supplier_name"] == "Acme") & (frame["date"].str[:7] == "2024-01")]
    assert rows[1:] == [["Acme", str(len(acme)), f"{acme['qty_inspected'].sum():,}"],
                        ["Total", str(len(acme)), f"{acme['qty_inspected'].sum():,}"]]  # fmt: skip
    link = "by_supplier.xlsx?lang=en&amp;supplier.name__contains=Acme&amp;date__gte=2024-01-01"
    assert link in narrowed.get_data(as_text=True)
    bad = client.get(f"{REPORT}?from=2024-99-01")
    assert bad.status_code == 200 and "is a date" in bad.get_data(as_text=True)


def test_chinese_numbers_and_titles(app, plant):  # noqa: ANN001
    client = signed_in(app, plant, "ada", ("admin",))
    body = client.get(REPORT, headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert table(body)[-1][0] == "合计" and "供应商" in table(body)[0]


def test_readers_without_export_get_no_downloads_and_hidden_reports_are_not_listed(app, plant):  # noqa: ANN001
    plant.policy("qms", {"entities": {"*": {"inspector": {"actions": ["read"]}}}})
    plant.policy("erp", {"entities": {"*": {"inspector": {"actions": []}}}})
    client = signed_in(app, plant, "ina", ("inspector",))
    home = client.get("/apps/qms/").get_data(as_text=True)
    assert "/apps/qms/reports/totals" in home and REPORT not in home
    assert client.get(REPORT).status_code == 403
    page = client.get("/apps/qms/reports/totals").get_data(as_text=True)
    assert "Download" not in page and table(page)[1]


def test_the_dashboard_page_and_the_start_page(app, plant):  # noqa: ANN001
    client = signed_in(app, plant, "ada", ("admin",))
    assert "/apps/qms/dashboards/quality" in client.get("/").get_data(as_text=True)
    body = client.get("/apps/qms/dashboards/quality?from=2024-01-01&to=2024-01-31")
    text = body.get_data(as_text=True)
    assert body.status_code == 200 and text.count("data-vega-spec") == 2
    frame = plant.frame()
    january = int((frame["date"].str[:7] == "2024-01").sum())
    december = int((frame["date"].str[:10].between("2023-12-01", "2023-12-31")).sum())
    figures = re.findall(r'<p class="figure"><a [^>]*>(.*?)</a>', text)
    assert figures[0] == str(january)
    assert f"Previous period: {december}" in text
    assert client.get("/apps/qms/dashboards/nothing").status_code == 404
    assert client.get("/apps/qms/dashboards/quality?from=nope").status_code == 200
