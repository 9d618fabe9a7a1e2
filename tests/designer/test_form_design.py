"""Form design operations: every operation gives valid metadata or a clear refusal."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jizuo.designer.form_design import (
    OPERATIONS,
    RENAMES,
    apply_op,
    apply_ops,
    published_shape,
)
from jizuo.designer.form_fields import PROPERTIES, TEMPLATES, key_from_title
from jizuo.platform.errors import ValidationFailed
from jizuo.platform.metadata import field_kind, validate_definition
from tests import factories

NCR = factories.NCR
PUBLISHED = published_shape(validate_definition(NCR))


def _refusal(definition, op, published=None):
    with pytest.raises(ValidationFailed) as caught:
        apply_op(definition, op, published)
    return caught.value.errors


def _placed(definition):
    return [k for t in definition["layout"]["tabs"] for s in t["sections"]
            for c in s["columns"] for k in c]  # fmt: skip


NEEDED = {"reference": {"ref": "erp.supplier"}, "computed": {"formula": "qty_rejected * 2"},
          "measurement": {"spec": {"lsl": 1, "usl": 2}, "unit": "mm"}}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_field_type_can_be_added_and_comes_back_as_that_type(kind):
    op = {"op": "add_field", "type": kind, "title": {"en": "New thing", "zh": "新东西"},
          "position": {"tab": 0, "section": 1, "column": 0, "index": 0},
          "properties": NEEDED.get(kind, {})}  # fmt: skip
    new = apply_op(NCR, op)
    validate_definition(new)
    assert field_kind(new["schema"]["properties"]["new_thing"]) == kind
    assert new["layout"]["tabs"][0]["sections"][1]["columns"][0][0] == "new_thing"
    assert NCR["schema"]["properties"].get("new_thing") is None  # the input is untouched


@pytest.mark.parametrize("kind", sorted(NEEDED))
def test_types_that_need_a_property_are_refused_without_it(kind):
    errors = _refusal(NCR, {"op": "add_field", "type": kind, "title": "X"})
    assert errors[0]["path"] == "/ops/0/properties" and NEEDED[kind].keys() & {
        errors[0]["message"].split("'")[1]
    }


def test_keys_come_from_titles_and_never_collide():
    assert key_from_title({"en": "Lot number", "zh": "批号"}, set()) == "lot_number"
    assert key_from_title("Lot number", {"lot_number"}) == "lot_number_2"
    assert key_from_title({"zh": "批号"}, {"field_1"}) == "field_2"
    assert key_from_title("12 Monkeys", set()) == "field_1"
    assert key_from_title("Größe", set()) == "grosse" or key_from_title("Größe", set()) == "groe"
    new = apply_ops(NCR, [{"op": "add_field", "type": "text", "title": "批号"},
                          {"op": "add_field", "type": "text", "title": "批号"}])  # fmt: skip
    assert {"field_1", "field_2"} <= set(new["schema"]["properties"])
    assert _placed(new)[-2:] in (["field_1", "field_2"], ["field_2", "field_1"]) or (
        "field_1" in _placed(new) and "field_2" in _placed(new)
    )


def test_an_explicit_key_must_be_valid_and_free():
    assert (
        _refusal(NCR, {"op": "add_field", "type": "text", "title": "X", "key": "Lot"})[0]["path"]
        == "/ops/0/key"
    )
    errors = _refusal(NCR, {"op": "add_field", "type": "text", "title": "X", "key": "lot_no"})
    assert errors[0]["message"] == "'lot_no' is already used"


#: property, a value that applies to the field, a value that is refused, the field.
PROPERTY_CASES = [
    ("title", {"en": "Lot", "zh": "批次"}, 5, "lot_no"),
    ("title.zh", "批次", "", "lot_no"),
    ("description", "Printed on the label", {"fr": "x"}, "lot_no"),
    ("placeholder.en", "L-0001", ["x"], "lot_no"),
    ("required", True, "yes", "complaint"),
    ("default", "iqc", "nowhere", "source"),
    ("minimum", 1, "0", "qty_rejected"),
    ("maximum", 1000, True, "qty_rejected"),
    ("min_length", 2, -1, "lot_no"),
    ("max_length", 20, 2.5, "lot_no"),
    ("pattern", "^L-[0-9]+$", "(", "lot_no"),
    ("multiple_of", 0.5, 0, "unit_cost"),
    ("precision", 2, 13, "unit_cost"),
    ("ref", "crm.customer", "supplier", "supplier"),
    ("display_field", "name", "Name!", "supplier"),
    ("unit", "EUR", "", "unit_cost"),
    ("spec", {"lsl": 0, "usl": 9}, {"lsl": 9, "usl": 0}, "unit_cost"),
    ("formula", "qty_rejected * unit_cost * 2", "qty_rejected *", "cost"),
    ("visible_if", "source == 'oqc'", "nonsense ==", "complaint"),
    ("required_if", "qty_rejected > 5", "unknown_field > 1", "complaint"),
    ("readonly_if", "source == 'iqc'", "__import__('os')", "complaint"),
    ("index", True, "true", "complaint"),
    ("sequence", "NCR-{seq:04}", "NCR-{YYYY}", "number"),
    ("unique", True, 1, "lot_no"),
    ("widget", "textarea", "Not A Widget", "complaint"),
    (
        "options",
        [{"value": "a", "label": {"en": "A", "zh": "甲"}, "color": "#ff0000"}, "b"],
        ["a", "a"],
        "disposition",
    ),
    ("kind", "long_text", "spreadsheet", "complaint"),
    ("key", "lot_number", "Lot Number", "lot_no"),
]


@pytest.mark.parametrize(("prop", "good", "bad", "field"), PROPERTY_CASES)
def test_every_property_edit_gives_valid_metadata_or_a_clear_refusal(prop, good, bad, field):
    new = apply_op(NCR, {"op": "set_property", "field": field, "property": prop, "value": good})
    validate_definition(new)
    assert new != NCR
    errors = _refusal(NCR, {"op": "set_property", "field": field, "property": prop, "value": bad})
    assert errors and all(e["path"] and e["message"] for e in errors)
    assert all(e["path"].startswith(("/ops/0", "/schema", "/rules")) for e in errors)


def test_every_listed_property_has_a_case():
    assert {c[0].split(".")[0] for c in PROPERTY_CASES} >= set(PROPERTIES)


@pytest.mark.parametrize(("prop", "field"), [("minimum", "lot_no"), ("pattern", "qty_rejected"),
                                             ("options", "lot_no"), ("formula", "lot_no"),
                                             ("visible_if", "defects.code")])  # fmt: skip
def test_a_property_that_does_not_fit_the_field_type_is_refused(prop, field):
    errors = _refusal(NCR, {"op": "set_property", "field": field, "property": prop, "value": "1"})
    assert errors[0]["path"] == "/ops/0/value"


def test_null_removes_a_property_and_unknown_properties_are_named():
    new = apply_op(NCR, {"op": "set_property", "field": "lot_no", "property": "max_length",
                         "value": None})  # fmt: skip
    assert "maxLength" not in new["schema"]["properties"]["lot_no"]
    errors = _refusal(NCR, {"op": "set_property", "field": "lot_no", "property": "colour",
                            "value": 1})  # fmt: skip
    assert errors[0]["path"] == "/ops/0/property" and "max_length" in errors[0]["message"]
    assert _refusal(NCR, {"op": "set_property", "field": "nope", "property": "title",
                          "value": "x"})[0]["path"] == "/ops/0/field"  # fmt: skip


def test_required_default_and_placeholder_are_stored_where_the_runtime_reads_them():
    new = apply_ops(NCR, [
        {"op": "set_property", "field": "complaint", "property": "required", "value": True},
        {"op": "set_property", "field": "source", "property": "default", "value": "iqc"},
        {"op": "set_property", "field": "lot_no", "property": "placeholder", "value": "L-0001"},
        {"op": "set_property", "field": "lot_no", "property": "required", "value": False},
    ])  # fmt: skip
    assert "complaint" in new["schema"]["required"] and "lot_no" not in new["schema"]["required"]
    assert new["schema"]["properties"]["source"]["default"] == "iqc"
    assert new["schema"]["properties"]["lot_no"]["x-placeholder"] == "L-0001"


def test_a_rename_before_publishing_moves_every_use_and_records_nothing():
    new = apply_op(NCR, {"op": "set_property", "field": "source", "property": "key",
                         "value": "origin"})  # fmt: skip
    assert "origin" in new["schema"]["properties"] and "source" not in new["schema"]["properties"]
    assert "origin" in new["schema"]["required"] and "origin" in _placed(new)
    assert new["rules"]["visible_if"]["complaint"] == "origin == 'customer'"
    assert RENAMES not in new
    qty = apply_op(NCR, {"op": "set_property", "field": "qty_rejected", "property": "key",
                         "value": "rejected"})  # fmt: skip
    assert qty["schema"]["properties"]["cost"]["x-formula"] == "rejected * unit_cost"
    assert qty["rules"]["validations"][0]["expr"] == "sum_of(defects, 'count') <= rejected"


def test_a_rename_after_publishing_is_recorded_and_a_rename_back_forgets_it():
    op = {"op": "set_property", "field": "lot_no", "property": "key", "value": "batch"}
    renamed = apply_op(NCR, op, PUBLISHED)
    assert renamed[RENAMES] == {"lot_no": "batch"}
    twice = apply_op(renamed, {**op, "field": "batch", "value": "batch_no"}, PUBLISHED)
    assert twice[RENAMES] == {"lot_no": "batch_no"}
    back = apply_op(twice, {**op, "field": "batch_no", "value": "lot_no"}, PUBLISHED)
    assert RENAMES not in back and back["schema"] == NCR["schema"]
    removed = apply_op(renamed, {"op": "remove_field", "field": "batch"}, PUBLISHED)
    assert RENAMES not in removed


def test_child_table_columns_are_designed_like_fields():
    new = apply_ops(NCR, [
        {"op": "add_field", "table": "defects", "type": "decimal", "title": "Weight"},
        {"op": "set_property", "field": "defects.weight", "property": "minimum", "value": 0},
        {"op": "move_field", "field": "defects.weight", "index": 0},
        {"op": "set_property", "field": "defects.code", "property": "key", "value": "defect"},
    ])  # fmt: skip
    items = new["schema"]["properties"]["defects"]["items"]
    assert list(items["properties"]) == ["weight", "defect", "count"]
    assert items["required"] == ["defect", "count"]
    assert "weight" not in _placed(new)
    errors = _refusal(NCR, {"op": "add_field", "table": "defects", "type": "child_table",
                            "title": "Nested"})  # fmt: skip
    assert "nested" in errors[0]["message"]
    errors = _refusal(NCR, {"op": "set_property", "field": "defects.code", "property": "key",
                            "value": "defect"}, PUBLISHED)  # fmt: skip
    assert errors[0]["path"] == "/ops/0/value" and "published child table" in errors[0]["message"]


def test_a_field_in_use_by_an_expression_cannot_be_removed_silently():
    errors = _refusal(NCR, {"op": "remove_field", "field": "qty_rejected"})
    assert any("qty_rejected" in e["message"] for e in errors)
    assert all(e["op"] == "/ops/0" for e in errors)
    new = apply_op(NCR, {"op": "remove_field", "field": "complaint"})
    assert "complaint" not in _placed(new) and "visible_if" not in new["rules"]


def test_sections_tabs_and_columns():
    new = apply_ops(NCR, [
        {"op": "add_tab", "title": {"en": "Cost", "zh": "成本"}},
        {"op": "move_section", "tab": 0, "section": 1, "to_tab": 1, "index": 0},
        {"op": "set_section", "tab": 1, "section": 0, "columns": 3, "title": "Money"},
        {"op": "move_field", "field": "cost", "position": {"tab": 1, "section": 0, "column": 2}},
        {"op": "remove_section", "tab": 1, "section": 1},
        {"op": "move_tab", "tab": 1, "index": 0},
    ])  # fmt: skip
    first = new["layout"]["tabs"][0]
    assert first["title"] == {"en": "Cost", "zh": "成本"}
    assert first["sections"][0]["columns"] == [["qty_rejected", "unit_cost"], [], ["cost"]]
    fewer = apply_op(new, {"op": "set_section", "tab": 0, "section": 0, "columns": 1})
    assert fewer["layout"]["tabs"][0]["sections"][0]["columns"] == [
        ["qty_rejected", "unit_cost", "cost"]
    ]
    for op, path in [
        ({"op": "set_section", "tab": 0, "section": 0, "columns": 5}, "/ops/0/columns"),
        ({"op": "remove_section", "tab": 0, "section": 0}, "/ops/0/section"),
        ({"op": "remove_tab", "tab": 1}, "/ops/0/tab"),
        ({"op": "move_field", "field": "cost", "position": {"tab": 7}}, "/ops/0/position/tab"),
    ]:
        assert _refusal(new, op)[0]["path"] == path


def test_select_options_are_added_reordered_coloured_and_removed():
    new = apply_ops(NCR, [
        {"op": "add_option", "field": "disposition", "value": "sort", "index": 0,
         "label": {"en": "Sort", "zh": "挑选"}, "color": "#00aa00"},
        {"op": "move_option", "field": "disposition", "value": "scrap", "index": 1},
        {"op": "set_option", "field": "disposition", "value": "rework", "color": "#ffaa00"},
        {"op": "remove_option", "field": "disposition", "value": "use_as_is"},
    ])  # fmt: skip
    schema = new["schema"]["properties"]["disposition"]
    assert schema["enum"] == ["sort", "scrap", "rework", "return"]
    assert schema["x-enum-colors"] == {"sort": "#00aa00", "rework": "#ffaa00"}
    assert schema["x-enum-labels"] == {"sort": {"en": "Sort", "zh": "挑选"}}
    gone = apply_op(new, {"op": "remove_option", "field": "disposition", "value": "sort"})
    assert "sort" not in gone["schema"]["properties"]["disposition"]["x-enum-colors"]
    assert _refusal(new, {"op": "set_option", "field": "disposition", "value": "rework",
                          "color": "orange"})[0]["path"] == "/ops/0/color"  # fmt: skip
    assert (
        _refusal(NCR, {"op": "add_option", "field": "lot_no", "value": "x"})[0]["path"]
        == "/ops/0/field"
    )


def test_entity_properties_and_validations():
    new = apply_ops(NCR, [
        {"op": "set_entity", "property": "title.zh", "value": "不合格"},
        {"op": "set_entity", "property": "list_columns", "value": ["number", "lot_no"]},
        {"op": "add_validation", "expr": "qty_rejected < 1000", "message": "Too many"},
        {"op": "remove_validation", "index": 0},
    ])  # fmt: skip
    assert new["title"]["zh"] == "不合格" and new["list"]["columns"] == ["number", "lot_no"]
    assert new["rules"]["validations"] == [{"expr": "qty_rejected < 1000", "message": "Too many"}]
    errors = _refusal(NCR, {"op": "set_entity", "property": "title_field", "value": "nope"})
    assert errors[0]["path"] == "/title_field"


def test_malformed_lists_of_operations_are_refused():
    for ops, path in [(None, "/ops"), ([], "/ops"), ([1], "/ops/0"), ([{"op": "fly"}], "/ops/0/op"),
                      ([{"op": "add_field"}] * 101, "/ops")]:  # fmt: skip
        with pytest.raises(ValidationFailed) as caught:
            apply_ops(NCR, ops)
        assert caught.value.errors[0]["path"] == path


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.sampled_from(
        ["lot_no", "source", "defects.code", "x", "", "a b", "#ff0000", "qty_rejected > 1",
         "cost", "text", "single_select", "disposition", "rework", "key", "title"]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["tab", "section", "column", "index", "en", "zh", "value", "lsl"]),
        inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
operations = st.fixed_dictionaries(
    {"op": st.sampled_from(sorted(OPERATIONS))},
    optional={
        "type": st.sampled_from([*sorted(TEMPLATES), "blob"]),
        "title": values, "field": values, "property": st.sampled_from([*PROPERTIES, "title.zh"]),
        "value": values, "position": values, "index": values, "tab": values, "section": values,
        "columns": values, "table": values, "key": values, "to_tab": values, "label": values,
        "color": values, "expr": values, "message": values, "properties": values,
    },
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=1, max_size=4), st.booleans())
def test_any_operation_gives_valid_metadata_or_a_refusal_with_a_path(ops, published):
    before = copy.deepcopy(NCR)
    try:
        new = apply_ops(NCR, ops, PUBLISHED if published else None)
    except ValidationFailed as exc:
        assert exc.errors and all(isinstance(e["path"], str) for e in exc.errors)
    else:
        validate_definition({k: v for k, v in new.items()})
    assert before == NCR
