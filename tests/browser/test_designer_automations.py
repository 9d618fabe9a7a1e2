"""The automation designer in a real browser: an automation built through the page
(trigger on creation of an entity's records, a condition, a create-record and a notify
action), tested with a record (the panel says what each action would do and nothing is
written), published, and seen at work when a record is created in the runtime; undo and
redo; a draft changed by someone else meanwhile."""

from __future__ import annotations

import copy
import re

import pytest
from sqlalchemy import func, select

from jizuo.platform.definitions import get_definition
from jizuo.platform.models import Notification, Record, RecordHistory
from jizuo.platform.records import RecordStore
from tests import factories
from tests.automation_support import ORDER, TICKET

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="needs the test extra").expect

PAGE = "/design/apps/sales/automations/ticketing"


@pytest.fixture
def shop(session):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    _, admin = factories.member(session, ws, "root", ("admin",))
    factories.published(session, admin, "sales", copy.deepcopy(ORDER))
    factories.published(session, admin, "svc", copy.deepcopy(TICKET))
    order = (
        RecordStore(session, admin).entity("sales", "order").create({"number": "SO-7", "qty": 12})
    )
    session.commit()
    return {"admin": admin, "order": order.id}


def _version(page) -> int:  # noqa: ANN001
    return int(page.locator("[data-draft-version]").input_value())


def saved(page, action) -> None:  # noqa: ANN001
    """Do ``action`` and wait until the draft's next version is saved."""
    before = _version(page)
    action()
    expect(page.locator("[data-draft-version]")).to_have_value(str(before + 1))
    expect(page.locator("#d-status")).to_have_text(re.compile("^Saved"))


def _counts(session) -> tuple[int, int, int]:  # noqa: ANN001
    session.rollback()
    return tuple(
        session.scalar(select(func.count()).select_from(t))
        for t in (Record, RecordHistory, Notification)
    )


@pytest.mark.refusals(422)
def test_an_automation_built_tested_published_and_at_work(shop, session, sign_in, screenshot):  # noqa: ANN001
    page = sign_in("root")
    page.goto("/design/apps/sales")
    page.locator("#automation-key").fill("ticketing")
    page.locator("#automation-entity").select_option("sales.order")
    page.get_by_role("button", name="Create automation").click()
    page.wait_for_url(f"**{PAGE}")

    # The condition, checked as it is typed against the trigger's entity.
    page.locator("#condition").fill("record.qtty > 10")
    expect(page.locator("#condition-msg")).to_contain_text("has no field 'qtty'")
    page.locator("#condition").fill("record.")
    expect(page.locator('[data-completions-for="condition"]')).to_contain_text("qty")
    completion = page.locator('[data-completions-for="condition"] button', has_text="qty")
    saved(page, completion.click)
    page.locator("#condition").press_sequentially(" > 10")
    saved(page, lambda: page.locator("#condition").blur())
    expect(page.locator("#condition-msg")).to_have_text("Valid expression")

    # A create-record action, moved above the notify action of the seed.
    page.locator("#new-action-type").select_option("create_record")
    saved(page, lambda: page.get_by_role("button", name="Add action").click())
    saved(page, lambda: page.locator("#a1-entity").select_option("svc.ticket"))
    page.locator("#a1-new-key").select_option("order")
    page.locator("#a1-new-expr").fill("record.id")
    saved(page, lambda: page.locator('[data-index="1"] [data-action="add-key"]').click())
    page.locator("#a1-new-key").select_option("note")
    page.locator("#a1-new-expr").fill("'big order ' + record.number")
    saved(page, lambda: page.locator('[data-index="1"] [data-action="add-key"]').click())
    saved(page, lambda: page.get_by_role("button", name="Move action 2 up").click())
    expect(page.locator(".d-action h3").first).to_have_text("1. Create a record")

    # The notify action's text; a role the workspace lacks is refused next to its input.
    page.locator("#a1-roles").fill("wizard")
    page.locator("#a1-roles").blur()
    expect(page.locator("#d-status")).to_contain_text("Not saved")
    expect(page.locator('.d-error[data-error-for="/actions/1/roles"]')).to_contain_text(
        "no role 'wizard'"
    )
    saved(page, lambda: (page.locator("#a1-roles").fill("admin"), page.locator("#a1-roles").blur()))
    expect(page.locator(".d-error")).to_have_count(0)
    page.locator("#a1-text").fill("Order {{ record.number }} is big")
    saved(page, lambda: page.locator("#a1-text").blur())

    # Undo takes the text back, redo makes it again.
    saved(page, lambda: page.get_by_role("button", name="Undo").click())
    expect(page.locator("#a1-text")).to_have_value("{{ record.id }}")
    saved(page, lambda: page.get_by_role("button", name="Redo").click())
    expect(page.locator("#a1-text")).to_have_value("Order {{ record.number }} is big")

    # Test with record…: what each action would do, and nothing written.
    before = _counts(session)
    page.locator("#dry-record").fill(str(shop["order"]))
    page.get_by_role("button", name="Test", exact=True).click()
    answer = page.locator("#dry-run-answer")
    expect(answer).to_contain_text("holds")
    expect(answer.locator("li").nth(0)).to_contain_text("would create a svc.ticket record with")
    expect(answer.locator("li").nth(0)).to_contain_text("big order SO-7")
    expect(answer.locator("li").nth(1)).to_contain_text("would notify root")
    expect(answer.locator("li").nth(1)).to_contain_text("Order SO-7 is big")
    screenshot("dry-run")
    assert _counts(session) == before

    page.get_by_role("button", name="Publish").click()
    expect(page.locator("body")).to_contain_text("Published as version 1.")
    expect(page.locator("#d-status")).to_contain_text("published version 1, on")

    # At work: an order created in the runtime makes a ticket and a notification.
    page.goto("/apps/sales/order/new")
    page.locator("#f-number").fill("SO-8")
    page.locator("#f-qty").fill("20")
    page.locator("form.record-form button[type=submit], form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/apps/sales/order/\d+$"))
    session.rollback()
    tickets = RecordStore(session, shop["admin"]).entity("svc", "ticket").list().items
    assert [t.data["note"] for t in tickets] == ["big order SO-8"]
    texts = session.scalars(select(Notification.text)).all()
    assert texts == ["Order SO-8 is big"]


@pytest.mark.refusals(412)
def test_a_draft_changed_meanwhile_is_not_overwritten(shop, session, sign_in):  # noqa: ANN001
    from jizuo.designer.automation_drafts import create_automation
    from jizuo.designer.definition_drafts import replace_draft

    admin = shop["admin"]
    create_automation(session, admin, "sales", "ticketing", "sales.order")
    session.commit()
    page = sign_in("root")
    page.goto(PAGE)
    found = get_definition(session, admin, "sales", "automation", "ticketing")
    body = {**found.draft, "condition": "record.qty > 1"}
    replace_draft(session, admin, "sales", "automation", "ticketing", body, found.draft_version)
    session.commit()
    page.locator("#condition").fill("record.qty > 5")
    page.locator("#condition").blur()
    expect(page.locator("#d-status")).to_contain_text("root changed this draft at")
    expect(page.locator("#d-status").get_by_role("button", name="Reload")).to_be_visible()
    session.rollback()
    assert (
        get_definition(session, admin, "sales", "automation", "ticketing").draft["condition"]
        == "record.qty > 1"
    )
