"""The designer's app pages and workflow designer in a real browser: an app exported to a
file and imported into a second workspace shows the same form; a workflow drawn as a
diagram, with a state no transition reaches flagged."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.test_designer import LOT

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="needs the test extra").expect


@pytest.fixture
def two_workspaces(session):  # noqa: ANN001, ANN201
    acme = factories.workspace(session)
    user, admin = factories.member(session, acme, "root", ("admin",))
    factories.published(session, admin, "qa", LOT)
    beta = factories.workspace(session, "beta")
    from jizuo.platform.auth import add_member

    add_member(session, user, beta, ["admin"])
    session.commit()
    return admin


def _fields(page) -> list[str]:  # noqa: ANN001
    page.goto("/apps/qa/lot/new")
    return page.locator(".record-form [data-field]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.field + ':' + n.querySelector('label, .label').textContent.trim())"
    )


def test_an_exported_app_imported_into_another_workspace_shows_the_same_form(
    two_workspaces, sign_in, tmp_path
):  # noqa: ANN001
    page = sign_in("root")
    original = _fields(page)
    assert [f.split(":")[0] for f in original] == ["lot_number", "qty", "note"]
    page.goto("/design/apps/qa")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export to a file").click()
    path = tmp_path / "qa.json"
    download.value.save_as(path)

    page.locator(".workspaces summary").click()
    page.get_by_role("button", name="Beta").click()
    page.goto("/design/import")
    page.locator("#import-file").set_input_files(str(path))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-report")).to_contain_text("No conflicts.")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported app qa")).to_be_visible()
    assert _fields(page) == original


def test_a_workflow_is_drawn_and_its_problems_listed(two_workspaces, sign_in, screenshot):  # noqa: ANN001
    page = sign_in("root")
    page.goto("/design/apps/qa")
    page.locator("#workflow-key").fill("lot_flow")
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator("#diagram svg")).to_be_visible()
    page.locator("#state-title-en").fill("Review")
    page.locator("#state-category").select_option("done")
    page.locator("#state-from").select_option("open")
    page.get_by_role("button", name="Add state").last.click()
    expect(page.locator("#diagram svg")).to_contain_text("Review")
    screenshot("workflow-diagram")
    # A state nothing leads to is refused, and the page says why.
    page.locator("#state-title-en").fill("Orphan")
    page.locator("#state-category").select_option("done")
    page.get_by_role("button", name="Add state").last.click()
    expect(page.locator(".notice")).to_contain_text("orphan")
    expect(page.locator("#diagram svg")).not_to_contain_text("Orphan")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#diagram svg")).not_to_contain_text("Review")
