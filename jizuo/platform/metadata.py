"""The metadata language: entity definitions (schema + layout + rules) and their fields.

``validate_definition`` refuses a broken definition with every problem at once,
before it is stored; ``EntityDefinition`` is the parsed, checked form the record
store, the API and the runtime work from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.expressions import (
    ExpressionError,
    check_expression,
    evaluate,
    parse_expression,
)

#: Names every expression may read besides the fields: the whole record and the acting user.
CONTEXT_NAMES = frozenset({"record", "user"})

FIELD_KINDS = (
    "text", "long_text", "integer", "decimal", "boolean", "date", "datetime",
    "single_select", "multi_select", "reference", "child_table", "attachment", "user",
    "email", "url", "phone", "computed", "auto_number", "measurement", "object",
)  # fmt: skip

SEQUENCE_TOKEN = re.compile(r"\{([^{}]*)\}")
SEQUENCE_TOKENS = {"YYYY", "YY", "MM", "DD"}
SEQ_PLACEHOLDER = re.compile(r"^seq(?::0?([1-9]|1[0-2]))?$")


@cache
def _meta_validator() -> Draft202012Validator:
    text = resources.files("jizuo.platform").joinpath("schemas/entity-definition.json").read_text()
    return Draft202012Validator(
        json.loads(text), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@dataclass(frozen=True)
class Field:
    """One field of an entity (or of a child table's rows)."""

    key: str
    path: str  # dotted path from the record root, e.g. "defects.code"
    kind: str
    schema: dict[str, Any]
    children: dict[str, Field] = field(default_factory=dict)

    @property
    def ref(self) -> str | None:
        return self.schema.get("x-ref")

    @property
    def formula(self) -> str | None:
        return self.schema.get("x-formula")

    @property
    def sequence(self) -> str | None:
        return self.schema.get("x-sequence")

    @property
    def read_only(self) -> bool:
        """Computed and auto-numbered fields are written by the platform only."""
        return self.kind in ("computed", "auto_number")

    @property
    def sql_type(self) -> str:
        """How the field compares in SQL: 'number', 'boolean', 'array', 'object' or 'text'."""
        json_type = self.schema.get("type")
        if json_type in ("integer", "number"):
            return "number"
        if json_type in ("boolean", "array", "object"):
            return json_type
        return "text"


def field_kind(schema: dict[str, Any]) -> str:
    """The field type a designer chose, read back from the JSON Schema and its x- keywords."""
    json_type = schema.get("type")
    if "x-formula" in schema:
        return "computed"
    if "x-sequence" in schema:
        return "auto_number"
    if "x-ref" in schema:
        return "reference"
    if schema.get("x-user"):
        return "user"
    if schema.get("x-attachment"):
        return "attachment"
    if json_type == "array":
        items = schema.get("items", {})
        return "child_table" if items.get("type") == "object" else "multi_select"
    if json_type == "object":
        return "object"
    if json_type == "boolean":
        return "boolean"
    if json_type == "integer":
        return "integer"
    if json_type == "number":
        return "measurement" if "x-spec" in schema else "decimal"
    if "enum" in schema:
        return "single_select"
    formats = {"date": "date", "date-time": "datetime", "email": "email", "uri": "url"}
    if schema.get("format") in formats:
        return formats[schema["format"]]
    if schema.get("format") == "phone" or schema.get("x-widget") == "phone":
        return "phone"
    if schema.get("x-widget") == "textarea":
        return "long_text"
    return "text"


@dataclass(frozen=True)
class EntityDefinition:
    """A checked definition: the raw JSON plus its fields, indexed for the record store."""

    raw: dict[str, Any]
    fields: dict[str, Field]

    @property
    def key(self) -> str:
        return self.raw["key"]

    @property
    def schema(self) -> dict[str, Any]:
        return self.raw["schema"]

    @property
    def rules(self) -> dict[str, Any]:
        return self.raw.get("rules", {})

    @property
    def required(self) -> list[str]:
        return self.schema.get("required", [])

    def all_fields(self) -> list[Field]:
        """Every field, child-table columns included, depth first."""
        out: list[Field] = []

        def walk(fields: dict[str, Field]) -> None:
            for f in fields.values():
                out.append(f)
                walk(f.children)

        walk(self.fields)
        return out

    def field_at(self, dotted: str) -> Field | None:
        """The field at a dotted path (``defects.code``), or None."""
        fields, found = self.fields, None
        for part in dotted.split("."):
            found = fields.get(part)
            if found is None:
                return None
            fields = found.children
        return found


def _build_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, Field]:
    fields = {}
    for key, schema in properties.items():
        path = f"{prefix}{key}"
        kind = field_kind(schema)
        children: dict[str, Field] = {}
        if kind == "child_table":
            children = _build_fields(schema["items"].get("properties", {}), f"{path}.")
        elif kind == "object":
            children = _build_fields(schema.get("properties", {}), f"{path}.")
        fields[key] = Field(key=key, path=path, kind=kind, schema=schema, children=children)
    return fields


def _pointer(parts: Any) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in parts)


def validate_definition(definition: Any) -> EntityDefinition:
    """Check a definition against the meta-schema and the language rules; raise with all errors."""
    if not isinstance(definition, dict):
        raise ValidationFailed(
            "An entity definition must be a JSON object.",
            errors=[error("", "expected an object")],
        )
    shape_errors = [
        error(_pointer(e.absolute_path), e.message, e.validator)
        for e in sorted(_meta_validator().iter_errors(definition), key=lambda e: list(e.path))
    ]
    if shape_errors:
        raise ValidationFailed("The entity definition is not valid.", errors=shape_errors)

    parsed = EntityDefinition(
        raw=definition, fields=_build_fields(definition["schema"]["properties"])
    )
    problems = _semantic_errors(parsed)
    if problems:
        raise ValidationFailed("The entity definition is not valid.", errors=problems)
    return parsed


def _semantic_errors(defn: EntityDefinition) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    top = set(defn.fields)
    names = top | CONTEXT_NAMES

    def check_required(required: list[str], known: dict[str, Field], where: str) -> None:
        for i, key in enumerate(required):
            if key not in known:
                problems.append(
                    error(f"{where}/required/{i}", f"required field '{key}' is not defined")
                )

    check_required(defn.required, defn.fields, "/schema")
    for f in defn.all_fields():
        where = "/schema/properties/" + "/properties/".join(f.path.split("."))
        problems.extend(_field_errors(f, where))
        if f.kind == "child_table":
            items = f.schema["items"]
            check_required(items.get("required", []), f.children, f"{where}/items")
            row_names = set(f.children) | {"parent"} | CONTEXT_NAMES
            for child in f.children.values():
                if child.formula:
                    problems.extend(
                        _expression_errors(
                            child.formula,
                            row_names,
                            f"{where}/items/properties/{child.key}/x-formula",
                        )
                    )
        elif f.formula and "." not in f.path:
            problems.extend(_expression_errors(f.formula, names, f"{where}/x-formula"))

    if "title_field" in defn.raw and defn.raw["title_field"] not in top:
        problems.append(error("/title_field", f"field '{defn.raw['title_field']}' is not defined"))
    for i, column in enumerate(defn.raw.get("list", {}).get("columns", [])):
        if column not in top:
            problems.append(error(f"/list/columns/{i}", f"field '{column}' is not defined"))

    problems.extend(_layout_errors(defn.raw.get("layout"), top))
    problems.extend(_rule_errors(defn.rules, top, names))
    problems.extend(_formula_cycle_errors(defn))
    return problems


def _field_errors(f: Field, where: str) -> list[dict[str, str]]:
    s = f.schema
    out = []
    if s["type"] == "array" and "items" not in s:
        out.append(error(where, "an array field needs 'items'"))
    elif f.kind == "multi_select" and "enum" not in s["items"]:
        out.append(error(where, "a list field must be a child table (items of type object) "
                                "or a multi select (items with an enum)"))  # fmt: skip
    if f.kind == "child_table" and any(c.kind == "child_table" for c in f.children.values()):
        out.append(error(where, "child tables cannot be nested in child tables"))
    if f.kind == "reference" and s["type"] != "integer":
        out.append(
            error(f"{where}/type", "a reference field holds a record id: use type 'integer'")
        )
    if f.kind in ("user", "attachment") and s["type"] not in ("integer", "array"):
        out.append(error(f"{where}/type", f"a {f.kind} field holds an id: use type 'integer'"))
    if f.kind == "auto_number":
        if s["type"] != "string":
            out.append(error(f"{where}/type", "an auto-number field must be of type 'string'"))
        out.extend(_sequence_errors(s["x-sequence"], f"{where}/x-sequence"))
        if "." in f.path:
            out.append(error(where, "auto-numbers are for top-level fields only"))
    if "x-spec" in s:
        spec = s["x-spec"]
        if s["type"] not in ("number", "integer"):
            out.append(error(f"{where}/x-spec", "spec limits apply to number fields only"))
        if "lsl" in spec and "usl" in spec and spec["lsl"] >= spec["usl"]:
            out.append(error(f"{where}/x-spec", "lsl must be below usl"))
        target = spec.get("target")
        if target is not None and not spec.get("lsl", target) <= target <= spec.get("usl", target):
            out.append(error(f"{where}/x-spec/target", "target must lie between lsl and usl"))
    if ("x-index" in s or "x-unique" in s) and s["type"] not in ("string", "integer", "number"):
        out.append(error(where, "only text and number fields can be indexed or unique"))
    if ("x-index" in s or "x-unique" in s) and "." in f.path:
        out.append(error(where, "only top-level fields can be indexed or unique"))
    options = [str(o) for o in s.get("enum") or s.get("items", {}).get("enum") or []]
    for keyword in ("x-enum-labels", "x-enum-colors"):
        for value in s.get(keyword, {}):
            if value not in options:
                out.append(error(f"{where}/{keyword}/{value}", f"'{value}' is not an option"))
    if "default" in s and f.read_only:
        out.append(error(f"{where}/default", "a computed or auto-number field has no default"))
    return out


def _sequence_errors(pattern: str, where: str) -> list[dict[str, str]]:
    tokens = SEQUENCE_TOKEN.findall(pattern)
    seq_tokens = [t for t in tokens if t.startswith("seq")]
    out = []
    if len(seq_tokens) != 1 or not SEQ_PLACEHOLDER.match(seq_tokens[0]):
        out.append(error(where, "the pattern needs exactly one {seq} or {seq:0N} (N ≤ 12)"))
    for token in tokens:
        if not token.startswith("seq") and token not in SEQUENCE_TOKENS:
            out.append(error(where, f"unknown placeholder {{{token}}}; use YYYY, YY, MM, DD, seq"))
    return out


def _expression_errors(source: str, names: set[str], where: str) -> list[dict[str, str]]:
    try:
        expression = check_expression(source, names)
        if not expression.names:
            # A constant expression is evaluated now, so `9**9**9` is refused at save time.
            evaluate(expression, {})
    except ExpressionError as exc:
        return [error(where, str(exc), "expression")]
    return []


def _layout_errors(layout: dict[str, Any] | None, top: set[str]) -> list[dict[str, str]]:
    if not layout:
        return []
    out, seen = [], set()
    for t, tab in enumerate(layout["tabs"]):
        for s, section in enumerate(tab["sections"]):
            base = f"/layout/tabs/{t}/sections/{s}"
            for c, column in enumerate(section["columns"]):
                for i, key in enumerate(column):
                    where = f"{base}/columns/{c}/{i}"
                    if key not in top:
                        out.append(error(where, f"field '{key}' is not defined"))
                    elif key in seen:
                        out.append(error(where, f"field '{key}' is placed twice"))
                    seen.add(key)
            for key in section.get("widgets", {}):
                if key not in top:
                    out.append(error(f"{base}/widgets/{key}", f"field '{key}' is not defined"))
    return out


def _rule_errors(rules: dict[str, Any], top: set[str], names: set[str]) -> list[dict[str, str]]:
    out = []
    for kind in ("visible_if", "required_if", "readonly_if"):
        for key, source in rules.get(kind, {}).items():
            where = f"/rules/{kind}/{key}"
            if key not in top:
                out.append(error(where, f"field '{key}' is not defined"))
            out.extend(_expression_errors(source, names, where))
    for i, validation in enumerate(rules.get("validations", [])):
        out.extend(_expression_errors(validation["expr"], names, f"/rules/validations/{i}/expr"))
        if "field" in validation and validation["field"] not in top:
            out.append(error(f"/rules/validations/{i}/field", "field is not defined"))
    return out


def _formula_cycle_errors(defn: EntityDefinition) -> list[dict[str, str]]:
    try:
        formula_order(defn)
    except ValueError as exc:
        return [error("/schema/properties", str(exc), "cycle")]
    return []


def formula_order(defn: EntityDefinition) -> list[Field]:
    """Top-level computed fields in an order where each comes after the formulas it reads."""

    computed = {k: f for k, f in defn.fields.items() if f.formula}
    deps = {k: parse_expression(f.formula).names & computed.keys() for k, f in computed.items()}
    order: list[Field] = []
    done: set[str] = set()
    while deps:
        ready = sorted(k for k, d in deps.items() if d <= done)
        if not ready:
            raise ValueError(f"formulas depend on each other in a cycle: {', '.join(sorted(deps))}")
        for k in ready:
            order.append(computed[k])
            done.add(k)
            del deps[k]
    return order
