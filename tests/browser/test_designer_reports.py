"""The report designer in a real browser: a report built through the page (source entity,
a group-by through a reference, a count and a sum, a bar chart), its live preview running
the draft on real data (the table and the chart drawn), a refused field shown next to its
input, undo, publishing; screenshots kept as test artifacts."""

from __future__ import annotations

import re

import pytest

from jizuo.platform.records import RecordStore
from jizuo.platform.report_engine import run_report
from tests import factories

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="needs the test extra").expect


@pytest.fixture
def shop(session):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    _, admin = factories.member(session, ws, "root", ("admin",))
    factories.published(session, admin, "erp", factories.SUPPLIER)
    factories.published(session, admin, "qms", factories.NCR)
    store = RecordStore(session, admin)
    acme, bolt = (store.entity("erp", "supplier").create({"name": n}).id for n in ("Acme", "Bolt"))
    ncrs = store.entity("qms", "ncr")
    for supplier, qty in ((acme, 3), (acme, 4), (bolt, 5)):
        ncrs.create({"lot_no": f"L-{qty}", "source": "iqc", "qty_rejected": qty,
                     "supplier": supplier})  # fmt: skip
    session.commit()
    return admin


def _version(page) -> int:  # noqa: ANN001
    return int(page.locator("[data-draft-version]").input_value())


def saved(page, action) -> None:  # noqa: ANN001
    """Do ``action`` and wait until the draft's next version is saved."""
    before = _version(page)
    action()
    expect(page.locator("[data-draft-version]")).to_have_value(str(before + 1))
    expect(page.locator("#d-status")).to_have_text(re.compile("^Saved"))


def typed(page, selector: str, text: str) -> None:  # noqa: ANN001
    def change() -> None:
        page.locator(selector).fill(text)
        page.locator(selector).blur()

    saved(page, change)


@pytest.mark.refusals(422)
def test_a_report_built_previewed_and_published(shop, session, sign_in, screenshot):  # noqa: ANN001
    page = sign_in("root")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto("/design/apps/qms")
    page.locator("#report-key").fill("by_supplier")
    page.locator("#report-entity").select_option("qms.ncr")
    page.get_by_role("button", name="Create report").click()
    page.wait_for_url("**/design/apps/qms/reports/by_supplier")
    preview = page.frame_locator("#preview")
    expect(preview.locator("#preview-table tbody td")).to_have_text("3")  # three NCRs counted

    typed(page, "#title-en", "NCRs by supplier")
    saved(page, lambda: page.get_by_role("button", name="Add group").click())
    # A field the supplier lacks is refused next to its input, with the checker's words.
    page.locator("#group-0-field").fill("supplier.nme")
    page.locator("#group-0-field").blur()
    expect(page.locator("#d-status")).to_contain_text("Not saved")
    expect(page.locator('.d-error[data-error-for="/group_by/0/field"]')).to_contain_text("nme")
    typed(page, "#group-0-field", "supplier.name")
    expect(page.locator(".d-error")).to_have_count(0)

    saved(page, lambda: page.get_by_role("button", name="Add measure").click())
    typed(page, "#measure-1-field", "qty_rejected")
    saved(page, lambda: page.locator("#measure-1-agg").select_option("sum"))
    typed(page, "#measure-1-key", "rejected")
    saved(page, lambda: page.get_by_label("Show a chart").check())
    saved(page, lambda: page.locator("#chart-y").select_option("rejected"))

    table = preview.locator("#preview-table")
    expect(table.locator("thead")).to_contain_text("Sum")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").nth(0).locator("td")).to_have_text(["Acme", "2", "7"])
    expect(table.locator("tbody tr").nth(1).locator("td")).to_have_text(["Bolt", "1", "5"])
    chart = preview.locator("#preview-chart")
    expect(chart).to_have_attribute("data-vega-rendered", "true")
    expect(chart.locator("svg .mark-rect path")).to_have_count(2)
    screenshot("report-designer")

    # Undo takes the chart's y back; redo makes it again.
    saved(page, lambda: page.get_by_role("button", name="Undo").click())
    expect(page.locator("#chart-y")).to_have_value("records")
    saved(page, lambda: page.get_by_role("button", name="Redo").click())
    expect(page.locator("#chart-y")).to_have_value("rejected")

    page.get_by_role("button", name="Publish").click()
    expect(page.locator("body")).to_contain_text("Published as version 1.")
    session.rollback()
    result = run_report(session, shop, "qms", "by_supplier")
    assert [(r["supplier_name"], r["records"], r["rejected"]) for r in result.rows] == [
        ("Acme", 2, 7),
        ("Bolt", 1, 5),
    ]
    assert result.chart == {"type": "bar", "x": "supplier_name", "y": "rejected"}
    page.goto("/design/apps/qms/reports/by_supplier")
    expect(preview.locator("#preview-chart")).to_have_attribute("data-vega-rendered", "true")
    screenshot("report-published")
