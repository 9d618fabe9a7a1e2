"""The compiled record-schema validator: each keyword, error paths, and agreement with jsonschema."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from jizuo.platform.record_schema import SchemaError, compile_record_schema
from tests.factories import EVERY_TYPE, NCR


def _date(value: object) -> bool:
    # Raises ValueError on a bad date, like the platform's own predicate.
    return not isinstance(value, str) or len(value) == 10 and bool(date.fromisoformat(value))


def _email(value: object) -> bool:
    return not isinstance(value, str) or bool(re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value))


FORMATS = {"date": _date, "email": _email}  # "uri" is left out: an unknown format is ignored
CHECKER = FormatChecker(formats=())
for _name, _predicate in FORMATS.items():
    CHECKER.checks(_name, raises=ValueError)(_predicate)

META = Draft202012Validator(
    json.loads(
        resources.files("jizuo.platform").joinpath("schemas/entity-definition.json").read_text()
    ),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)


def record(**fields: Any) -> dict:
    return {"type": "object", "properties": fields}


def errors(field: dict, value: Any) -> list[tuple]:
    """(path, code) of the errors of one field's value."""
    check = compile_record_schema(record(f=field), FORMATS)
    return [(e.path, e.code) for e in check({"f": value})]


def codes(field: dict, value: Any) -> list[str]:
    return [code for _, code in errors(field, value)]


# -- keywords ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, good, bad",
    [
        ("string", ["", "x"], [1, None, True, ["x"]]),
        ("integer", [0, -7, 3.0, 10**30], [3.5, True, False, "1", None]),
        ("number", [0, 2.5, -1e300, 3], [True, "2.5", None, [1]]),
        ("boolean", [True, False], [0, 1, "true", None]),
        ("array", [[], [1, "a"]], [{}, "[]", None]),
        ("object", [{}, {"a": 1}], [[], "{}", None]),
    ],
)
def test_type(kind, good, bad):
    for value in good:
        assert errors({"type": kind}, value) == [], value
    for value in bad:
        assert errors({"type": kind}, value) == [(("f",), "type")], value


def test_type_messages():
    check = compile_record_schema(record(n={"type": "integer"}, s={"type": "string"}), FORMATS)
    assert [e.message for e in check({"n": 1.5, "s": 2})] == [
        "expected a whole number",
        "expected text",
    ]


def test_enum_uses_json_equality():
    field = {"type": "number", "enum": [1, 2.5]}
    assert codes(field, 1.0) == []
    assert codes(field, 2.5) == []
    assert codes(field, 2) == ["enum"]
    assert codes({"type": "boolean", "enum": [True]}, False) == ["enum"]
    # 1 == True in Python, not in JSON.
    assert codes({"type": ["integer", "boolean"], "enum": [1]}, True) == ["enum"]
    assert codes({"type": ["integer", "boolean"], "enum": [True]}, 1) == ["enum"]


def test_enum_message():
    check = compile_record_schema(record(s={"type": "string", "enum": ["a", "b"]}), FORMATS)
    assert check({"s": "x"}) == [SchemaError(("s",), "'x' is not one of 'a', 'b'", "enum")]


def test_const():
    assert codes({"type": "string", "const": "a"}, "a") == []
    assert codes({"type": "string", "const": "a"}, "b") == ["const"]
    assert codes({"type": "integer", "const": 1}, 1.0) == []


def test_format():
    field = {"type": "string", "format": "date"}
    assert codes(field, "2024-02-29") == []
    assert codes(field, "2023-02-29") == ["format"]  # the predicate raises ValueError
    assert codes(field, "2024-2-9") == ["format"]
    assert codes({"type": "string", "format": "email"}, "a@b") == ["format"]
    assert codes({"type": "string", "format": "uri"}, "not a url") == []  # unknown here
    message = compile_record_schema(record(d=field), FORMATS)({"d": "soon"})[0].message
    assert message == "must be a valid date (YYYY-MM-DD)"


@pytest.mark.parametrize(
    "keyword, limit, good, bad",
    [
        ("minimum", 0, [0, 0.0, 5], [-1, -0.001]),
        ("maximum", 100, [100, 99.9], [101, 100.5]),
        ("exclusiveMinimum", 0, [0.001, 1], [0, -1]),
        ("exclusiveMaximum", 10, [9.99, -5], [10, 10.0, 11]),
        ("multipleOf", 0.5, [0, 1.5, -2, 10**20], [0.2, 1.25]),
        ("multipleOf", 3, [0, 9, -3, 6.0], [1, 4.5]),
    ],
)
def test_numeric_limits(keyword, limit, good, bad):
    for value in good:
        assert codes({"type": "number", keyword: limit}, value) == [], value
    for value in bad:
        assert codes({"type": "number", keyword: limit}, value) == [keyword], value


@pytest.mark.parametrize("value", [0.3, 0.5, 0.7, 1.1, 2.2, 1e308, 10**20, 123456789.1])
def test_multiple_of_floats_as_jsonschema(value):
    for step in (0.1, 0.01, 0.001, 3):
        field = {"type": "number", "multipleOf": step}
        expected = not Draft202012Validator(field).is_valid(value)
        assert (codes(field, value) == ["multipleOf"]) is expected, (value, step)


def test_multiple_of_huge_integers():
    # jsonschema raises OverflowError here (int too large for a float); exact arithmetic instead.
    assert codes({"type": "integer", "multipleOf": 0.5}, 10**400 + 1) == []
    assert codes({"type": "integer", "multipleOf": 2.0}, 10**400) == []
    assert codes({"type": "integer", "multipleOf": 2.0}, 10**400 + 1) == ["multipleOf"]


def test_numeric_messages():
    field = {"type": "number", "minimum": 1.0, "maximum": 100}
    check = compile_record_schema(record(n=field), FORMATS)
    assert check({"n": 0})[0].message == "must be at least 1"
    assert check({"n": 101})[0].message == "must be at most 100"


def test_lengths_count_code_points():
    field = {"type": "string", "minLength": 2, "maxLength": 3}
    assert codes(field, "é𝄞") == []
    assert codes(field, "𝄞𝄞𝄞") == []
    assert codes(field, "𝄞") == ["minLength"]
    assert codes(field, "ab𝄞d") == ["maxLength"]
    assert codes({"type": "string", "minLength": 1}, "") == ["minLength"]


def test_pattern_searches():
    field = {"type": "string", "pattern": "[0-9]"}
    assert codes(field, "ab1c") == []
    assert codes(field, "abc") == ["pattern"]
    assert codes({"type": "string", "pattern": "^[A-Z]+$"}, "ABc") == ["pattern"]


def test_array_sizes():
    field = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2}
    assert codes(field, [1]) == []
    assert codes(field, []) == ["minItems"]
    assert codes(field, [1, 2, 3]) == ["maxItems"]


@pytest.mark.parametrize(
    "items, unique",
    [
        ([1, True], True),
        ([0, False], True),
        ([1, 1.0], False),
        (["a", "b", "a"], False),
        ([{"a": 1}, {"a": 1.0}], False),
        ([{"a": 1}, {"a": True}], True),
        ([[1], [True]], True),
        ([[1, [2]], [1, [2]]], False),
        ([None, None], False),
    ],
)
def test_unique_items(items, unique):
    field = {"type": "array", "uniqueItems": True}
    assert codes(field, items) == ([] if unique else ["uniqueItems"])
    assert Draft202012Validator(field).is_valid(items) is unique


def test_unique_items_lists_holding_booleans():
    # jsonschema sorts [[1], [True], [1]], where [1] == [True] in Python, compares neighbours
    # only and misses the duplicate [1]; by JSON equality the list is not unique.
    assert codes({"type": "array", "uniqueItems": True}, [[1], [True], [1]]) == ["uniqueItems"]


def test_unique_items_false_allows_duplicates():
    assert codes({"type": "array", "uniqueItems": False}, [1, 1]) == []


# -- paths, order, type errors ---------------------------------------------------


DEFECTS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "enum": ["A", "B"]},
            "count": {"type": "integer", "minimum": 1},
        },
        "required": ["code", "count"],
    },
}


def test_child_table_paths():
    check = compile_record_schema(record(defects=DEFECTS), FORMATS)
    rows = [{"code": "A", "count": 1}, {"code": 5}, {"code": "C", "count": 0}, "row"]
    assert [(e.path, e.code) for e in check({"defects": rows})] == [
        (("defects", 1, "code"), "type"),
        (("defects", 1, "count"), "required"),
        (("defects", 2, "code"), "enum"),
        (("defects", 2, "count"), "minimum"),
        (("defects", 3), "type"),
    ]


def test_required_path_is_the_missing_property():
    schema = {**record(name={"type": "string"}, qty={"type": "integer"}), "required": ["name"]}
    check = compile_record_schema(schema, FORMATS)
    assert check({"qty": 1}) == [SchemaError(("name",), "this field is required", "required")]
    assert check({"name": "x"}) == []


def test_all_errors_in_schema_order():
    schema = {
        **record(
            a={"type": "string", "maxLength": 1, "pattern": "^[0-9]+$"},
            b={"type": "integer"},
            c={"type": "number", "maximum": 5, "multipleOf": 2},
        ),
        "required": ["b"],
    }
    check = compile_record_schema(schema, FORMATS)
    found = check({"c": 7, "a": "xyz", "unknown": 1})
    assert [(e.path, e.code) for e in found] == [
        (("a",), "maxLength"),
        (("a",), "pattern"),
        (("b",), "required"),
        (("c",), "maximum"),
        (("c",), "multipleOf"),
    ]
    assert check({"c": 7, "a": "xyz"}) == found


def test_wrong_type_reports_only_the_type():
    field = {"type": "string", "enum": ["a"], "format": "date", "minLength": 5}
    assert codes(field, 5) == ["type"]
    assert codes({"type": "integer", "const": 1}, "1") == ["type"]
    assert codes(DEFECTS, {"0": {"code": 1}}) == ["type"]


def test_record_that_is_not_an_object():
    check = compile_record_schema(record(a={"type": "string"}), FORMATS)
    assert check([1]) == [SchemaError((), "expected an object", "type")]


def test_annotations_are_ignored_and_other_keywords_refused():
    field = {"type": "integer", "title": {"en": "Qty"}, "default": 1, "x-unit": "pcs"}
    assert codes(field, 2) == []
    with pytest.raises(ValueError, match="anyOf"):
        compile_record_schema(record(a={"anyOf": [{"type": "string"}]}), FORMATS)
    with pytest.raises(ValueError, match="unknown type"):
        compile_record_schema(record(a={"type": "date"}), FORMATS)
    with pytest.raises(ValueError, match="additionalProperties"):
        compile_record_schema({**record(), "additionalProperties": False}, FORMATS)


@pytest.mark.parametrize("definition", [NCR, EVERY_TYPE], ids=["ncr", "every_type"])
def test_compiles_the_example_definitions(definition):
    check = compile_record_schema(definition["schema"], FORMATS)
    assert check({}) == [
        SchemaError((key,), "this field is required", "required")
        for key in definition["schema"].get("required", [])
    ]


# -- agreement with jsonschema -----------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3) | st.text(max_size=3)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)
TEXT = st.text(alphabet="aZ09é𝄞-@.", max_size=6) | st.sampled_from(
    ["2024-02-29", "2023-02-29", "2024-1-1", "x@y.io", "a@b", "ABC", "42"]
)
INTEGERS = st.integers(-12, 12) | st.integers(-12, 12).map(float) | st.integers()
NUMBERS = (
    INTEGERS
    | st.floats(-12, 12, allow_nan=False)
    | st.integers(-40, 40).map(lambda i: i * 0.1)
    | st.floats(1e300, 1e308)
)
# Values of a neighbouring type: booleans are not numbers, 2.5 is not an integer.
CONFUSABLE = {
    "string": st.integers(0, 3) | st.none(),
    "integer": st.booleans() | st.floats(-3, 3) | st.just("1"),
    "number": st.booleans() | st.just("2.5"),
    "boolean": st.integers(0, 1),
    "array": st.dictionaries(st.just("0"), SCALARS, max_size=1),
    "object": st.lists(SCALARS, max_size=2),
}
LIMITS = st.integers(-10, 10) | st.sampled_from([-2.5, 0.5, 3.3])
JSON_UNIQUE = {"unique_by": lambda v: (type(v) is bool, v), "min_size": 1, "max_size": 4}


def scalar_field(kind: str) -> st.SearchStrategy[dict]:
    typed = {"string": TEXT, "integer": INTEGERS, "number": NUMBERS, "boolean": st.booleans()}
    options: dict[str, st.SearchStrategy] = {
        "enum": st.lists(typed[kind] | SCALARS, **JSON_UNIQUE),
        "const": typed[kind],
        "title": st.just("A title"),
        "x-index": st.booleans(),
    }
    if kind == "string":
        options.update(
            minLength=st.integers(0, 4),
            maxLength=st.integers(0, 6),
            pattern=st.sampled_from(["^[A-Z]", "[0-9]$", "^a+$", "é", "^.{2,4}$"]),
            format=st.sampled_from(["date", "email", "uri"]),
        )
    if kind in ("integer", "number"):
        options.update(
            minimum=LIMITS,
            maximum=LIMITS,
            exclusiveMinimum=LIMITS,
            exclusiveMaximum=LIMITS,
            multipleOf=st.sampled_from([1, 2, 3, 0.5, 0.1, 0.25, 0.001]),
        )
    return st.fixed_dictionaries({"type": st.just(kind)}, optional=options)


SCALAR_FIELD = st.sampled_from(["string", "integer", "number", "boolean"]).flatmap(scalar_field)
OBJECT_FIELD = st.dictionaries(st.sampled_from("pqr"), SCALAR_FIELD, max_size=3).flatmap(
    lambda props: st.fixed_dictionaries(
        {"type": st.just("object"), "properties": st.just(props)},
        optional={"required": st.lists(st.sampled_from("pqrs"), unique=True, max_size=3)},
    )
)
ARRAY_FIELD = st.fixed_dictionaries(
    {"type": st.just("array"), "items": SCALAR_FIELD | OBJECT_FIELD},
    optional={
        "minItems": st.integers(0, 3),
        "maxItems": st.integers(0, 3),
        "uniqueItems": st.booleans(),
    },
)
RECORD_SCHEMA = st.dictionaries(
    st.sampled_from("abcdefgh"), SCALAR_FIELD | ARRAY_FIELD | OBJECT_FIELD, min_size=1, max_size=8
).flatmap(
    lambda props: st.fixed_dictionaries(
        {"type": st.just("object"), "properties": st.just(props)},
        optional={"required": st.lists(st.sampled_from("abcdefghi"), unique=True, max_size=4)},
    )
) | st.sampled_from([NCR["schema"], EVERY_TYPE["schema"]])


def value_for(schema: dict) -> st.SearchStrategy:
    """Values near the schema (right type, enum members, boundaries) and now and then any JSON."""
    kind = schema.get("type")
    if kind == "object":
        typed = st.fixed_dictionaries(
            {}, optional={k: value_for(s) for k, s in schema.get("properties", {}).items()}
        )
    elif kind == "array":
        rows = st.lists(value_for(schema["items"]), max_size=4)
        typed = st.tuples(rows, st.booleans()).map(lambda t: t[0] + t[0][:1] if t[1] else t[0])
    else:
        typed = {"string": TEXT, "integer": INTEGERS, "number": NUMBERS}.get(kind, st.booleans())
    near = [st.sampled_from(schema["enum"])] if "enum" in schema else []
    bounds = ("const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    near += [st.just(schema[k]) for k in bounds if k in schema]
    # one_of picks branches about evenly: repeat the typed one so most values reach the
    # keywords behind the type check.
    return st.one_of(typed, typed, typed, *near, CONFUSABLE.get(kind, ANY_JSON), ANY_JSON)


def reference(schema: dict, data: Any) -> set[tuple]:
    """jsonschema's (path, keyword) pairs, the required ones at the missing property's path."""
    pairs = set()
    for e in Draft202012Validator(schema, format_checker=CHECKER).iter_errors(data):
        path = tuple(e.absolute_path)
        if e.validator == "required":
            missing = [p for p in e.validator_value if e.message == f"{p!r} is a required property"]
            path += (missing[0],)
        pairs.add((path, e.validator))
    # Where the type is wrong we report only that; jsonschema adds enum, const and format.
    wrong_type = {path for path, code in pairs if code == "type"}
    return {(path, code) for path, code in pairs if code == "type" or path not in wrong_type}


def sort_trap(value: Any) -> bool:
    """A list of lists holding booleans: where jsonschema's uniqueItems can miss a duplicate."""
    if isinstance(value, dict):
        return any(map(sort_trap, value.values()))
    if not isinstance(value, list):
        return False
    nested = [v for v in value if isinstance(v, list)]
    return len(nested) > 1 and has_bool(nested) or any(map(sort_trap, value))


def has_bool(value: Any) -> bool:
    if isinstance(value, list | dict):
        return any(map(has_bool, value.values() if isinstance(value, dict) else value))
    return isinstance(value, bool)


def strip_const(schema: Any) -> Any:
    # The meta-schema has no const for fields; the compiler supports it all the same.
    if isinstance(schema, dict):
        return {k: strip_const(v) for k, v in schema.items() if k != "const"}
    return schema


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_agrees_with_jsonschema(data):
    schema = data.draw(RECORD_SCHEMA, label="schema")
    assert META.is_valid({"key": "t", "title": "T", "schema": strip_const(schema)})
    record_data = data.draw(value_for(schema), label="data")
    assume(not sort_trap(record_data))  # see test_unique_items_lists_holding_booleans
    found = compile_record_schema(schema, FORMATS)(record_data)
    pairs = [(e.path, e.code) for e in found]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == reference(schema, record_data)
