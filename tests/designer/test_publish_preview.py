"""Publishing from the designer: the difference and the compatibility report are right for
added, removed, renamed, retyped fields and removed options; publishing migrates records."""

from __future__ import annotations

from sqlalchemy import select

from jizuo.platform.models import Job, Record

BASE = "/apps/qms/entities/ncr"


def _edit(shop, *ops):
    v = shop.dee("GET", f"{BASE}/draft").json["version"]
    r = shop.dee("POST", f"{BASE}/draft/ops", {"version": v, "ops": list(ops)})
    assert r.status_code == 200, r.json
    return r.json


def _preview(shop, migration=None):
    r = shop.dee("POST", f"{BASE}/publish/preview", {"migration": migration})
    assert r.status_code == 200, r.json
    return r.json


def _issues(preview):
    return {(i["code"], i["path"]): i["count"] for i in preview["report"]["issues"]}


def test_an_unchanged_draft_has_no_difference_and_no_issue(shop):
    p = _preview(shop)
    assert p["diff"]["added"] == p["diff"]["removed"] == p["diff"]["changed"] == []
    assert p["report"]["compatible"] and p["report"]["records"] == 3 and p["version"] == 2


def test_an_added_required_field_breaks_every_record_until_given_a_default(shop, session):
    _edit(shop, {"op": "add_field", "type": "text", "title": "Plant",
                 "properties": {"required": True}})  # fmt: skip
    p = _preview(shop)
    assert p["diff"]["added"] == [{"field": "plant", "kind": "text"}]
    assert _issues(p) == {("required", "/plant"): 3}
    refused = shop.dee("POST", f"{BASE}/publish", {"version": p["draft_version"]})
    assert refused.status_code == 409 and refused.json["report"]["issues"][0]["count"] == 3
    assert _preview(shop, {"defaults": {"plant": "SH"}})["report"]["compatible"]
    done = shop.dee(
        "POST",
        f"{BASE}/publish",
        {"version": p["draft_version"], "migration": {"defaults": {"plant": "SH"}}},
    )
    assert done.status_code == 201, done.json
    assert done.json["job"]["status"] == "finished" and done.json["job"]["progress"] == 100.0
    session.expire_all()
    data = [r.data for r in session.scalars(select(Record).where(Record.entity_id == 2))]
    assert [d["plant"] for d in data] == ["SH", "SH", "SH"]


def test_a_removed_field_with_values_needs_a_drop(shop):
    _edit(shop, {"op": "remove_field", "field": "disposition"})
    p = _preview(shop)
    assert p["diff"]["removed"] == [{"field": "disposition", "kind": "single_select"}]
    assert _issues(p) == {("unknown", "/disposition"): 3}
    assert _preview(shop, {"drop": ["disposition"]})["report"]["compatible"]


def test_a_rename_after_publishing_is_a_rename_migration_and_the_data_follows(shop, session):
    state = _edit(shop, {"op": "set_property", "field": "lot_no", "property": "key",
                         "value": "batch"})  # fmt: skip
    assert state["draft"]["x-renames"] == {"lot_no": "batch"}
    p = _preview(shop)
    assert p["diff"]["renamed"] == [{"from": "lot_no", "to": "batch"}]
    assert p["diff"]["added"] == [] and p["diff"]["removed"] == []
    assert p["migration"] == {"renames": {"lot_no": "batch"}} and p["report"]["compatible"]
    done = shop.dee("POST", f"{BASE}/publish", {"version": state["version"]})
    assert done.status_code == 201, done.json
    session.expire_all()
    data = [r.data for r in session.scalars(select(Record).where(Record.entity_id == 2))]
    assert sorted(d["batch"] for d in data) == ["L-0", "L-1", "L-2"]
    assert all("lot_no" not in d for d in data)
    after = shop.dee("GET", f"{BASE}/draft").json
    assert "x-renames" not in after["draft"]
    assert shop.root("GET", "/apps").status_code == 200
    published = shop.root.client.get("/api/v1/apps/qms/entities/ncr", headers=shop.root.headers)
    assert "x-renames" not in published.json["definition"]


def test_a_type_change_is_reported_and_converted(shop):
    _edit(shop, {"op": "set_property", "field": "lot_no", "property": "kind", "value": "integer"})
    p = _preview(shop)
    assert p["diff"]["type_changes"] == [{"field": "lot_no", "from": "text", "to": "integer"}]
    change = p["diff"]["changed"][0]
    assert change["properties"]["type"] == ["string", "integer"]
    assert _issues(p) == {("type", "/lot_no"): 3}
    fixed = _preview(shop, {"conversions": {"lot_no": "len(lot_no)"}})
    assert fixed["report"]["compatible"], fixed["report"]


def test_a_removed_option_in_use_is_reported_with_its_records(shop):
    _edit(shop, {"op": "remove_option", "field": "source", "value": "iqc"},
          {"op": "add_option", "field": "source", "value": "field"})  # fmt: skip
    p = _preview(shop)
    assert p["diff"]["options_removed"] == {"source": ["iqc"]}
    assert p["diff"]["changed"][0]["options_added"] == ["field"]
    assert _issues(p) == {("enum", "/source"): 2}
    assert _preview(shop, {"conversions": {"source": "'field' if source == 'iqc' else source"}})[
        "report"
    ]["compatible"]


def test_history_says_who_published_what_and_revert_makes_a_new_draft(shop, session):
    state = _edit(shop, {"op": "add_field", "type": "text", "title": "Plant"})
    assert shop.dee("POST", f"{BASE}/publish", {"version": state["version"]}).status_code == 201
    history = shop.dee("GET", f"{BASE}/versions").json["items"]
    assert [(h["version"], h["published_by"], h["current"]) for h in history] == [
        (2, "dee", True), (1, "root", False)]  # fmt: skip
    v = shop.dee("GET", f"{BASE}/draft").json["version"]
    reverted = shop.dee("POST", f"{BASE}/draft/revert", {"to_version": 1, "version": v}).json
    assert "plant" not in reverted["draft"]["schema"]["properties"] and reverted["can_undo"]
    p = _preview(shop)
    assert p["diff"]["removed"] == [{"field": "plant", "kind": "text"}] and p["version"] == 3
    assert p["report"]["compatible"]  # no record holds a plant yet
    missing = shop.dee(
        "POST", f"{BASE}/draft/revert", {"to_version": 9, "version": reverted["version"]}
    )
    assert missing.status_code == 404
    assert session.scalar(select(Job.id).where(Job.kind == "platform.migrate_records")) is None
