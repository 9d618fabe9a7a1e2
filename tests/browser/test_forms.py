"""Record forms in a real browser: live rules from the server (visibility, formulas),
errors after a submit, child-table rows, and the pages in Simplified Chinese."""

from __future__ import annotations

import re

import pytest

from jizuo.platform.records import RecordStore
from tests import factories
from tests.plant import Plant

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="needs the test extra").expect

NEW_NCR = "/apps/qms/ncr/new"


@pytest.fixture
def plant(session) -> Plant:  # noqa: ANN001
    return Plant(session)


def _ncrs(session, plant: Plant) -> list:  # noqa: ANN001
    session.rollback()  # a fresh snapshot: the server wrote in its own thread
    return RecordStore(session, plant.admin).entity("qms", "ncr").list().items


def test_a_field_appears_and_disappears_with_its_visible_if_rule(plant, sign_in, screenshot):
    page = sign_in("root")
    page.goto(NEW_NCR)
    complaint = page.locator('[data-field="complaint"]')
    expect(complaint).to_be_hidden()

    page.locator("#f-source").select_option("customer")
    expect(complaint).to_be_visible()
    expect(complaint.locator("[data-required-mark]")).to_be_visible()
    expect(page.locator("#f-complaint")).to_have_attribute("required", "")
    page.locator("#f-complaint").fill("rattles")
    screenshot("customer")

    page.locator("#f-source").select_option("iqc")
    expect(complaint).to_be_hidden()
    expect(page.locator("#f-complaint")).to_be_disabled()  # a hidden field is not submitted

    page.locator("#f-source").select_option("customer")
    expect(complaint).to_be_visible()
    expect(page.locator("#f-complaint")).to_be_enabled()
    expect(page.locator("#f-complaint")).to_have_value("rattles")


def test_a_formula_follows_the_numbers_as_they_are_typed(plant, sign_in):
    page = sign_in("root")
    page.goto(NEW_NCR)
    cost = page.locator("#f-cost")
    expect(cost).to_have_text("")

    page.locator("#f-qty_rejected").press_sequentially("4")
    page.locator("#f-unit_cost").press_sequentially("2.5")
    expect(cost).to_have_text("10")

    page.locator("#f-qty_rejected").press_sequentially("2")  # 42
    expect(cost).to_have_text("105")

    page.locator("#f-unit_cost").fill("")
    expect(cost).to_have_text("")


def _remove_blank_rows(page) -> None:  # noqa: ANN001
    """Take out the blank defect rows: their required cells would stop the browser's submit
    (see ``test_blank_child_rows_do_not_block_the_submit``)."""
    rows = page.locator('table[data-table="defects"] tbody tr[data-row]')
    while rows.count():
        rows.first.get_by_role("button", name="Remove row").click()


def test_an_invalid_submit_shows_the_error_and_keeps_the_input(plant, session, sign_in, screenshot):
    page = sign_in("root")
    page.goto(NEW_NCR)
    page.locator("#f-lot_no").fill("L-BROWSER")
    page.locator("#f-source").select_option("oqc")
    page.locator("#f-qty_rejected").fill("3")
    page.locator("#f-unit_cost").fill("1.5")
    page.locator("#f-supplier").fill("999")  # no such supplier: only the server knows
    _remove_blank_rows(page)
    page.get_by_role("button", name="Save").click()

    supplier = page.locator('[data-field="supplier"]')
    expect(supplier).to_have_class(re.compile(r"\bhas-error\b"))
    expect(supplier.locator(".field-error")).to_contain_text("with id 999")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#f-supplier")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-lot_no")).to_have_value("L-BROWSER")
    expect(page.locator("#f-source")).to_have_value("oqc")
    expect(page.locator("#f-qty_rejected")).to_have_value("3")
    expect(page.locator("#f-supplier")).to_have_value("999")
    screenshot("error")
    assert _ncrs(session, plant) == []

    page.locator("#f-supplier").fill(str(plant.s1))
    _remove_blank_rows(page)  # the page with the errors has blank rows again
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/apps/qms/ncr/\d+$"))
    expect(page.locator("main")).to_contain_text("L-BROWSER")
    expect(page.locator("main")).to_contain_text("Acme")
    (record,) = _ncrs(session, plant)
    assert page.url.endswith(f"/apps/qms/ncr/{record.id}")
    assert record.data["lot_no"] == "L-BROWSER" and record.data["supplier"] == plant.s1
    assert record.data["cost"] == 4.5 and record.data["number"].startswith("NCR-")

    page.goto("/apps/qms/ncr/")
    row = page.get_by_role("row", name=re.compile(re.escape(record.data["number"])))
    expect(row).to_contain_text("L-BROWSER")
    expect(row.get_by_role("link", name="Acme")).to_be_visible()  # the reference resolved
    expect(page.get_by_role("status")).to_have_text("1–1 of 1")
    screenshot("list")


def test_child_table_rows_are_added_and_removed(plant, session, sign_in, screenshot):
    page = sign_in("root")
    page.goto(NEW_NCR)
    rows = page.locator('table[data-table="defects"] tbody tr[data-row]')
    expect(rows).to_have_count(3)  # three empty rows to start with

    page.get_by_role("button", name="Add row").click()
    expect(rows).to_have_count(4)
    expect(rows.nth(3).locator(".row-no")).to_have_text("4")
    expect(rows.nth(3).locator("input").first).to_have_attribute("name", "defects.3.code")
    expect(rows.nth(3).locator("input").first).to_be_focused()

    for i, (code, count) in enumerate([("D1", "1"), ("D2", "2"), ("D3", "3"), ("D4", "4")]):
        rows.nth(i).locator(f'[name="defects.{i}.code"]').fill(code)
        rows.nth(i).locator(f'[name="defects.{i}.count"]').fill(count)

    rows.nth(1).get_by_role("button", name="Remove row").click()  # D2 goes
    expect(rows).to_have_count(3)
    expect(rows.locator(".row-no")).to_have_text(["1", "2", "3"])
    expect(rows.nth(1).locator('[name="defects.1.code"]')).to_have_value("D3")
    expect(rows.nth(2).locator('[name="defects.2.count"]')).to_have_value("4")
    expect(page.locator("label[for='f-defects-2-code']")).to_have_count(1)

    rows.nth(2).get_by_role("button", name="Move row up").click()  # D4 before D3
    expect(rows.nth(1).locator('[name="defects.1.code"]')).to_have_value("D4")
    screenshot("rows")

    page.locator("#f-lot_no").fill("L-ROWS")
    page.locator("#f-source").select_option("iqc")
    page.locator("#f-qty_rejected").fill("8")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/apps/qms/ncr/\d+$"))
    (record,) = _ncrs(session, plant)
    assert record.data["defects"] == [
        {"code": "D1", "count": 1},
        {"code": "D4", "count": 4},
        {"code": "D3", "count": 3},
    ]


def test_row_formulas_follow_added_and_removed_rows(plant, session, sign_in):
    factories.published(session, plant.admin, "lab", factories.EVERY_TYPE)
    page = sign_in("root")
    page.goto("/apps/lab/specimen/new")
    rows = page.locator('table[data-table="child_table"] tbody tr[data-row]')
    amounts = rows.locator('output[data-computed="child_table.amount"]')

    rows.nth(0).locator('[name="child_table.0.qty"]').fill("2")
    rows.nth(0).locator('[name="child_table.0.price"]').fill("1.5")
    rows.nth(2).locator('[name="child_table.2.qty"]').fill("3")
    rows.nth(2).locator('[name="child_table.2.price"]').fill("4")
    expect(amounts).to_have_text(["3", "", "12"])  # the empty middle row has no amount

    page.get_by_role("button", name="Add row").click()
    new = rows.nth(3)
    new.locator('[name="child_table.3.qty"]').fill("5")
    new.locator('[name="child_table.3.price"]').fill("2")
    expect(amounts).to_have_text(["3", "", "12", "10"])

    rows.nth(0).get_by_role("button", name="Remove row").click()
    expect(amounts).to_have_text(["", "12", "10"])


def test_the_pages_in_simplified_chinese(plant, page, sign_in, screenshot):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_visible()
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")

    sign_in("root")  # the language chosen before signing in is kept
    page.goto("/apps/qms/ncr/")
    expect(page.locator("h1")).to_have_text("不合格品报告")
    page.get_by_role("button", name="English").click()  # the switcher in the top bar
    page.wait_for_url("**/apps/qms/ncr/")  # back on the page it was picked on
    expect(page.locator("h1")).to_have_text("Nonconformance report")
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_url("**/apps/qms/ncr/")
    expect(page.locator("h1")).to_have_text("不合格品报告")
    expect(page.get_by_role("link", name="新建")).to_be_visible()
    expect(page.locator(".usermenu form button")).to_have_text("退出登录")  # in the user menu
    expect(page.get_by_role("navigation", name="导航路径")).to_contain_text("应用")
    screenshot("list-zh")

    page.get_by_role("link", name="新建").click()
    expect(page.locator("h1")).to_have_text("新建 · 不合格品报告")
    expect(page.get_by_role("heading", name="详情")).to_be_visible()  # the tab's title
    expect(page.get_by_role("button", name="保存")).to_be_visible()
    screenshot("form-zh")


# -- found broken in a real browser: strict, so they fail once fixed and are un-marked --


def test_blank_child_rows_do_not_block_the_submit(plant, session, sign_in):
    page = sign_in("root")
    page.goto(NEW_NCR)
    page.locator("#f-lot_no").fill("L-BLANK")
    page.locator("#f-source").select_option("iqc")
    page.locator("#f-qty_rejected").fill("1")
    invalid = page.locator("form.record-form :invalid:not(fieldset)")
    names = invalid.evaluate_all("all => all.map(e => e.name)")
    assert names == [], f"the browser will not submit: {names} are blank but required"
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/apps/qms/ncr/\d+$"))


def test_the_language_picked_before_signing_in_is_kept(plant, page):
    page.goto("/login")
    page.get_by_role("button", name="简体中文").click()
    page.get_by_label("用户名").fill("root")
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans", timeout=1_000)
