"""Trying an automation on a record: what each action would do, or the error it would hit,
with nothing written, sent, notified or called."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from jizuo.platform.automation_dry_run import dry_run_automation
from jizuo.platform.definitions import publish_definition, save_draft_definition
from jizuo.platform.errors import NotFound, PermissionDenied, ValidationFailed
from jizuo.platform.models import (
    ActionReceipt,
    DraftHistory,
    Job,
    Notification,
    Record,
    RecordHistory,
)
from jizuo.platform.registry import register_pack_function
from tests import factories
from tests.automation_support import create, plant

CALLED: list[dict] = []


def _touch(session, actor, **args):  # noqa: ANN001, ANN003, ANN202
    CALLED.append(args)


register_pack_function("testpack.touch", _touch)

FLOW = {
    "entity": "order",
    "initial": "new",
    "states": [
        {"key": "new", "title": "New", "category": "draft"},
        {"key": "approved", "title": "Approved", "category": "done"},
    ],
    "transitions": [
        {"key": "approve", "title": "Approve", "from": ["new"], "to": "approved",
         "guard": "qty > 0"}
    ],
}  # fmt: skip

EVERYTHING = {
    "trigger": {"on": "created", "entity": "svc.ticket"},
    "condition": "record.source == 'auto'",
    "actions": [
        {"type": "create_record", "entity": "sales.order",
         "values": {"number": "'SO-' + str(record.id)", "qty": 3}},
        {"type": "update_record", "target": {"reference": "order"},
         "values": {"status": "'ticketed'"}},
        {"type": "transition", "target": {"reference": "order"}, "name": "approve",
         "comment": "ticket {{ record.id }}"},
        {"type": "webhook", "url": "https://erp.example.com/hook",
         "body": {"ticket": "{{ record.id }}", "note": "{{ record.note }}"}},
        {"type": "notify", "roles": ["designer"], "text": "Ticket {{ record.note }}"},
        {"type": "call", "function": "testpack.touch", "args": {"note": "record.note"}},
    ],
}  # fmt: skip


@pytest.fixture
def acme(session):  # noqa: ANN001, ANN201
    CALLED.clear()
    ws, actor = plant(session)
    save_draft_definition(session, actor, "sales", "workflow", "order_flow", FLOW)
    publish_definition(session, actor, "sales", "workflow", "order_flow")
    order = create(session, actor, "sales", "order", {"number": "SO-1", "qty": 2})
    ticket = create(
        session, actor, "svc", "ticket", {"order": order, "note": "n1", "source": "auto"}
    )
    session.commit()
    return ws, actor, order, ticket


def _draft(session, actor, body, key="everything"):  # noqa: ANN001, ANN202
    save_draft_definition(session, actor, "svc", "automation", key, copy.deepcopy(body))
    session.commit()


def _counts(session) -> dict[str, int]:  # noqa: ANN001
    session.expire_all()
    tables = (Record, RecordHistory, Job, Notification, ActionReceipt, DraftHistory)
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) for t in tables}


def test_each_action_is_described_and_nothing_is_written(session, acme):  # noqa: ANN001
    _, actor, order, ticket = acme
    _draft(session, actor, EVERYTHING)
    before = _counts(session)
    answer = dry_run_automation(session, actor, "svc", "everything", ticket)
    session.commit()  # even a caller that commits writes nothing
    assert _counts(session) == before
    assert CALLED == []
    assert answer["condition"] == {"expression": "record.source == 'auto'", "value": True}
    create_, update, transition, webhook, notify, call = answer["actions"]
    assert [a["status"] for a in answer["actions"]] == ["ok"] * 6, answer
    assert create_["detail"]["entity"] == "sales.order"
    assert create_["detail"]["values"] == {"number": f"SO-{ticket}", "qty": 3}
    assert update["detail"] == {
        "entity": "sales.order", "record_id": order, "changes": {"status": [None, "ticketed"]}
    }  # fmt: skip
    assert transition["detail"]["from_state"] == "new"
    assert transition["detail"]["to_state"] == "approved"
    assert transition["detail"]["comment"] == f"ticket {ticket}"
    assert webhook["detail"]["body"] == {"ticket": ticket, "note": "n1"}
    assert webhook["detail"]["sent"] is False and webhook["detail"]["signed"] is False
    assert notify["detail"]["users"] == [actor.username]
    assert notify["detail"]["text"] == "Ticket n1"
    assert notify["detail"]["link"] == f"/apps/svc/ticket/{ticket}"
    assert call["detail"] == {"function": "testpack.touch", "args": {"note": "n1"}, "called": False}
    session.expire_all()
    stored = session.get(Record, order)
    assert stored.state == "new" and "status" not in stored.data


def test_the_first_error_is_reported_and_the_rest_not_reached(session, acme):  # noqa: ANN001
    _, actor, order, ticket = acme
    body = copy.deepcopy(EVERYTHING)
    body["actions"][0]["values"] = {"qty": 3}  # the order's number is required
    _draft(session, actor, body)
    answer = dry_run_automation(session, actor, "svc", "everything", ticket)
    first, *rest = answer["actions"]
    assert first["status"] == "error"
    assert first["error"]["errors"][0]["path"] == "/number"
    assert {a["status"] for a in rest} == {"not_reached"}


def test_a_guard_that_fails_and_a_missing_webhook_secret(session, acme):  # noqa: ANN001
    _, actor, order, ticket = acme
    store_order = create(session, actor, "sales", "order", {"number": "SO-0", "qty": 0})
    ticket2 = create(session, actor, "svc", "ticket", {"order": store_order, "note": "n2"})
    body = {
        "trigger": {"on": "created", "entity": "svc.ticket"},
        "actions": [{"type": "transition", "target": {"reference": "order"}, "name": "approve"}],
    }
    _draft(session, actor, body, "guarded")
    [row] = dry_run_automation(session, actor, "svc", "guarded", ticket2)["actions"]
    assert row["status"] == "error" and "qty > 0" in row["error"]["message"]
    body = {
        "trigger": {"on": "created", "entity": "svc.ticket"},
        "actions": [{"type": "webhook", "url": "https://x.example.com", "secret": "erp"}],
    }
    _draft(session, actor, body, "signed")
    [row] = dry_run_automation(session, actor, "svc", "signed", ticket)["actions"]
    assert row["status"] == "error" and "JIZUO_WEBHOOK_SECRETS" in row["error"]["message"]


def test_a_false_condition_runs_no_action_and_an_empty_reference_is_skipped(session, acme):  # noqa: ANN001
    _, actor, _order, _ticket = acme
    loose = create(session, actor, "svc", "ticket", {"note": "manual", "source": "hand"})
    _draft(session, actor, EVERYTHING)
    answer = dry_run_automation(session, actor, "svc", "everything", loose)
    assert answer["condition"]["value"] is False
    assert {a["status"] for a in answer["actions"]} == {"not_reached"}
    body = {**copy.deepcopy(EVERYTHING), "condition": None}
    body["actions"] = body["actions"][1:2]
    _draft(session, actor, body, "loose")
    [row] = dry_run_automation(session, actor, "svc", "loose", loose)["actions"]
    assert row["status"] == "skipped"


def test_a_record_is_needed_read_with_the_testers_rights(session, acme):  # noqa: ANN001
    ws, actor, _order, ticket = acme
    _draft(session, actor, EVERYTHING)
    with pytest.raises(ValidationFailed):
        dry_run_automation(session, actor, "svc", "everything", None)
    with pytest.raises(NotFound):
        dry_run_automation(session, actor, "svc", "everything", 999_999)
    _, member = factories.member(session, ws, "max", ("member",))
    with pytest.raises(PermissionDenied):
        dry_run_automation(session, member, "svc", "everything", ticket)
    other_ws, other = plant(session, "beta")
    with pytest.raises(NotFound):
        dry_run_automation(session, other, "svc", "everything", ticket)
