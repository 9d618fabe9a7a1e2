"""Approvals (any, count, all; once each; a rejection blocks the round), assignments, my
tasks and overdue assignments."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from jizuo.platform.approvals import (
    approval_status,
    approve,
    assign,
    my_tasks,
    overdue_assignments,
    reject,
)
from jizuo.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jizuo.platform.models import Assignment
from jizuo.platform.records import RecordStore
from jizuo.platform.transitions import apply_transition
from tests import factories
from tests.platform.test_workflows import NCR_FLOW, Flow

DEFECTS = [{"code": "D1", "count": 1}]
SIGNED = {"password": factories.PASSWORD, "meaning": "approved"}
RECORDS = "/api/v1/apps/qms/entities/ncr/records"


@pytest.fixture
def flow(session):  # noqa: ANN001, ANN201
    return Flow(session)


def _in_disposition(flow: Flow) -> int:
    """An NCR waiting for the close approvals."""
    rid = flow.ncr(defects=DEFECTS).id
    apply_transition(flow.session, flow.actors["ina"], "qms", "ncr", rid, "submit")
    apply_transition(flow.session, flow.actors["quinn"], "qms", "ncr", rid, "propose",
                     values={"disposition": "scrap"}, comment="scrap")  # fmt: skip
    flow.session.commit()
    return rid


def _decide(flow: Flow, who: str, rid: int, decision=approve):  # noqa: ANN001, ANN201
    result = decision(flow.session, flow.actors[who], "qms", "ncr", rid, "close")
    flow.session.commit()
    return result


def _status(flow: Flow, rid: int):  # noqa: ANN201
    step = (
        RecordStore(flow.session, flow.admin).entity("qms", "ncr").workflow().transitions["close"]
    )
    return approval_status(flow.session, flow.ws.id, rid, step)


def test_members_of_the_role_approve_once_each(flow, session):
    rid = _in_disposition(flow)
    with pytest.raises(PermissionDenied, match="needs the role 'qa_manager'"):
        _decide(flow, "quinn", rid)
    session.rollback()
    first = _decide(flow, "m1", rid)
    assert (first.decision, first.round, first.user_id) == ("approve", 2, flow.users["m1"].id)
    with pytest.raises(Conflict, match="already decided"):
        _decide(flow, "m1", rid)
    session.rollback()
    with pytest.raises(Conflict, match="already decided"):
        _decide(flow, "m1", rid, reject)
    session.rollback()
    status = _status(flow, rid)
    assert (status.received, status.needed, status.complete) == (1, 2, False)
    _decide(flow, "m2", rid)
    assert _status(flow, rid).complete
    # Approving a transition that does not leave the record's state is refused.
    fresh = flow.ncr().id
    with pytest.raises(Conflict, match="cannot be approved there"):
        _decide(flow, "m1", fresh)
    session.rollback()
    with pytest.raises(Conflict, match="needs no approvals"):
        approve(session, flow.actors["m1"], "qms", "ncr", fresh, "submit")
    session.rollback()


def test_a_rejection_blocks_until_the_next_round(flow, session):
    rid = _in_disposition(flow)
    _decide(flow, "m1", rid)
    _decide(flow, "m2", rid, reject)
    with pytest.raises(Conflict, match="rejected in this round"):
        _decide(flow, "m3", rid)
    session.rollback()
    with pytest.raises(Conflict) as exc:
        apply_transition(session, flow.actors["quinn"], "qms", "ncr", rid, "close",
                         signature=SIGNED)  # fmt: skip
    session.rollback()
    assert "rejected in this round" in exc.value.errors[0]["message"]
    # Back to open and forward again: a new round, where the old decisions do not count.
    for who, name, kwargs in (
        ("quinn", "send_back", {"comment": "redo"}),
        ("ina", "submit", {}),
        ("quinn", "propose", {"comment": "again"}),
    ):
        apply_transition(session, flow.actors[who], "qms", "ncr", rid, name, **kwargs)
    session.commit()
    status = _status(flow, rid)
    assert (status.round, status.received, status.rejected) == (5, 0, frozenset())
    _decide(flow, "m2", rid)
    _decide(flow, "m3", rid)
    record = apply_transition(session, flow.actors["quinn"], "qms", "ncr", rid, "close",
                              signature=SIGNED)  # fmt: skip
    assert record.state == "closed"


def test_all_members_of_the_role_must_approve_in_mode_all(session):
    every = copy.deepcopy(NCR_FLOW)
    every["transitions"][3]["approvals"] = {"role": "qa_manager", "mode": "all"}
    flow = Flow(session, every)
    rid = _in_disposition(flow)
    _decide(flow, "m1", rid)
    _decide(flow, "m2", rid)
    with pytest.raises(Conflict) as exc:
        apply_transition(session, flow.actors["quinn"], "qms", "ncr", rid, "close",
                         signature=SIGNED)  # fmt: skip
    session.rollback()
    assert "missing: 1 of 3" in exc.value.errors[0]["message"]
    _decide(flow, "m3", rid)
    record = apply_transition(session, flow.actors["quinn"], "qms", "ncr", rid, "close",
                              signature=SIGNED)  # fmt: skip
    assert record.state == "closed"


def test_mode_any_needs_one_approval(session):
    one = copy.deepcopy(NCR_FLOW)
    one["transitions"][3]["approvals"] = {"role": "qa_manager", "mode": "any"}
    flow = Flow(session, one)
    rid = _in_disposition(flow)
    assert not _status(flow, rid).complete
    _decide(flow, "m2", rid)
    assert _status(flow, rid).complete


def test_my_tasks_hold_pending_approvals_and_assignments(flow, session):
    rid = _in_disposition(flow)
    other = flow.ncr(defects=DEFECTS).id  # open: nothing to approve
    mine = [(t.kind, t.record_id, t.transition) for t in my_tasks(session, flow.actors["m1"])]
    assert mine == [("approval", rid, "close")]
    assert my_tasks(session, flow.actors["ina"]) == []
    _decide(flow, "m1", rid)
    assert my_tasks(session, flow.actors["m1"]) == []
    assert [t.record_id for t in my_tasks(session, flow.actors["m2"])] == [rid]
    # Assignments, to a member and to a role.
    past = datetime.now(UTC) - timedelta(days=1)
    assign(session, flow.actors["quinn"], "qms", "ncr", other, user="ina", due_at=past)
    assign(session, flow.actors["quinn"], "qms", "ncr", rid, role="quality_engineer")
    session.commit()
    ina = my_tasks(session, flow.actors["ina"])
    assert [(t.kind, t.record_id, t.assigned_to) for t in ina] == [("assignment", other, "ina")]
    quinn = my_tasks(session, flow.actors["quinn"])
    assert [(t.kind, t.assigned_to) for t in quinn] == [("assignment", "role:quality_engineer")]
    overdue = overdue_assignments(session, flow.actors["quinn"])
    assert [(t.record_id, t.assigned_to) for t in overdue] == [(other, "ina")]
    assert overdue_assignments(session, flow.actors["quinn"], past - timedelta(days=1)) == []
    # Moving on closes the record's assignments.
    apply_transition(session, flow.actors["ina"], "qms", "ncr", other, "submit")
    session.commit()
    assert overdue_assignments(session, flow.actors["quinn"]) == []
    assert my_tasks(session, flow.actors["ina"]) == []
    done = session.scalar(select(Assignment).where(Assignment.record_id == other))
    assert done.done_at is not None
    history = [e.action for e in flow_history(flow, other)]
    assert history == ["create", "assign", "transition"]


def flow_history(flow: Flow, rid: int):  # noqa: ANN201
    return RecordStore(flow.session, flow.admin).entity("qms", "ncr").history(rid)


def test_assignments_are_checked(flow, session):
    rid = flow.ncr().id
    quinn = flow.actors["quinn"]
    with pytest.raises(ValidationFailed):
        assign(session, quinn, "qms", "ncr", rid)
    with pytest.raises(ValidationFailed):
        assign(session, quinn, "qms", "ncr", rid, user="ina", role="qa_manager")
    with pytest.raises(ValidationFailed, match="No such member"):
        assign(session, quinn, "qms", "ncr", rid, user="nobody")
    with pytest.raises(ValidationFailed, match="No such role"):
        assign(session, quinn, "qms", "ncr", rid, role="wizard")
    with pytest.raises(PermissionDenied):  # QA managers may not change NCRs
        assign(session, flow.actors["m1"], "qms", "ncr", rid, role="qa_manager")
    other = Flow(session, key="other")
    with pytest.raises(ValidationFailed, match="No such member"):  # not of this workspace
        assign(session, quinn, "qms", "ncr", rid, user=other.users["ina"].id)
    with pytest.raises(NotFound):
        assign(session, other.actors["quinn"], "qms", "ncr", rid, role="qa_manager")
    session.rollback()
    assert my_tasks(session, other.actors["m1"]) == []


def test_approvals_tasks_and_assignments_over_the_api(flow, client, session):
    rid = _in_disposition(flow)
    m1 = flow.headers["m1"]
    tasks = client.get("/api/v1/tasks", headers=m1).json["items"]
    assert [(t["kind"], t["record_id"], t["transition"]) for t in tasks] == [
        ("approval", rid, "close")
    ]
    assert tasks[0]["href"] == f"/apps/qms/ncr/{rid}"
    bad = client.post(f"{RECORDS}/{rid}/approvals/close", json={"decision": "maybe"}, headers=m1)
    assert bad.status_code == 422
    ok = client.post(f"{RECORDS}/{rid}/approvals/close",
                     json={"decision": "approve", "comment": "fine"}, headers=m1)  # fmt: skip
    assert ok.status_code == 201 and ok.json["decision"] == "approve" and ok.json["round"] == 2
    again = client.post(f"{RECORDS}/{rid}/approvals/close", json={"decision": "reject"}, headers=m1)
    assert again.status_code == 409
    refused = client.post(f"{RECORDS}/{rid}/approvals/close", json={"decision": "approve"},
                          headers=flow.headers["ina"])  # fmt: skip
    assert refused.status_code == 403
    assert client.get("/api/v1/tasks", headers=m1).json["items"] == []
    due = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assigned = client.post(f"{RECORDS}/{rid}/assignments", json={"user": "m2", "due_at": due},
                           headers=flow.headers["quinn"])  # fmt: skip
    assert assigned.status_code == 201 and assigned.json["user_id"] == flow.users["m2"].id
    bad_due = client.post(f"{RECORDS}/{rid}/assignments", json={"role": "qa_manager",
                          "due_at": "tomorrow"}, headers=flow.headers["quinn"])  # fmt: skip
    assert bad_due.status_code == 422 and bad_due.json["errors"][0]["path"] == "/due_at"
    m2 = client.get("/api/v1/tasks", headers=flow.headers["m2"]).json["items"]
    assert sorted(t["kind"] for t in m2) == ["approval", "assignment"]
    overdue = client.get("/api/v1/assignments/overdue", headers=flow.headers["quinn"]).json
    assert [(t["record_id"], t["assigned_to"]) for t in overdue["items"]] == [(rid, "m2")]
    assert (
        client.get("/api/v1/assignments/overdue", headers=flow.headers["root"]).status_code == 200
    )
