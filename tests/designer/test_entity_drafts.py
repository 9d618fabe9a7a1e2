"""The form designer's API: operations saved with optimistic locking, undo and redo,
expression help, and who may use it."""

from __future__ import annotations

DRAFT = "/apps/qms/entities/ncr/draft"


def _ops(caller, version, *ops):
    return caller("POST", f"{DRAFT}/ops", {"version": version, "ops": list(ops)})


ADD = {"op": "add_field", "type": "text", "title": {"en": "Heat number", "zh": "炉号"}}


def test_operations_are_saved_at_once_and_a_stale_version_names_who_saved(shop):
    start = shop.dee("GET", DRAFT).json
    assert start["version"] == 1 and start["can_undo"] is False  # as created
    saved = _ops(shop.dee, start["version"], ADD)
    assert saved.status_code == 200, saved.json
    assert saved.json["version"] == start["version"] + 1
    assert "heat_number" in saved.json["draft"]["schema"]["properties"]
    assert shop.root("GET", DRAFT).json["draft"] == saved.json["draft"]
    stale = _ops(shop.root, start["version"], {**ADD, "title": "Other"})
    assert stale.status_code == 412
    assert (
        stale.json["updated_by"] == "dee" and stale.json["current_version"] == saved.json["version"]
    )
    assert "dee saved it" in stale.json["detail"]
    missing = _ops(shop.root, None, ADD)
    assert missing.status_code == 400 and missing.json["errors"][0]["path"] == "/version"


def test_a_refused_operation_changes_nothing_and_says_where(shop):
    start = shop.dee("GET", DRAFT).json
    bad = _ops(
        shop.dee,
        start["version"],
        ADD,
        {"op": "set_property", "field": "heat_number", "property": "pattern", "value": "("},
    )
    assert bad.status_code == 422
    assert bad.json["errors"][0]["op"] == "/ops/1"
    after = shop.dee("GET", DRAFT).json
    assert after["version"] == start["version"] and after["draft"] == start["draft"]


def test_undo_and_redo_walk_the_edits(shop):
    v = shop.dee("GET", DRAFT).json["version"]
    one = _ops(shop.dee, v, ADD).json
    two = _ops(shop.dee, one["version"], {"op": "set_property", "field": "heat_number",
                                          "property": "required", "value": True}).json  # fmt: skip
    assert two["can_undo"] and not two["can_redo"]
    undone = shop.dee("POST", f"{DRAFT}/undo", {"version": two["version"]}).json
    assert undone["draft"] == one["draft"] and undone["can_redo"]
    undone = shop.dee("POST", f"{DRAFT}/undo", {"version": undone["version"]}).json
    assert "heat_number" not in undone["draft"]["schema"]["properties"]
    nothing = shop.dee("POST", f"{DRAFT}/undo", {"version": undone["version"]})
    assert nothing.status_code == 422
    redone = shop.dee("POST", f"{DRAFT}/redo", {"version": undone["version"]}).json
    assert redone["draft"] == one["draft"]
    # A new edit drops what could have been redone.
    other = _ops(shop.dee, redone["version"], {**ADD, "title": "Furnace"}).json
    assert other["can_redo"] is False
    stale = shop.dee("POST", f"{DRAFT}/undo", {"version": redone["version"]})
    assert stale.status_code == 412


def test_problems_name_references_to_missing_entities(shop):
    v = shop.dee("GET", DRAFT).json["version"]
    r = _ops(shop.dee, v, {"op": "add_field", "type": "reference", "title": "Customer",
                           "properties": {"ref": "crm.customer"}})  # fmt: skip
    assert r.status_code == 200
    assert r.json["problems"][0]["path"] == "/schema/properties/customer/x-ref"


def test_expressions_are_checked_as_typed_and_names_completed(shop):
    def check(expr, **kw):
        return shop.dee(
            "POST", "/apps/qms/entities/ncr/expressions/check", {"expression": expr, **kw}
        ).json

    assert check("qty_rejected * unit_cost")["valid"] is True
    wrong = check("qty_rejectd > 1")
    assert wrong["valid"] is False and (wrong["errors"][0]["start"], wrong["errors"][0]["end"]) == (
        0,
        11,
    )
    assert "qty_rejected" in wrong["errors"][0]["message"]
    syntax = check("qty_rejected >")
    assert syntax["valid"] is False and syntax["errors"][0]["start"] is not None
    assert check("count * 2", table="defects")["valid"] is True
    assert check("parent.lot_no", table="defects")["valid"] is True
    done = shop.dee("GET", "/apps/qms/entities/ncr/expressions/complete?prefix=qty").json["items"]
    assert [i["name"] for i in done] == ["qty_rejected"] and done[0]["kind"] == "integer"
    funcs = shop.dee("GET", "/apps/qms/entities/ncr/expressions/complete?prefix=sum").json["items"]
    assert any(i["name"] == "sum_of" and i["kind"] == "function" for i in funcs)


def test_members_are_refused_and_other_workspaces_see_nothing(shop):
    assert shop.max("GET", DRAFT).status_code == 403
    assert shop.max("GET", "/apps").status_code == 403
    assert _ops(shop.max, 2, ADD).status_code == 403
    assert shop.bea("GET", DRAFT).status_code == 404
    assert _ops(shop.bea, 2, ADD).status_code == 404
    assert shop.bea("GET", "/apps/qms/export").status_code == 404
    assert shop.bea("GET", "/apps/qms/deletion").status_code == 404
