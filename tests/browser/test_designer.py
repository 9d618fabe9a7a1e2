"""The form designer in a real browser: an entity built from an empty app only by dragging
field types from the palette and setting properties, previewed, published and used; a
required field added after records exist and published with a default; a field renamed
after publishing; fields and sections reordered by keyboard only."""

from __future__ import annotations

import re

import pytest

from jizuo.platform import catalog
from jizuo.platform.records import RecordStore
from tests import factories

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="needs the test extra").expect

FIRST_COLUMN = '.d-column[data-tab="0"][data-section="0"][data-column="0"]'
LOT = {
    "key": "lot",
    "title": {"en": "Lot", "zh": "批次"},
    "title_field": "lot_number",
    "schema": {
        "type": "object",
        "properties": {
            "lot_number": {"type": "string", "title": {"en": "Lot number", "zh": "批号"}},
            "qty": {"type": "integer", "title": {"en": "Quantity", "zh": "数量"}},
            "note": {"type": "string", "title": {"en": "Note", "zh": "备注"}},
        },
    },
    "layout": {"tabs": [{"sections": [{"columns": [["lot_number", "qty", "note"]]}]}]},
}


@pytest.fixture
def shop(session):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    _, admin = factories.member(session, ws, "root", ("admin",))
    factories.published(session, admin, "erp", factories.SUPPLIER)
    supplier = RecordStore(session, admin).entity("erp", "supplier").create({"name": "Acme"})
    session.commit()
    return {"admin": admin, "supplier": supplier.id, "workspace": ws}


def _version(page) -> int:  # noqa: ANN001
    return int(page.locator("#canvas .d-form").get_attribute("data-version"))


def edited(page, action) -> None:  # noqa: ANN001
    """Do ``action`` and wait until the draft's next version is saved and shown."""
    before = _version(page)
    action()
    expect(page.locator("#canvas .d-form")).to_have_attribute("data-version", str(before + 1))
    expect(page.locator("#d-status")).to_have_text(re.compile("^Saved"))


def set_property(page, selector: str, value: str) -> None:  # noqa: ANN001
    def change() -> None:
        page.locator(selector).fill(value)
        page.locator(selector).press("Tab")

    edited(page, change)


def drag_and_drop(page, source, target: str) -> None:  # noqa: ANN001
    """Drag with the mouse from the middle of ``source`` onto the middle of ``target``."""
    page.locator(target).scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()  # the palette stays in view beside the canvas
    start = source.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    end = page.locator(target).bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def drop_field(page, kind: str, title: str, key: str, **needs: str) -> None:  # noqa: ANN001
    """Drag a field type from the palette onto the first column and name it."""

    def drag() -> None:
        drag_and_drop(page, page.locator(f'.palette-item[data-type="{kind}"]'), FIRST_COLUMN)
        dialog = page.locator("#add-field")
        expect(dialog).to_be_visible()
        dialog.locator("#new-title").fill(title)
        for name, value in needs.items():
            field = dialog.locator(f"#new-{name}")
            if name == "ref":
                field.select_option(value)
            else:
                field.fill(value)
        dialog.get_by_role("button", name="Add", exact=True).click()

    edited(page, drag)
    expect(page.locator("#add-field")).to_be_hidden()
    expect(page.locator("#panel [data-field-panel]")).to_have_attribute("data-field-panel", key)


def _records(session, admin, entity: str = "lot") -> list:  # noqa: ANN001
    session.rollback()  # a fresh snapshot: the server wrote in its own thread
    return RecordStore(session, admin).entity("qa", entity).list().items


def test_an_entity_built_by_dragging_is_previewed_published_and_used(
    shop, session, sign_in, screenshot
):  # noqa: ANN001
    page = sign_in("root")
    page.get_by_role("link", name="Design").click()
    page.locator("#app-key").fill("qa")
    page.locator("#app-title-en").fill("Quality")
    page.locator("#app-title-zh").fill("质量")
    page.get_by_role("button", name="Create app").click()
    page.locator("#entity-key").fill("lot")
    page.locator("#entity-title-en").fill("Lot")
    page.locator("#entity-title-zh").fill("批次")
    page.get_by_role("button", name="Create entity").click()
    expect(page.locator(FIRST_COLUMN)).to_be_visible()

    drop_field(page, "text", "Lot number", "lot_number")
    edited(page, lambda: page.locator("#p-required").check())
    drop_field(page, "single_select", "Result", "result")
    for value, en, zh in (("pass", "Pass", "合格"), ("fail", "Fail", "不合格")):

        def add_option(value: str = value, en: str = en, zh: str = zh) -> None:
            page.locator('[data-new-option="value"]').fill(value)
            page.locator('[data-new-option="en"]').fill(en)
            page.locator('[data-new-option="zh"]').fill(zh)
            page.get_by_role("button", name="Add option").click()

        edited(page, add_option)
    edited(page, lambda: page.get_by_role("button", name="Remove option_1").click())
    expect(page.locator("#panel [data-option]")).to_have_count(2)
    drop_field(page, "measurement", "Diameter", "diameter", lsl="9.9", usl="10.1")
    set_property(page, "#p-unit", "mm")
    drop_field(page, "reference", "Supplier", "supplier", ref="erp.supplier")
    drop_field(page, "integer", "Quantity", "quantity")
    drop_field(page, "computed", "Total", "total", formula="quantity * 2")
    drop_field(page, "child_table", "Defects", "defects")

    def add_column() -> None:
        page.locator('[data-new-column="title"]').fill("Code")
        page.get_by_role("button", name="Add column").click()

    edited(page, add_column)
    expect(page.locator('[data-field="defects"] .d-child li')).to_have_text(["Code text"])
    drop_field(page, "text", "Reason", "reason")

    # The rule is checked as it is typed, with the field names completed.
    rule = page.locator("#p-visible_if")
    rule.press_sequentially("result ==")
    expect(page.locator("#p-visible_if-msg")).not_to_have_text("")
    expect(page.locator("#p-visible_if-msg")).to_have_class("expr-message error")
    rule.fill("")
    rule.press_sequentially("resu")
    page.locator('[data-completions-for="p-visible_if"]').get_by_role(
        "button", name="result"
    ).click()
    expect(rule).to_have_value("result")
    rule.press_sequentially(' == "fail"')
    expect(page.locator("#p-visible_if-msg")).to_have_text("The expression is valid.")
    edited(page, lambda: rule.press("Tab"))
    expect(page.locator('[data-field="reason"] .d-field-meta')).to_contain_text("visible_if")
    screenshot("form-designer")

    # The live preview is the runtime's form of the draft, its rules live.
    preview = page.frame_locator("#preview")
    expect(preview.locator('[data-field="reason"]')).to_be_hidden()
    preview.locator("#f-result").select_option("fail")
    expect(preview.locator('[data-field="reason"]')).to_be_visible()
    preview.locator("#f-quantity").press_sequentially("21")
    expect(preview.locator("#f-total")).to_have_text("42")
    page.get_by_role("button", name="简体中文").last.click()
    expect(preview.locator("#f-result option", has_text="不合格")).to_have_count(1)
    page.get_by_role("button", name="Tablet").click()
    expect(page.locator("#preview")).to_have_attribute("width", "800")
    screenshot("preview-tablet-zh")

    page.get_by_role("link", name="Publish…").click()
    expect(page.locator("#publish-diff")).to_contain_text("lot_number")
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Published version 1.")).to_be_visible()
    expect(page.locator("#versions tbody tr")).to_have_count(1)

    # The runtime's form obeys the rules published.
    page.goto("/apps/qa/lot/new")
    expect(page.locator('[data-field="reason"]')).to_be_hidden()
    page.locator("#f-lot_number").fill("L-1")
    page.locator("#f-result").select_option("fail")
    expect(page.locator('[data-field="reason"]')).to_be_visible()
    page.locator("#f-reason").fill("scratched")
    page.locator("#f-diameter").fill("10.3")
    expect(page.locator('[data-spec-mark="diameter"]')).to_have_attribute("data-state", "out")
    page.locator("#f-supplier").fill(str(shop["supplier"]))
    page.locator("#f-quantity").fill("5")
    expect(page.locator("#f-total")).to_have_text("10")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(lambda url: "/new" not in url)
    (record,) = _records(session, shop["admin"])
    assert record.data["lot_number"] == "L-1"
    assert record.data["result"] == "fail" and record.data["reason"] == "scratched"
    assert record.data["total"] == 10 and record.data["supplier"] == shop["supplier"]


def _published_lot(session, admin, count: int = 2) -> None:  # noqa: ANN001
    factories.published(session, admin, "qa", LOT)
    lots = RecordStore(session, admin).entity("qa", "lot")
    for i in range(count):
        lots.create({"lot_number": f"L-{i}", "qty": i})
    session.commit()


def test_a_required_field_added_after_records_exist_gets_its_default_and_a_rename_moves_data(
    shop, session, sign_in
):  # noqa: ANN001
    _published_lot(session, shop["admin"])
    page = sign_in("root")
    page.goto("/design/apps/qa/entities/lot")
    drop_field(page, "text", "Operator", "operator")
    edited(page, lambda: page.locator("#p-required").check())

    page.get_by_role("link", name="Publish…").click()
    expect(page.locator("#publish-report")).to_contain_text("Some records would not fit")
    page.locator("#default-operator").fill("Ann")
    page.get_by_role("button", name="Check again").click()
    expect(page.locator("#publish-report")).to_contain_text("Every record fits version 2")
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator("#job")).to_have_attribute("data-state", "finished")
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    assert {r.data["operator"] for r in _records(session, shop["admin"])} == {"Ann"}

    page.goto("/design/apps/qa/entities/lot")
    page.locator('.d-field[data-field="lot_number"]').click()
    expect(page.locator("#p-key")).to_have_value("lot_number")
    set_property(page, "#p-key", "lot_no")
    expect(page.locator('.d-field[data-field="lot_no"]')).to_be_visible()
    page.get_by_role("link", name="Publish…").click()
    expect(page.locator("#publish-diff")).to_contain_text("lot_number → lot_no")
    page.get_by_role("button", name="Publish version 3").click()
    expect(page.locator("#job")).to_have_attribute("data-state", "finished")
    records = _records(session, shop["admin"])
    assert sorted(r.data["lot_no"] for r in records) == ["L-0", "L-1"]
    assert all("lot_number" not in r.data for r in records)
    expect(page.locator("#versions tbody tr")).to_have_count(3)


def _layout(session, admin) -> list:  # noqa: ANN001
    session.rollback()
    draft = catalog.get_entity(session, admin, "qa", "lot").draft
    return [s["columns"] for s in draft["layout"]["tabs"][0]["sections"]]


def test_fields_and_sections_are_reordered_by_keyboard_only(shop, session, sign_in):  # noqa: ANN001
    _published_lot(session, shop["admin"], count=0)
    page = sign_in("root")
    page.goto("/design/apps/qa/entities/lot")

    page.locator('.d-field[data-field="qty"]').focus()
    edited(page, lambda: page.keyboard.press("Alt+ArrowUp"))
    expect(page.locator('.d-field[data-field="qty"]')).to_be_focused()
    assert _layout(session, shop["admin"]) == [[["qty", "lot_number", "note"]]]

    # Two columns for the section (its panel, opened with Enter), then a field moves right.
    page.locator(".d-section").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#p-sec-cols")).to_be_visible()
    page.locator("#p-sec-cols").focus()
    edited(page, lambda: page.locator("#p-sec-cols").select_option("2"))
    page.locator('.d-field[data-field="note"]').focus()
    edited(page, lambda: page.keyboard.press("Alt+ArrowRight"))
    assert _layout(session, shop["admin"]) == [[["qty", "lot_number"], ["note"]]]

    # A new section (from the panel), then the first section moves below it.
    page.locator(".d-section").first.focus()
    page.keyboard.press("Enter")
    edited(page, lambda: page.get_by_role("button", name="Add section").click())
    page.locator('.d-section[data-section="0"]').focus()
    edited(page, lambda: page.keyboard.press("Alt+ArrowDown"))
    expect(page.locator('.d-section[data-section="1"]')).to_be_focused()
    assert _layout(session, shop["admin"]) == [[[]], [["qty", "lot_number"], ["note"]]]

    # Undo from the keyboard puts the section back.
    page.locator('.d-field[data-field="qty"]').focus()
    edited(page, lambda: page.keyboard.press("Control+z"))
    assert _layout(session, shop["admin"]) == [[["qty", "lot_number"], ["note"]], [[]]]
    edited(page, lambda: page.keyboard.press("Control+Shift+z"))
    assert _layout(session, shop["admin"]) == [[[]], [["qty", "lot_number"], ["note"]]]
