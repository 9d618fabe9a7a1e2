"""Transitions: an NCR through its workflow, each refusal with its reason and nothing changed;
the audit entry, the signature, the event; the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jizuo.platform import events
from jizuo.platform.approvals import approve
from jizuo.platform.audit import verify_chain
from jizuo.platform.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from jizuo.platform.models import Record, RecordHistory
from jizuo.platform.records import RecordStore
from jizuo.platform.transitions import apply_transition, available_transitions
from tests import factories
from tests.platform.test_workflows import Flow

DEFECTS = [{"code": "D1", "count": 1}]
SIGNED = {"password": factories.PASSWORD, "meaning": "approved"}


@pytest.fixture
def flow(session):  # noqa: ANN001, ANN201
    return Flow(session)


@pytest.fixture
def heard(monkeypatch):  # noqa: ANN001, ANN201
    got: list[events.RecordEvent] = []
    monkeypatch.setattr(events, "_LISTENERS", [lambda _session, batch: got.extend(batch)])
    return got


def _take(flow: Flow, who: str, record_id: int, name: str, **kwargs):  # noqa: ANN003, ANN201
    actor = flow.admin if who == "root" else flow.actors[who]
    record = apply_transition(flow.session, actor, "qms", "ncr", record_id, name, **kwargs)
    flow.session.commit()
    return record


def _snapshot(session, record_id: int) -> tuple:  # noqa: ANN001
    session.rollback()
    record = session.get(Record, record_id)
    session.refresh(record)
    entries = session.scalar(
        select(func.count()).select_from(RecordHistory).where(RecordHistory.record_id == record_id)
    )
    return record.state, record.version, dict(record.data), entries


def _refused(flow: Flow, error_type: type, who: str, record_id: int, name: str, **kwargs):  # noqa: ANN003, ANN201
    before = _snapshot(flow.session, record_id)
    with pytest.raises(error_type) as exc:
        _take(flow, who, record_id, name, **kwargs)
    flow.session.rollback()
    assert _snapshot(flow.session, record_id) == before, "a refused transition changed something"
    return {"detail": exc.value.detail, **{e["path"]: e["message"] for e in exc.value.errors}}


def test_an_ncr_goes_through_its_workflow(flow, session, heard):
    rid = flow.ncr(defects=DEFECTS, qty_rejected=3).id
    record = _take(flow, "ina", rid, "submit")
    assert record.state == "review" and record.version == 2
    record = _take(flow, "quinn", rid, "propose", values={"disposition": "scrap"},
                   comment="Cracked housings: scrap the lot")  # fmt: skip
    assert record.state == "disposition" and record.data["disposition"] == "scrap"
    assert record.version == 4  # the values, then the transition
    approve(session, flow.actors["m1"], "qms", "ncr", rid, "close", "ok")
    approve(session, flow.actors["m2"], "qms", "ncr", rid, "close")
    session.commit()
    record = _take(flow, "quinn", rid, "close", signature=SIGNED, comment="Closed after review")
    assert record.state == "closed" and record.version == 5

    history = RecordStore(session, flow.admin).entity("qms", "ncr").history(rid)
    assert [e.action for e in history] == [
        "create", "transition", "update", "transition", "approve", "approve", "transition"
    ]  # fmt: skip
    last = history[-1]
    assert last.reason == "Closed after review" and last.actor_id == flow.users["quinn"].id
    assert last.diff["_state"] == ["disposition", "closed"]
    signature = last.diff["_signature"]
    assert signature["meaning"] == "approved" and signature["user"] == "quinn"
    assert signature["name"] == flow.users["quinn"].display_name and signature["at"]
    assert history[3].reason == "Cracked housings: scrap the lot"
    assert verify_chain(session, flow.ws.id) == []

    moved = [e for e in heard if e.kind == events.TRANSITIONED]
    assert [(e.from_state, e.to_state) for e in moved] == [
        ("open", "review"), ("review", "disposition"), ("disposition", "closed")
    ]  # fmt: skip
    assert all(e.record_id == rid and e.changed == () for e in moved)
    assert moved[-1].seq == last.seq and moved[-1].actor_id == flow.users["quinn"].id
    assert [e.kind for e in heard].count(events.UPDATED) == 1  # the proposed disposition


def test_refusals_name_their_reason_and_change_nothing(flow, session):
    rid = flow.ncr(qty_rejected=0).id
    # The policy does not grant 'propose' to inspectors, and it needs the QE role.
    found = _refused(flow, PermissionDenied, "ina", rid, "propose")
    assert "may not take the transition 'propose'" in found["/transition"]
    assert "'quality_engineer'" in found["/roles"]
    # QA managers may read, not change: no transition at all.
    assert "may not change" in _refused(flow, PermissionDenied, "m1", rid, "cancel")["detail"]
    # Not from this state.
    found = _refused(flow, Conflict, "quinn", rid, "close")
    assert "is in state 'open'" in found["/state"]
    # The guard, with its expression, and the empty required field, with its path.
    found = _refused(flow, ValidationFailed, "ina", rid, "submit")
    assert "`qty_rejected > 0`" in found["/guard"]
    assert "required before entering 'review'" in found["/defects"]
    # Values are applied first, then checked: a refusal undoes them too.
    found = _refused(flow, ValidationFailed, "ina", rid, "submit", values={"qty_rejected": 5})
    assert list(found) == ["detail", "/defects"]  # the guard now holds; qty_rejected stays 0
    # Values go through the record store: validation and field levels apply.
    found = _refused(flow, ValidationFailed, "ina", rid, "submit", values={"qty_rejected": -1})
    assert "/qty_rejected" in found
    # A stale version.
    with pytest.raises(StaleVersion):
        _take(flow, "ina", rid, "submit", expected_version=7)
    session.rollback()
    # A comment is needed to propose.
    record = _take(flow, "ina", rid, "submit", values={"qty_rejected": 1, "defects": DEFECTS})
    found = _refused(flow, ValidationFailed, "quinn", rid, "propose",
                     values={"disposition": "rework"}, comment="  ")  # fmt: skip
    assert "needs a comment" in found["/comment"]
    assert record.state == "review"
    # Unknown transitions and records of nobody's workflow are not found.
    with pytest.raises(NotFound):
        _take(flow, "quinn", rid, "teleport")


def test_approvals_and_the_signature_must_be_complete(flow, session):
    rid = flow.ncr(defects=DEFECTS).id
    _take(flow, "ina", rid, "submit")
    _take(flow, "quinn", rid, "propose", values={"disposition": "rework"}, comment="rework")
    found = _refused(flow, Conflict, "quinn", rid, "close", signature=SIGNED)
    assert "approvals missing: 2 of 2 from role 'qa_manager'" in found["/approvals"]
    approve(session, flow.actors["m3"], "qms", "ncr", rid, "close")
    session.commit()
    found = _refused(flow, Conflict, "quinn", rid, "close", signature=SIGNED)
    assert "missing: 1 of 2" in found["/approvals"]
    approve(session, flow.actors["m1"], "qms", "ncr", rid, "close")
    session.commit()
    # The signature: required, with a meaning of the list, and the signer's own password.
    assert (
        "needs your signature"
        in _refused(flow, ValidationFailed, "quinn", rid, "close")["/signature"]
    )
    found = _refused(flow, ValidationFailed, "quinn", rid, "close",
                     signature={"password": factories.PASSWORD, "meaning": "liked"})  # fmt: skip
    assert "'approved', 'reviewed'" in found["/signature/meaning"]
    found = _refused(flow, ValidationFailed, "quinn", rid, "close",
                     signature={"password": "not my password", "meaning": "reviewed"})  # fmt: skip
    assert found == {
        "detail": "The signature could not be verified.",
        "/signature/password": "the signature could not be verified",
    }
    record = _take(flow, "quinn", rid, "close",
                   signature={"password": factories.PASSWORD, "meaning": "reviewed"})  # fmt: skip
    assert record.state == "closed"
    last = RecordStore(session, flow.admin).entity("qms", "ncr").history(rid)[-1]
    assert last.diff["_signature"]["meaning"] == "reviewed"
    assert factories.PASSWORD not in str(last.diff)


def test_the_guard_reads_the_values_given_with_the_transition(flow, session):
    rid = flow.ncr(defects=DEFECTS, qty_rejected=20).id
    _take(flow, "ina", rid, "submit")
    _take(flow, "quinn", rid, "propose", values={"disposition": "use_as_is"}, comment="fine")
    for who in ("m1", "m2"):
        approve(session, flow.actors[who], "qms", "ncr", rid, "close")
    session.commit()
    found = _refused(flow, ValidationFailed, "quinn", rid, "close", signature=SIGNED)
    assert "disposition != 'use_as_is' or qty_rejected < 10" in found["/guard"]


def test_a_state_keeps_its_read_only_fields_and_the_state_is_no_field(flow, session):
    rid = flow.ncr(defects=DEFECTS).id
    ncrs = RecordStore(session, flow.actors["ina"]).entity("qms", "ncr")
    ncrs.update(rid, {"lot_no": "L-2"}, 1)  # open: free to change
    session.commit()
    _take(flow, "ina", rid, "submit")
    ncrs = RecordStore(session, flow.actors["ina"]).entity("qms", "ncr")
    with pytest.raises(ValidationFailed) as exc:
        ncrs.update(rid, {"lot_no": "L-3", "qty_rejected": 5}, 3)
    session.rollback()
    assert [(e["path"], e["code"]) for e in exc.value.errors] == [("/lot_no", "read_only")]
    assert ncrs.update(rid, {"lot_no": "L-2", "qty_rejected": 5}, 3).version == 4  # unchanged: ok
    session.commit()
    with pytest.raises(ValidationFailed) as exc:
        ncrs.update(rid, {"state": "closed"}, 4)
    session.rollback()
    assert exc.value.errors[0]["path"] == "/state"
    assert session.get(Record, rid).state == "review"


def test_available_transitions_say_what_the_actor_may_take_and_why_not(flow, session):
    record = flow.ncr(qty_rejected=0)
    options = {
        o.name: o for o in available_transitions(session, flow.actors["ina"], "qms", "ncr", record)
    }
    assert list(options) == ["submit", "cancel"]  # those leaving 'open'
    assert not options["submit"].allowed and options["submit"].permitted
    assert {r["path"] for r in options["submit"].reasons} == {"/guard", "/defects"}
    assert options["cancel"].allowed
    qe = available_transitions(session, flow.actors["quinn"], "qms", "ncr", record)
    assert [o.name for o in qe if o.permitted] == ["submit", "cancel"]
    manager = available_transitions(session, flow.actors["m1"], "qms", "ncr", record)
    assert not any(o.permitted for o in manager)


# -- the API ------------------------------------------------------------------------------

RECORDS = "/api/v1/apps/qms/entities/ncr/records"


def test_transitions_over_the_api(flow, client, session):
    rid = flow.ncr(defects=DEFECTS).id
    ina, quinn = flow.headers["ina"], flow.headers["quinn"]
    listed = client.get(f"{RECORDS}/{rid}/transitions", headers=ina)
    assert listed.status_code == 200 and listed.json["state"] == "open"
    assert [(i["name"], i["allowed"]) for i in listed.json["items"]] == [
        ("submit", True), ("cancel", True)
    ]  # fmt: skip
    taken = client.post(f"{RECORDS}/{rid}/transitions/submit", headers={**ina, "If-Match": '"1"'})
    assert taken.status_code == 200 and taken.json["state"] == "review"
    assert taken.headers["ETag"] == '"2"'
    stale = client.post(f"{RECORDS}/{rid}/transitions/cancel", headers={**ina, "If-Match": '"1"'})
    assert stale.status_code == 412
    refused = client.post(f"{RECORDS}/{rid}/transitions/propose", json={}, headers=ina)
    assert refused.status_code == 403
    assert {e["path"] for e in refused.json["errors"]} == {"/transition", "/roles"}
    invalid = client.post(f"{RECORDS}/{rid}/transitions/propose", json={"comment": "ok"},
                          headers=quinn)  # fmt: skip
    assert invalid.status_code == 422
    assert invalid.json["errors"][0]["path"] == "/disposition"
    wrong_state = client.post(f"{RECORDS}/{rid}/transitions/submit", headers=quinn)
    assert wrong_state.status_code == 409 and wrong_state.json["errors"][0]["path"] == "/state"
    unknown = client.post(f"{RECORDS}/{rid}/transitions/propose", json={"colour": 1}, headers=quinn)
    assert unknown.status_code == 400
    proposed = client.post(
        f"{RECORDS}/{rid}/transitions/propose",
        json={"values": {"disposition": "scrap"}, "comment": "scrap it"},
        headers=quinn,
    )
    assert proposed.status_code == 200 and proposed.json["data"]["disposition"] == "scrap"
    waiting = client.post(f"{RECORDS}/{rid}/transitions/close", json={"signature": SIGNED},
                          headers=quinn)  # fmt: skip
    assert waiting.status_code == 409 and "2 of 2" in waiting.json["errors"][0]["message"]
    listed = client.get(f"{RECORDS}/{rid}/transitions", headers=flow.headers["m1"]).json
    close = next(i for i in listed["items"] if i["name"] == "close")
    assert close["may_approve"] and close["approvals"]["needed"] == 2
    assert close["signature"] == {"meanings": ["approved", "reviewed"]} and not close["allowed"]
    history = client.get(f"{RECORDS}/{rid}/history", headers=quinn).json["items"]
    assert history[-1]["diff"] == {"_state": ["review", "disposition"]}


def test_another_workspace_gets_404_for_every_workflow_route(flow, session, client):
    rid = flow.ncr(defects=DEFECTS).id
    other = Flow(session, key="other")
    h = other.headers["quinn"]
    assert client.get(f"{RECORDS}/{rid}/transitions", headers=h).status_code == 404
    assert client.post(f"{RECORDS}/{rid}/transitions/submit", headers=h).status_code == 404
    decided = client.post(f"{RECORDS}/{rid}/approvals/close", json={"decision": "approve"},
                          headers=other.headers["m1"])  # fmt: skip
    assert decided.status_code == 404
    assigned = client.post(f"{RECORDS}/{rid}/assignments", json={"role": "qa_manager"}, headers=h)
    assert assigned.status_code == 404
    with pytest.raises(NotFound):
        apply_transition(session, other.actors["quinn"], "qms", "ncr", rid, "submit")
    session.rollback()
    assert session.get(Record, rid).state == "open"
