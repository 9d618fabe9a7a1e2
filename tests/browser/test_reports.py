"""Report and dashboard pages in Chromium: the chart drawn (an SVG), the table and its filters,
a download that answers, chart tiles and number cards."""

from __future__ import annotations

import pytest

from jizuo.platform import definitions
from tests.platform.test_dashboards import BY_MONTH, BY_SUPPLIER, DASHBOARD, TOTALS
from tests.report_plant import ReportPlant

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="needs the test extra").expect


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    plant = ReportPlant(session, n=120)
    plant.report("by_supplier", {**BY_SUPPLIER, "totals": True, "date_field": "date"})
    plant.report("totals", TOTALS)
    plant.report("by_month", BY_MONTH)
    definitions.save_draft_definition(
        session, plant.admin, "qms", "dashboard", "quality", DASHBOARD
    )
    definitions.publish_definition(session, plant.admin, "qms", "dashboard", "quality")
    session.commit()
    plant.person("ada", ("admin",))
    return plant


def test_the_report_page_draws_its_chart_and_filters_its_table(plant, sign_in, screenshot):  # noqa: ANN001
    page = sign_in("ada")
    page.goto("/apps/qms/")
    page.get_by_role("link", name="By supplier").click()
    page.wait_for_selector("#report-chart[data-vega-rendered=true] svg")
    assert "Acme" in page.locator("#report-chart svg").text_content()
    total = page.locator("table.report-table tr.total td").nth(1)
    expect(total).to_have_text(str(len(plant.inspections)))
    screenshot("report")

    page.locator("#from").fill("2024-01-01")
    page.locator("#to").fill("2024-01-31")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_selector("#report-chart[data-vega-rendered=true] svg")
    january = sum(1 for d in plant.inspections if d["date"].startswith("2024-01"))
    expect(total).to_have_text(str(january))

    link = page.get_by_role("link", name="Download XLSX")
    answer = page.request.get(link.get_attribute("href"))
    assert answer.status == 200 and answer.body()[:2] == b"PK"
    assert "date__gte=2024-01-01" in link.get_attribute("href")


def test_the_dashboard_page_draws_chart_tiles_and_number_cards(plant, sign_in, screenshot):  # noqa: ANN001
    page = sign_in("ada")
    page.goto("/apps/qms/dashboards/quality?from=2024-01-01&to=2024-01-31")
    charts = page.locator(".tile-chart .chart")
    expect(charts).to_have_count(2)
    for i in range(2):
        page.wait_for_selector(
            f".tile-chart:nth-of-type({[1, 5][i]}) [data-vega-rendered=true] svg"
        )
    cards = page.locator(".tile-number")
    expect(cards).to_have_count(3)
    january = sum(1 for d in plant.inspections if d["date"].startswith("2024-01"))
    expect(cards.first.locator(".figure")).to_have_text(str(january))
    expect(cards.first.locator(".compare")).to_contain_text("Previous period:")
    screenshot("dashboard")
