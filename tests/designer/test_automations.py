"""The automation designer without a browser: its API (whole drafts with their version,
undo and redo, publishing, expressions checked against the trigger, the dry run) and its
pages (designers only, other workspaces, CSRF)."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from jizuo.platform.models import Notification, Record
from jizuo.platform.records import RecordStore
from tests import factories
from tests.automation_support import ORDER, TICKET
from tests.designer.conftest import Caller

BASE = "/apps/sales/automations/ticketing"


@pytest.fixture
def sales(session, client):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    root_user, admin = factories.member(session, ws, "root", ("admin",))
    dee_user, _ = factories.member(session, ws, "dee", ("designer",))
    max_user, _ = factories.member(session, ws, "max", ("member",))
    factories.published(session, admin, "sales", copy.deepcopy(ORDER))
    factories.published(session, admin, "svc", copy.deepcopy(TICKET))
    order = RecordStore(session, admin).entity("sales", "order").create({"number": "SO-1"})
    other = factories.workspace(session, "beta")
    bea_user, _ = factories.member(session, other, "bea", ("admin",))
    callers = {
        "order": order.id,
        "dee": Caller(client, factories.token(session, ws, dee_user)),
        "max": Caller(client, factories.token(session, ws, max_user)),
        "bea": Caller(client, factories.token(session, other, bea_user)),
        "root": Caller(client, factories.token(session, ws, root_user)),
    }
    session.commit()
    return callers


def _create(sales) -> dict:  # noqa: ANN001
    answer = sales["dee"]("POST", "/apps/sales/automations",
                          {"key": "ticketing", "entity": "sales.order"})  # fmt: skip
    assert answer.status_code == 201, answer.json
    return answer.json


def test_whole_drafts_with_their_version_undo_redo_and_publish(sales):  # noqa: ANN001
    dee = sales["dee"]
    state = _create(sales)
    assert state["draft"]["trigger"] == {"on": "created", "entity": "sales.order"}
    draft = {**state["draft"], "condition": "record.qty > 1"}
    answer = dee("PUT", f"{BASE}/draft", {"draft": draft, "version": state["version"]})
    assert answer.status_code == 200 and answer.json["can_undo"]
    stale = dee("PUT", f"{BASE}/draft", {"draft": draft, "version": state["version"]})
    assert stale.status_code == 412 and stale.json["updated_by"] == "dee"
    bad = {**draft, "actions": [{"type": "create_record", "entity": "svc.ticket",
                                 "values": {"nope": "1"}}]}  # fmt: skip
    refused = dee("PUT", f"{BASE}/draft", {"draft": bad, "version": answer.json["version"]})
    assert refused.status_code == 422
    assert refused.json["errors"][0]["path"] == "/actions/0/values/nope"
    undone = dee("POST", f"{BASE}/draft/undo", {"version": answer.json["version"]})
    assert "condition" not in undone.json["draft"] and undone.json["can_redo"]
    redone = dee("POST", f"{BASE}/draft/redo", {"version": undone.json["version"]})
    assert redone.json["draft"]["condition"] == "record.qty > 1"
    published = dee("POST", f"{BASE}/publish", {"version": redone.json["version"]})
    assert published.status_code == 201 and published.json["published_version"] == 1
    assert sales["root"]("GET", f"{BASE}/draft").json["draft"]["condition"] == "record.qty > 1"


def test_expressions_are_checked_against_the_trigger_and_completed(sales):  # noqa: ANN001
    dee = sales["dee"]
    _create(sales)
    check = dee("POST", f"{BASE}/expressions/check", {"expression": "record.qtty > 1"})
    assert check.json["valid"] is False
    assert check.json["errors"][0]["message"] == "'order' has no field 'qtty'"
    assert check.json["errors"][0]["start"] == 7
    check = dee("POST", f"{BASE}/expressions/check",
                {"expression": "n {{ payload.x }}", "template": True})  # fmt: skip
    assert check.json["valid"] is False and check.json["errors"][0]["start"] == 5
    assert dee("POST", f"{BASE}/expressions/check", {"expression": "record.qty"}).json["valid"]
    items = dee("GET", f"{BASE}/expressions/complete?prefix=record.q").json["items"]
    assert {"name": "qty", "kind": "field", "insert": "ty"} in items
    names = [i["name"] for i in dee("GET", f"{BASE}/expressions/complete?prefix=re").json["items"]]
    assert "record" in names


def test_the_dry_run_route_writes_nothing(sales, session):  # noqa: ANN001
    dee = sales["dee"]
    state = _create(sales)
    draft = {**state["draft"], "actions": [
        {"type": "create_record", "entity": "svc.ticket", "values": {"order": "record.id"}},
        *state["draft"]["actions"]]}  # fmt: skip
    dee("PUT", f"{BASE}/draft", {"draft": draft, "version": state["version"]})
    count = session.scalar(select(func.count()).select_from(Record))
    answer = dee("POST", f"{BASE}/dry-run", {"record_id": sales["order"]})
    assert answer.status_code == 200
    assert [a["status"] for a in answer.json["actions"]] == ["ok", "ok"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Record)) == count
    assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_members_are_refused_and_other_workspaces_see_nothing(sales):  # noqa: ANN001
    _create(sales)
    for caller, status in (("max", 403), ("bea", 404)):
        call = sales[caller]
        assert call("GET", f"{BASE}/draft").status_code == status
        assert call("POST", f"{BASE}/dry-run", {"record_id": sales["order"]}).status_code == status
        assert call("PUT", f"{BASE}/draft", {"draft": {}, "version": 1}).status_code == status


PAGES = ("/design/apps/sales", "/design/apps/sales/automations/ticketing",
         "/design/apps/sales/automations/ticketing/editor")  # fmt: skip


def test_the_pages_designers_only_and_csrf(sales, session, client):  # noqa: ANN001
    _create(sales)
    factories.login(client, "dee")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    assert client.post(f"/design{BASE}/dry-run", data={"record_id": "1"}).status_code == 400
    assert client.post(f"/design{BASE}/publish", data={"version": "1"}).status_code == 400
    answer = factories.post_form(
        client, f"/design{BASE}/dry-run", {"record_id": str(sales["order"])}, f"/design{BASE}"
    )
    assert answer.status_code == 200 and "would notify" in answer.get_data(as_text=True)
    answer = factories.post_form(client, "/design/apps/sales/automations",
                                 {"key": "second", "entity": "svc.ticket"}, "/design/apps/sales")  # fmt: skip
    assert answer.status_code == 302
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/design/")})
    factories.login(client, "max")
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/")})
    factories.login(client, "bea")
    for path in PAGES:
        assert client.get(path).status_code == 404, path
