"""The workflow designer: operations checked by the kernel's workflow checker, undo, and the
diagram drawn as SVG with every state and transition once."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jizuo.designer.workflow_design import apply_workflow_ops, seed_workflow
from jizuo.designer.workflow_diagram import layout_states, render_svg
from jizuo.platform.errors import ValidationFailed

SVG = "{http://www.w3.org/2000/svg}"
FLOW = "/apps/qms/workflows/ncr_flow"

REVIEW = [
    {"op": "add_state", "key": "review", "title": {"en": "Review", "zh": "评审"},
     "from": "open", "index": 1},
    {"op": "set_transition", "transition": "finish", "property": "from", "value": ["review"]},
    {"op": "add_transition", "key": "reopen", "title": "Reopen", "from": ["review"], "to": "open",
     "roles": ["designer"], "guard": "qty_rejected > 0", "required_fields": ["disposition"],
     "signature": ["approved"], "approvals": {"role": "designer", "mode": "any"}},
]  # fmt: skip


def _create(shop):
    r = shop.dee("POST", "/apps/qms/workflows", {"key": "ncr_flow", "entity": "ncr"})
    assert r.status_code == 201, r.json
    return r.json


def test_a_new_workflow_is_designed_through_operations(shop):
    created = _create(shop)
    assert created["problems"] == [] and created["draft"]["initial"] == "open"
    r = shop.dee("POST", f"{FLOW}/draft/ops", {"version": created["version"], "ops": REVIEW})
    assert r.status_code == 200, r.json
    body = r.json["draft"]
    assert [s["key"] for s in body["states"]] == ["open", "review", "done"]
    reopen = body["transitions"][-1]
    assert reopen["signature"] == {"meanings": ["approved"]} and reopen["roles"] == ["designer"]
    undone = shop.dee("POST", f"{FLOW}/draft/undo", {"version": r.json["version"]}).json
    assert undone["draft"] == created["draft"]
    published = shop.root.client.post("/api/v1/apps/qms/workflows/ncr_flow/publish",
                                      headers=shop.root.headers)  # fmt: skip
    assert published.status_code == 201


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([{"op": "add_state", "key": "limbo", "title": "Limbo"}], "unreachable"),
        ([{"op": "add_state", "key": "stuck", "title": "Stuck", "from": "open"}], "dead_end"),
        ([{"op": "set_transition", "transition": "finish", "property": "roles",
           "value": ["nobody"]}], "unknown"),
        ([{"op": "set_transition", "transition": "finish", "property": "guard",
           "value": "qty_rejectd > 0"}], "expression"),
    ],
)  # fmt: skip
def test_broken_workflows_are_refused_by_the_kernel_checker(shop, ops, code):
    created = _create(shop)
    r = shop.dee("POST", f"{FLOW}/draft/ops", {"version": created["version"], "ops": ops})
    assert r.status_code == 422 and code in {e["code"] for e in r.json["errors"]}
    assert shop.dee("GET", f"{FLOW}/draft").json["version"] == created["version"]


def test_operations_refuse_unknown_states_and_transitions_with_paths():
    body = seed_workflow("ncr")
    for ops, path in [
        ([{"op": "set_state", "state": "nope", "property": "title", "value": "x"}], "/ops/0/state"),
        ([{"op": "remove_state", "state": "open"}], "/ops/0/state"),
        ([{"op": "add_state", "title": "X", "category": "weird"}], "/ops/0/category"),
        ([{"op": "remove_transition", "transition": "x"}], "/ops/0/transition"),
        ([{"op": "teleport"}], "/ops/0/op"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            apply_workflow_ops(body, ops)
        assert caught.value.errors[0]["path"] == path
    renamed = apply_workflow_ops(body, [{"op": "set_state", "state": "open", "property": "key",
                                         "value": "new"}])  # fmt: skip
    assert renamed["initial"] == "new" and renamed["transitions"][0]["from"] == ["new"]
    gone = apply_workflow_ops(body, [{"op": "remove_state", "state": "done"}])
    assert gone["transitions"] == []


def _flow():
    body = apply_workflow_ops(seed_workflow("ncr"), REVIEW)
    return apply_workflow_ops(body, [
        {"op": "add_state", "key": "cancelled", "title": {"en": "Cancelled", "zh": "取消"},
         "category": "cancelled"},
        {"op": "add_transition", "key": "cancel", "title": "Cancel", "from": "*", "to": "cancelled"},
        {"op": "add_state", "key": "orphan", "title": "Orphan"},
    ])  # fmt: skip


def test_layers_follow_the_distance_from_the_initial_state():
    placed = layout_states(_flow())
    assert placed["open"].rank == 0 and placed["review"].rank == 1
    assert placed["done"].rank == 2
    # "cancel" leaves every state, so the orphan is unreachable but not a dead end.
    assert placed["orphan"].rank == 3 and placed["orphan"].flags == ["unreachable"]
    assert placed["cancelled"].flags == []


def test_the_diagram_is_svg_with_every_state_and_transition_once():
    body = _flow()
    svg = render_svg(body, "zh", {"unreachable": "无法到达"})
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text.startswith("Workflow diagram")
    states = root.findall(f".//{SVG}g[@class]")
    state_keys = [g.get("data-key") for g in states if g.get("class").startswith("state ")]
    transition_keys = [g.get("data-key") for g in states if g.get("class") == "transition"]
    assert sorted(state_keys) == sorted(s["key"] for s in body["states"])
    assert sorted(transition_keys) == sorted(t["key"] for t in body["transitions"])
    by_key = {g.get("data-key"): g for g in states}
    assert "unreachable" in by_key["orphan"].get("class")
    assert "category-cancelled" in by_key["cancelled"].get("class")
    assert by_key["review"].find(f"{SVG}text").text == "评审"
    assert "无法到达" in by_key["orphan"].find(f"{SVG}title").text
    # "*" reaches every state: one arrow from each.
    assert len(by_key["cancel"].findall(f"{SVG}path")) == len(body["states"])
    back = by_key["reopen"].find(f"{SVG}path").get("d")
    assert " C" in back  # a back edge is curved


def test_the_diagram_through_the_api(shop):
    _create(shop)
    r = shop.dee("GET", f"{FLOW}/diagram?lang=zh")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    root = ET.fromstring(r.get_data(as_text=True))
    assert "打开" in [t.text for t in root.iter(f"{SVG}text")]
    assert shop.dee("GET", f"{FLOW}/diagram?lang=fr").status_code == 400
    assert shop.max("GET", f"{FLOW}/diagram").status_code == 403
    assert shop.bea("GET", f"{FLOW}/diagram").status_code == 404
