"""Workflow definitions: the meta-schema and the checks against the app, publishing, loading.

``NCR_FLOW`` and ``Flow`` are shared by the transition, approval and page tests."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from jizuo.platform import definitions
from jizuo.platform.errors import ValidationFailed
from jizuo.platform.models import App
from jizuo.platform.permissions import define_role, save_app_permissions
from jizuo.platform.records import RecordStore
from jizuo.platform.workflows import workflow_of
from tests import factories

NCR_FLOW = {
    "title": {"en": "NCR handling", "zh": "不合格品处理"},
    "entity": "ncr",
    "initial": "open",
    "states": [
        {"key": "open", "title": {"en": "Open", "zh": "打开"}, "category": "draft"},
        {"key": "review", "title": "In review", "category": "active",
         "readonly_fields": ["lot_no"]},
        {"key": "disposition", "title": "Disposition", "category": "active",
         "readonly_fields": ["lot_no", "disposition"]},
        {"key": "closed", "title": "Closed", "category": "done",
         "readonly_fields": ["lot_no", "disposition", "qty_rejected"]},
        {"key": "cancelled", "title": "Cancelled", "category": "cancelled"},
    ],
    "transitions": [
        {"key": "submit", "title": "Submit", "from": ["open"], "to": "review",
         "roles": ["inspector", "quality_engineer"], "guard": "qty_rejected > 0",
         "required_fields": ["defects"]},
        {"key": "propose", "title": "Propose disposition", "from": ["review"],
         "to": "disposition", "roles": ["quality_engineer"], "required_fields": ["disposition"],
         "comment_required": True},
        {"key": "send_back", "title": "Send back", "from": ["review", "disposition"],
         "to": "open", "roles": ["quality_engineer"], "comment_required": True},
        {"key": "close", "title": "Close", "from": ["disposition"], "to": "closed",
         "roles": ["quality_engineer"],
         "guard": "disposition != 'use_as_is' or qty_rejected < 10",
         "signature": {"meanings": ["approved", "reviewed"]},
         "approvals": {"role": "qa_manager", "mode": "count", "count": 2}},
        {"key": "cancel", "title": "Cancel", "from": ["open", "review"], "to": "cancelled"},
    ],
}  # fmt: skip

POLICY = {
    "entities": {
        "ncr": {
            "inspector": {"actions": ["read", "create", "update"],
                          "transitions": ["submit", "cancel"]},
            "quality_engineer": {"actions": ["read", "create", "update"], "transitions": ["*"]},
            "qa_manager": {"actions": ["read"]},
        },
    }
}  # fmt: skip


ERP_POLICY = {
    "entities": {
        "supplier": {
            role: {"actions": ["read"]} for role in ("inspector", "quality_engineer", "qa_manager")
        }
    }
}


class Flow:
    """A workspace with the NCR entity, its published workflow, roles and people:
    root (admin), ina (inspector), quinn (quality engineer), m1–m3 (QA managers)."""

    def __init__(self, session, workflow: dict | None = None, key: str = "acme"):  # noqa: ANN001
        self.session = session
        self.ws = factories.workspace(session, key)
        self.admin_user, self.admin = factories.member(session, self.ws, f"root_{key}", ("admin",))
        factories.published(session, self.admin, "erp", factories.SUPPLIER)
        factories.published(session, self.admin, "qms", factories.NCR)
        for role in ("inspector", "quality_engineer", "qa_manager"):
            define_role(session, self.admin, role, role.replace("_", " ").title())
        app = session.scalar(select(App).where(App.key == "qms", App.workspace_id == self.ws.id))
        save_app_permissions(session, self.admin, app, POLICY)
        erp = session.scalar(select(App).where(App.key == "erp", App.workspace_id == self.ws.id))
        save_app_permissions(session, self.admin, erp, ERP_POLICY)
        self.actors, self.users, self.headers = {}, {}, {}
        names = {"ina": "inspector", "quinn": "quality_engineer",
                 "m1": "qa_manager", "m2": "qa_manager", "m3": "qa_manager"}  # fmt: skip
        suffix = "" if key == "acme" else f"_{key}"
        for name, role in names.items():
            user, actor = factories.member(session, self.ws, name + suffix, (role,))
            self.users[name], self.actors[name] = user, actor
            token = factories.token(session, self.ws, user)
            self.headers[name] = {"Authorization": f"Bearer {token}"}
        self.headers["root"] = {
            "Authorization": f"Bearer {factories.token(session, self.ws, self.admin_user)}"
        }
        definitions.save_draft_definition(
            session, self.admin, "qms", "workflow", "ncr_flow", copy.deepcopy(workflow or NCR_FLOW)
        )
        definitions.publish_definition(session, self.admin, "qms", "workflow", "ncr_flow")
        session.commit()

    def ncr(self, who: str = "ina", **data):  # noqa: ANN003, ANN201
        body = {"lot_no": "L-1", "source": "iqc", "qty_rejected": 2, **data}
        actor = self.admin if who == "root" else self.actors[who]
        record = RecordStore(self.session, actor).entity("qms", "ncr").create(body)
        self.session.commit()
        return record


@pytest.fixture
def flow(session):  # noqa: ANN001, ANN201
    return Flow(session)


def _paths(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e["path"]: e["message"] for e in exc.value.errors}


def test_a_published_workflow_gives_new_records_their_initial_state(flow, session):
    assert flow.ncr().state == "open"
    workflow = workflow_of(session, flow.ws.id, _app_id(session), "ncr")
    assert workflow is not None and workflow.initial == "open" and workflow.version == 1
    assert list(workflow.transitions) == ["submit", "propose", "send_back", "close", "cancel"]
    # Entities without a workflow keep records without a state.
    supplier = RecordStore(session, flow.admin).entity("erp", "supplier").create({"name": "Z"})
    assert supplier.state is None


def _app_id(session) -> int:  # noqa: ANN001
    return session.scalar(select(App.id).where(App.key == "qms"))


def test_every_problem_is_reported_at_once_with_its_path(flow, session):
    bad = copy.deepcopy(NCR_FLOW)
    bad["initial"] = "nowhere"
    bad["states"][1]["readonly_fields"] = ["lot_no", "no_such_field"]
    bad["states"].append({"key": "limbo", "title": "Limbo", "category": "active"})
    bad["states"].append({"key": "open", "title": "Again", "category": "draft"})
    bad["transitions"][0]["to"] = "reveiw"
    bad["transitions"][0]["roles"] = ["inspector", "wizard"]
    bad["transitions"][1]["guard"] = "qty_rejectd > 0"
    bad["transitions"][1]["required_fields"] = ["dispositon", "defects.code"]
    bad["transitions"][2]["from"] = ["review", "archive"]
    bad["transitions"][3]["approvals"] = {"role": "boss", "mode": "count"}
    bad["transitions"].append(dict(NCR_FLOW["transitions"][4]))
    with pytest.raises(ValidationFailed) as exc:
        definitions.save_draft_definition(session, flow.admin, "qms", "workflow", "ncr_flow", bad)
    found = _paths(exc)
    assert "no state 'nowhere'" in found["/initial"]
    assert "no field 'no_such_field'" in found["/states/1/readonly_fields/1"]
    assert "defined twice" in found["/states/6/key"]
    assert "no state 'reveiw'" in found["/transitions/0/to"]
    assert "no role 'wizard'" in found["/transitions/0/roles/1"]
    assert "unknown name 'qty_rejectd'" in found["/transitions/1/guard"]
    assert "no field 'dispositon'" in found["/transitions/1/required_fields/0"]
    assert "child table" in found["/transitions/1/required_fields/1"]
    assert "no state 'archive'" in found["/transitions/2/from/1"]
    assert "no role 'boss'" in found["/transitions/3/approvals/role"]
    assert "how many" in found["/transitions/3/approvals/count"]
    assert "defined twice" in found["/transitions/5/key"]


def test_unreachable_and_dead_end_states_are_refused(flow, session):
    bad = copy.deepcopy(NCR_FLOW)
    bad["states"].append({"key": "limbo", "title": "Limbo", "category": "active"})
    bad["states"].append({"key": "archived", "title": "Archived", "category": "done"})
    bad["transitions"].append({"key": "park", "title": "Park", "from": ["review"], "to": "limbo"})
    with pytest.raises(ValidationFailed) as exc:
        definitions.save_draft_definition(session, flow.admin, "qms", "workflow", "ncr_flow", bad)
    errors = [(e["path"], e["code"]) for e in exc.value.errors]
    assert ("/states/5", "dead_end") in errors  # limbo: reachable, no way out, not final
    assert ("/states/6", "unreachable") in errors  # archived: final, but nothing leads there
    assert len(errors) == 2  # closed and cancelled are final: no way out needed


def test_meta_schema_errors_come_with_paths(flow, session):
    bad = copy.deepcopy(NCR_FLOW)
    bad["states"][0]["category"] = "pending"
    bad["transitions"][0]["approvals"] = {"role": "qa_manager", "mode": "most"}
    bad["colour"] = "red"
    with pytest.raises(ValidationFailed) as exc:
        definitions.save_draft_definition(session, flow.admin, "qms", "workflow", "ncr_flow", bad)
    paths = {e["path"] for e in exc.value.errors}
    assert {"/states/0/category", "/transitions/0/approvals/mode", ""} <= paths


def test_the_entity_must_exist_be_published_and_have_one_workflow(flow, session, client):
    other = {**copy.deepcopy(NCR_FLOW), "entity": "complaint"}
    with pytest.raises(ValidationFailed) as exc:
        definitions.save_draft_definition(session, flow.admin, "qms", "workflow", "w2", other)
    assert "no entity 'complaint'" in _paths(exc)["/entity"]
    # A second workflow for the NCR is refused, over the API as well.
    h = flow.headers["root"]
    second = client.put("/api/v1/apps/qms/workflows/second/draft", json=NCR_FLOW, headers=h)
    assert second.status_code == 422
    assert "already has the published workflow 'ncr_flow'" in second.json["errors"][0]["message"]
    # A new version of the same workflow is fine.
    again = client.put("/api/v1/apps/qms/workflows/ncr_flow/draft", json=NCR_FLOW, headers=h)
    assert again.status_code == 200
    assert client.post("/api/v1/apps/qms/workflows/ncr_flow/publish", headers=h).status_code == 201
    # Members may not change workflows.
    refused = client.put(
        "/api/v1/apps/qms/workflows/ncr_flow/draft", json=NCR_FLOW, headers=flow.headers["quinn"]
    )
    assert refused.status_code == 403


def test_a_version_may_not_strand_records_in_a_removed_state(flow, session):
    flow.ncr()  # in "open"
    smaller = copy.deepcopy(NCR_FLOW)
    smaller["initial"] = "review"
    smaller["states"] = [s for s in smaller["states"] if s["key"] != "open"]
    smaller["transitions"] = [
        {**t, "from": [s for s in t["from"] if s != "open"]}
        for t in smaller["transitions"]
        if t["key"] not in ("submit", "send_back")
    ]
    with pytest.raises(ValidationFailed) as exc:
        definitions.save_draft_definition(
            session, flow.admin, "qms", "workflow", "ncr_flow", smaller
        )
    assert "1 record(s) are in state 'open'" in _paths(exc)["/states"]


def test_a_new_version_applies_at_once_and_a_disabled_workflow_not_at_all(flow, session):
    renamed = copy.deepcopy(NCR_FLOW)
    renamed["states"][0]["title"] = "New"
    renamed["transitions"][4]["title"] = "Withdraw"
    definitions.save_draft_definition(session, flow.admin, "qms", "workflow", "ncr_flow", renamed)
    definitions.publish_definition(session, flow.admin, "qms", "workflow", "ncr_flow")
    session.commit()
    workflow = workflow_of(session, flow.ws.id, _app_id(session), "ncr")
    assert workflow.version == 2 and workflow.transitions["cancel"].title == "Withdraw"
    definitions.set_enabled(session, flow.admin, "qms", "workflow", "ncr_flow", False)
    session.commit()
    assert workflow_of(session, flow.ws.id, _app_id(session), "ncr") is None
    assert flow.ncr().state is None
