"""The metadata language: definitions are checked before they are stored."""

from __future__ import annotations

import copy

import pytest

from jizuo.platform.errors import ValidationFailed
from jizuo.platform.metadata import FIELD_KINDS, validate_definition
from tests.factories import EVERY_TYPE, NCR


def _errors(definition: dict) -> list[dict]:
    with pytest.raises(ValidationFailed) as caught:
        validate_definition(definition)
    return caught.value.errors


def test_design_example_is_valid():
    parsed = validate_definition(NCR)
    assert parsed.fields["supplier"].kind == "reference"
    assert parsed.fields["cost"].kind == "computed"
    assert parsed.fields["defects"].children["count"].path == "defects.count"


def test_every_field_type_is_recognised():
    parsed = validate_definition(EVERY_TYPE)
    kinds = {f.kind for f in parsed.fields.values()}
    assert kinds == set(FIELD_KINDS) - {"object"}
    assert all(parsed.fields[k].kind == k for k in parsed.fields)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d.pop("title"), "", "'title' is a required property"),
        (lambda d: d.update(key="Bad Key"), "/key", "does not match"),
        (lambda d: d["schema"]["properties"].update(x={"type": "strin"}), "/schema/properties/x/type", "is not one of"),
        (lambda d: d["schema"]["properties"]["lot_no"].update({"x-formla": "1"}), "/schema/properties/lot_no", "x-formla"),
        (lambda d: d["schema"]["properties"]["cost"].update({"x-formula": "qty_rejectd * 2"}), "/schema/properties/cost/x-formula", "qty_rejectd"),
        (lambda d: d["schema"]["properties"]["cost"].update({"x-formula": "9**9**9"}), "/schema/properties/cost/x-formula", "9**9**9"),
        (lambda d: d["schema"]["properties"]["number"].update({"x-sequence": "NCR-{YYYY}"}), "/schema/properties/number/x-sequence", "{seq}"),
        (lambda d: d["schema"]["properties"]["number"].update({"x-sequence": "N-{Q}-{seq}"}), "/schema/properties/number/x-sequence", "{Q}"),
        (lambda d: d["schema"]["properties"]["supplier"].update(type="string"), "/schema/properties/supplier/type", "record id"),
        (lambda d: d["schema"].update(required=["nope"]), "/schema/required/0", "'nope'"),
        (lambda d: d["rules"]["visible_if"].update(nope="true"), "/rules/visible_if/nope", "'nope'"),
        (lambda d: d["rules"]["validations"].append({"expr": "(", "message": "m"}), "/rules/validations/1/expr", "("),
        (lambda d: d["layout"]["tabs"][0]["sections"][0]["columns"][0].append("lot_no"), "/layout/tabs/0/sections/0/columns/0/3", "twice"),
        (lambda d: d["layout"]["tabs"][0]["sections"][0]["columns"][0].append("ghost"), "/layout/tabs/0/sections/0/columns/0/3", "'ghost'"),
        (lambda d: d["schema"]["properties"]["unit_cost"].update({"x-spec": {"lsl": 5, "usl": 1}}), "/schema/properties/unit_cost/x-spec", "lsl"),
        (lambda d: d.update(title={"fr": "x"}), "/title", "not valid"),
    ],
)  # fmt: skip
def test_broken_definitions_are_refused_with_a_path(change, path, words):
    definition = copy.deepcopy(NCR)
    change(definition)
    errors = _errors(definition)
    assert any(e["path"] == path and words in e["message"] for e in errors), errors


def test_all_errors_of_a_stage_are_reported_at_once():
    shape = copy.deepcopy(NCR)
    shape["key"] = "X"
    shape["schema"]["properties"]["lot_no"]["type"] = "text"
    assert {e["path"] for e in _errors(shape)} == {"/key", "/schema/properties/lot_no/type"}
    semantic = copy.deepcopy(NCR)
    semantic["schema"]["properties"]["cost"]["x-formula"] = "nope + 1"
    semantic["rules"]["visible_if"]["ghost"] = "true"
    semantic["title_field"] = "missing"
    paths = {e["path"] for e in _errors(semantic)}
    assert paths == {"/schema/properties/cost/x-formula", "/rules/visible_if/ghost", "/title_field"}


def test_multi_select_needs_options():
    definition = copy.deepcopy(NCR)
    definition["schema"]["properties"]["tags"] = {"type": "array", "items": {"type": "string"}}
    assert _errors(definition)[0]["path"] == "/schema/properties/tags"


def test_formula_cycles_are_refused():
    definition = copy.deepcopy(NCR)
    props = definition["schema"]["properties"]
    props["a"] = {"type": "number", "x-formula": "b + 1"}
    props["b"] = {"type": "number", "x-formula": "a + 1"}
    errors = _errors(definition)
    assert any("cycle" in e["message"] for e in errors)


def test_not_an_object():
    assert _errors([1, 2])[0]["path"] == ""
