"""Record forms in a real browser, part two: tabs, a field locked by ``readonly_if`` as the
user types, a reference picked by typing, a file uploaded with the form, and an edit
refused because the record changed in another tab."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jizuo.platform.models import Attachment
from jizuo.platform.records import RecordStore
from tests import factories
from tests.plant import Plant

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="needs the test extra").expect

#: An incoming inspection on two tabs: what was received, and the evidence.
INSPECTION = {
    "key": "inspection",
    "title": {"en": "Incoming inspection", "zh": "来料检验"},
    "title_field": "lot_no",
    "schema": {
        "type": "object",
        "properties": {
            "lot_no": {"type": "string", "title": {"en": "Lot", "zh": "批次"}},
            "supplier": {
                "type": "integer",
                "x-ref": "erp.supplier",
                "title": {"en": "Supplier", "zh": "供应商"},
            },
            "status": {"type": "string", "enum": ["open", "closed"]},
            "remarks": {"type": "string", "title": {"en": "Remarks", "zh": "备注"}},
            "inspector_note": {"type": "string", "title": {"en": "Inspector's note"}},
            "certificate": {"type": "integer", "x-attachment": True},
        },
        "required": ["lot_no", "inspector_note"],
    },
    "layout": {
        "tabs": [
            {
                "title": {"en": "Receipt", "zh": "收货"},
                "sections": [{"columns": [["lot_no", "supplier"], ["status", "remarks"]]}],
            },
            {
                "title": {"en": "Evidence", "zh": "证据"},
                "sections": [{"columns": [["inspector_note", "certificate"]]}],
            },
        ]
    },
    "rules": {"readonly_if": {"remarks": "status == 'closed'"}},
}
NEW = "/apps/qc/inspection/new"


@pytest.fixture
def plant(session) -> Plant:  # noqa: ANN001
    plant = Plant(session)
    factories.published(session, plant.admin, "qc", INSPECTION)
    return plant


def _inspections(session, plant: Plant) -> list:  # noqa: ANN001
    session.rollback()  # a fresh snapshot: the server wrote in its own thread
    return RecordStore(session, plant.admin).entity("qc", "inspection").list().items


def test_titled_tabs_become_a_tab_bar_that_opens_the_tab_of_an_invalid_field(
    plant, session, sign_in
):
    page = sign_in("root")
    page.goto(NEW)
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_text(["Receipt", "Evidence"])
    receipt, evidence = page.get_by_role("tabpanel", name="Receipt"), page.locator("#tab-panel-2")
    expect(receipt).to_be_visible()
    expect(evidence).to_be_hidden()

    page.get_by_role("tab", name="Evidence").click()
    expect(evidence).to_be_visible()
    expect(receipt).to_be_hidden()
    page.get_by_role("tab", name="Evidence").press("ArrowLeft")  # keys move between tabs
    expect(page.get_by_role("tab", name="Receipt")).to_be_focused()
    expect(receipt).to_be_visible()

    # The required note sits on the hidden tab: the browser's check opens it.
    page.locator("#f-lot_no").fill("L-TABS")
    page.get_by_role("button", name="Save").click()
    expect(evidence).to_be_visible()
    expect(page.get_by_role("tab", name="Evidence")).to_have_attribute("aria-selected", "true")
    assert _inspections(session, plant) == []


def test_a_field_locks_and_unlocks_with_its_readonly_if_rule(plant, session, sign_in):
    page = sign_in("root")
    page.goto(NEW)
    wrapper = page.locator('[data-field="remarks"]')
    remarks = page.locator("#f-remarks")
    expect(remarks).to_be_editable()
    expect(wrapper.locator("[data-readonly-mark]")).to_be_hidden()
    remarks.fill("checked twice")

    page.locator("#f-status").select_option("closed")
    expect(remarks).not_to_be_editable()
    expect(wrapper.locator("[data-readonly-mark]")).to_be_visible()
    expect(remarks).to_have_value("checked twice")

    page.locator("#f-status").select_option("open")
    expect(remarks).to_be_editable()
    expect(wrapper.locator("[data-readonly-mark]")).to_be_hidden()


def test_a_reference_is_picked_by_typing_and_a_file_is_uploaded(
    plant, session, sign_in, screenshot, tmp_path
):
    page = sign_in("root")
    page.goto(NEW)
    page.locator("#f-lot_no").fill("L-PICK")
    search = page.get_by_role("searchbox", name=re.compile(r"^Supplier – search"))
    search.press_sequentially("ac")
    choice = page.get_by_role("button", name=f"Acme (#{plant.s1})")
    expect(choice).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Bolt"))).to_have_count(0)
    choice.click()
    expect(page.locator("#f-supplier")).to_have_value(str(plant.s1))
    expect(page.locator('[data-field="supplier"] [data-ref-label]')).to_have_text("Acme")

    page.get_by_role("tab", name="Evidence").click()
    page.locator("#f-inspector_note").fill("certificate attached")
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(b"%PDF-1.4 mill certificate")
    page.locator("#f-certificate").set_input_files(str(certificate))
    screenshot("filled")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/apps/qc/inspection/\d+$"))

    (record,) = _inspections(session, plant)
    assert record.data["supplier"] == plant.s1
    stored = session.get(Attachment, record.data["certificate"])
    assert stored.filename == "certificate.pdf"
    main = page.locator("main")
    expect(main.get_by_role("link", name="Acme")).to_be_visible()
    expect(main.get_by_role("link", name="certificate.pdf")).to_be_visible()
    with page.expect_download() as download:
        main.get_by_role("link", name="certificate.pdf").click()
    assert download.value.suggested_filename == "certificate.pdf"
    assert Path(download.value.path()).read_bytes() == b"%PDF-1.4 mill certificate"


def test_an_edit_made_stale_in_another_tab_keeps_the_input_and_offers_a_reload(
    plant, session, browser, page, sign_in, screenshot
):
    store = RecordStore(session, plant.admin).entity("qc", "inspection")
    rid = store.create({"lot_no": "L-STALE", "inspector_note": "first"}).id
    session.commit()
    first = sign_in("root")
    first.goto(f"/apps/qc/inspection/{rid}/edit")
    second = first.context.new_page()  # another tab of the same browser, same session
    second.goto(f"/apps/qc/inspection/{rid}/edit")

    second.get_by_role("tab", name="Evidence").click()
    second.locator("#f-inspector_note").fill("changed in the other tab")
    second.get_by_role("button", name="Save").click()
    second.wait_for_url(re.compile(rf"/apps/qc/inspection/{rid}$"))

    first.locator("#f-remarks").fill("my careful remarks")
    first.get_by_role("button", name="Save").click()
    notice = first.locator(".stale")
    expect(notice).to_contain_text("this record was changed by")
    expect(notice).to_contain_text("root")
    expect(first.locator("#f-remarks")).to_have_value("my careful remarks")  # input kept
    screenshot("stale")
    session.rollback()
    assert store.get(rid).data.get("remarks") is None  # nothing of the stale edit saved

    first.get_by_role("link", name="reload the record").click()
    first.get_by_role("tab", name="Evidence").click()
    expect(first.locator("#f-inspector_note")).to_have_value("changed in the other tab")


def test_a_record_is_created_through_a_form_using_every_widget(
    plant, session, sign_in, screenshot, tmp_path
):
    factories.published(session, plant.admin, "lab", factories.EVERY_TYPE)
    page = sign_in("root")
    page.goto("/apps/lab/specimen/new")
    page.locator("#f-text").fill("every widget")
    page.locator("#f-long_text").fill("line one\nline two")
    page.locator("#f-integer").fill("4")
    page.locator("#f-decimal").fill("2.5")
    expect(page.locator("#f-computed")).to_have_text("10")  # integer * decimal, live
    page.locator("#f-boolean").check()
    page.locator("#f-date").fill("2026-11-25")
    page.locator("#f-datetime").fill("2026-11-25T08:30")
    page.locator("#f-single_select").select_option("b")
    page.get_by_role("checkbox", name="red").check()
    page.get_by_role("checkbox", name="blue").check()
    page.get_by_role("searchbox", name=re.compile("^reference – search")).press_sequentially("Bo")
    page.get_by_role("button", name=f"Bolt (#{plant.s2})").click()
    rows = page.locator('table[data-table="child_table"] tbody tr[data-row]')
    rows.nth(0).locator('[name="child_table.0.part"]').fill("bolt")
    rows.nth(0).locator('[name="child_table.0.qty"]').fill("3")
    rows.nth(0).locator('[name="child_table.0.price"]').fill("0.5")
    for row in (2, 1):  # only the filled row goes in
        rows.nth(row).get_by_role("button", name="Remove row").click()
    certificate = tmp_path / "specimen.txt"
    certificate.write_text("specimen report")
    page.locator("#f-attachment").set_input_files(str(certificate))
    page.locator("#f-user").select_option(label=plant.admin_user.display_name)
    page.locator("#f-email").fill("qa@example.com")
    page.locator("#f-url").fill("https://example.com/spec")
    page.locator("#f-phone").fill("+86 21 5555 0100")
    page.locator("#f-measurement").fill("10.2")
    mark = page.locator('[data-spec-mark="measurement"]')
    expect(mark).to_contain_text("out of spec")
    page.locator("#f-measurement").fill("10.05")
    expect(mark).to_contain_text("in spec")
    expect(page.locator("#f-auto_number")).to_have_text("")  # numbered when saved
    screenshot("every-widget")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/apps/lab/specimen/\d+$"))

    session.rollback()
    (record,) = RecordStore(session, plant.admin).entity("lab", "specimen").list().items
    data = record.data
    attachment = data.pop("attachment")
    assert session.get(Attachment, attachment).filename == "specimen.txt"
    assert data == {
        "text": "every widget",
        "long_text": "line one\nline two",
        "integer": 4,
        "decimal": 2.5,
        "computed": 10,
        "boolean": True,
        "date": "2026-11-25",
        "datetime": data["datetime"],
        "single_select": "b",
        "multi_select": ["red", "blue"],
        "reference": plant.s2,
        "child_table": [{"part": "bolt", "qty": 3, "price": 0.5, "amount": 1.5}],
        "user": plant.admin_user.id,
        "email": "qa@example.com",
        "url": "https://example.com/spec",
        "phone": "+86 21 5555 0100",
        "measurement": 10.05,
        "auto_number": "SP-0001",
    }
    assert data["datetime"].startswith("2026-11-25T08:30")
    expect(page.locator("main")).to_contain_text("SP-0001")
