"""Design operations on an entity draft: what the form designer's palette, canvas and
property panel do, as pure functions ``(definition, op) -> new definition``.

An operation is a JSON object such as ``{"op": "add_field", "type": "decimal", "title":
"Unit cost", "position": {"tab": 0, "section": 1, "column": 0}}`` or ``{"op":
"set_property", "field": "unit_cost", "property": "minimum", "value": 0}``. Every result
is checked by the kernel's ``validate_definition``: an operation either gives valid
metadata or is refused with JSON-pointer paths (into the operation for a bad request,
into the definition for what the kernel refuses).

Keys: a new field's key is made from its title. After the entity was published, changing
a top-level field's key is recorded in the draft under ``x-renames`` (published key → key
in the draft), which publishing turns into the rename migration, so the records' values
follow the field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from jizuo.designer.expression_help import rename_in_expression, tokens_of
from jizuo.designer.form_fields import (
    KEYWORDS,
    NEEDS,
    PROPERTIES,
    RULES,
    SELECTS,
    TEMPLATES,
    TEXT_PROPERTIES,
    change_kind,
    key_from_title,
    option_list,
    refuse,
    set_keyword,
    set_option_style,
    set_options,
    set_text,
)
from jizuo.designer.form_layout import (
    LAYOUT_OPERATIONS,
    layout_of,
    move_placed,
    place,
    position,
    unplace,
)
from jizuo.platform.catalog import KEY_PATTERN
from jizuo.platform.errors import ValidationFailed
from jizuo.platform.metadata import EntityDefinition, field_kind, validate_definition
from jizuo.platform.validation import RecordValidator

RENAMES = "x-renames"
MAX_OPS = 100

#: The published version as the designer needs it: top-level key → its child columns.
PublishedShape = dict[str, frozenset[str]]
Operation = Callable[[dict[str, Any], dict[str, Any], PublishedShape | None, str], None]


def published_shape(definition: EntityDefinition | None) -> PublishedShape | None:
    """The keys of a published definition (None when the entity was never published)."""
    if definition is None:
        return None
    return {key: frozenset(f.children) for key, f in definition.fields.items()}


def draft_renames(definition: dict[str, Any]) -> dict[str, str]:
    """The renames of published fields the draft carries (published key → draft key)."""
    return dict(definition.get(RENAMES, {}))


# -- finding fields ----------------------------------------------------------------------


def _locate(definition: dict, dotted: Any, path: str) -> tuple[dict, dict, str, str | None]:
    """(properties holding the field, the schema owning its 'required', key, child table)."""
    parts = dotted.split(".") if isinstance(dotted, str) else []
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise refuse(path, "name a field: 'key', or 'table.column' for a child-table column")
    owner = definition["schema"]
    properties = owner["properties"]
    table = None
    if len(parts) == 2:
        table = parts[0]
        found = properties.get(table)
        if found is None or field_kind(found) != "child_table":
            raise refuse(path, f"'{table}' is not a child table")
        owner = found["items"]
        properties = owner.setdefault("properties", {})
    if parts[-1] not in properties:
        raise refuse(path, f"no field '{dotted}'")
    return properties, owner, parts[-1], table


def _container(definition: dict, table: Any, path: str) -> tuple[dict, dict]:
    """(properties, required-owner) of the record, or of a child table's rows."""
    if table is None:
        return definition["schema"]["properties"], definition["schema"]
    properties, _, key, _ = _locate(definition, table, path)
    if field_kind(properties[key]) != "child_table":
        raise refuse(path, f"'{table}' is not a child table")
    items = properties[key]["items"]
    return items.setdefault("properties", {}), items


def _check_key(key: Any, taken: Any, path: str) -> str:
    if not isinstance(key, str) or not re.match(KEY_PATTERN, key):
        raise refuse(path, "a key has lower-case letters, digits and _, starting with a letter")
    if key in taken:
        raise refuse(path, f"'{key}' is already used")
    return key


def _set_required(owner: dict, key: str, required: bool) -> None:
    keys = [k for k in owner.get("required", []) if k != key]
    if required:
        keys.append(key)
    if keys:
        owner["required"] = keys
    else:
        owner.pop("required", None)


# -- expressions that name a field -------------------------------------------------------


def _rewrite_expressions(definition: dict, top: Callable[[str], str], row: Callable) -> None:
    """Apply ``top`` to every record-level expression and ``row(table, source)`` to every
    child-table column's formula."""
    for key, schema in definition["schema"]["properties"].items():
        if "x-formula" in schema:
            schema["x-formula"] = top(schema["x-formula"])
        if field_kind(schema) == "child_table":
            for column in schema["items"].get("properties", {}).values():
                if "x-formula" in column:
                    column["x-formula"] = row(key, column["x-formula"])
    rules = definition.get("rules", {})
    for kind in RULES:
        for key, source in rules.get(kind, {}).items():
            rules[kind][key] = top(source)
    for validation in rules.get("validations", []):
        validation["expr"] = top(validation["expr"])


def _names_in(source: str) -> set[str]:
    return {t.text for t in tokens_of(source)}


def _rename_top_level(definition: dict, old: str, new: str) -> None:
    layout = definition.get("layout")
    if layout:
        for tab in layout["tabs"]:
            for section in tab["sections"]:
                columns = section["columns"]
                section["columns"] = [[new if k == old else k for k in c] for c in columns]
                widgets = section.get("widgets", {})
                if old in widgets:
                    widgets[new] = widgets.pop(old)
    rules = definition.get("rules", {})
    for kind in RULES:
        if old in rules.get(kind, {}):
            rules[kind] = {new if k == old else k: v for k, v in rules[kind].items()}
    for validation in rules.get("validations", []):
        if validation.get("field") == old:
            validation["field"] = new
    if definition.get("title_field") == old:
        definition["title_field"] = new
    listing = definition.get("list", {})
    if "columns" in listing:
        listing["columns"] = [new if k == old else k for k in listing["columns"]]
    if listing.get("order_by", "").lstrip("-") == old:
        listing["order_by"] = listing["order_by"].replace(old, new)
    record = frozenset({"record"})
    _rewrite_expressions(
        definition,
        lambda s: rename_in_expression(s, old, new, attribute_of=record),
        lambda _t, s: rename_in_expression(s, old, new, attribute_of=frozenset({"parent"}),
                                           bare=False),
    )  # fmt: skip


def _record_rename(definition: dict, old: str, new: str, published: PublishedShape) -> None:
    renames = draft_renames(definition)
    origin = next((o for o, n in renames.items() if n == old), old)
    if origin not in published:
        return  # a field added in this draft: nothing to migrate
    if origin == new:
        renames.pop(origin, None)
    else:
        renames[origin] = new
    if renames:
        definition[RENAMES] = renames
    else:
        definition.pop(RENAMES, None)


def _rename(
    definition: dict, dotted: str, new: Any, published: PublishedShape | None, path: str
) -> None:
    properties, owner, old, table = _locate(definition, dotted, path)
    if new == old:
        return
    _check_key(new, properties, path)
    if table is not None and published and old in published.get(table, ()):
        raise refuse(
            path,
            "a column of a published child table keeps its key: add a new column, "
            "move the values with a conversion when publishing, then remove this one",
        )
    items = [(new if k == old else k, v) for k, v in properties.items()]
    properties.clear()
    properties.update(items)
    if old in owner.get("required", []):
        owner["required"] = [new if k == old else k for k in owner["required"]]
    if table is None:
        _rename_top_level(definition, old, new)
        if published is not None:
            _record_rename(definition, old, new, published)
        return
    _rewrite_expressions(
        definition,
        lambda s: (
            rename_in_expression(s, old, new, bare=False, strings=True)
            if table in _names_in(s)
            else s
        ),
        lambda t, s: rename_in_expression(s, old, new) if t == table else s,
    )


# -- properties --------------------------------------------------------------------------


def _check_default(definition: dict, dotted: str, value: Any, path: str) -> None:
    """The kernel's record validator says whether the default fits the field."""
    validator = RecordValidator(validate_definition(definition))
    table, _, column = dotted.rpartition(".")
    data = {table: [{column: value}]} if table else {column: value}
    problems = [e for e in validator.schema_errors(data) if e["code"] != "required"]
    if problems:
        raise refuse(path, f"the default does not fit the field: {problems[0]['message']}")


def set_property(
    definition: dict, dotted: Any, prop: Any, value: Any, published: PublishedShape | None, at: str
) -> None:
    """Set one property of a field (in place); ``value`` None removes it."""
    properties, owner, key, table = _locate(definition, dotted, f"{at}/field")
    schema = properties[key]
    kind = field_kind(schema)
    path = f"{at}/value"
    base, _, language = str(prop).partition(".")
    if base in TEXT_PROPERTIES:
        keyword = "x-placeholder" if base == "placeholder" else base
        text = set_text(schema.get(keyword), language or None, value, path)
        if text is None:
            schema.pop(keyword, None)
        else:
            schema[keyword] = text
    elif prop == "key":
        _rename(definition, dotted, value, published, path)
    elif prop == "kind":
        properties[key] = change_kind(schema, value, path)
    elif prop == "required":
        if not isinstance(value, bool):
            raise refuse(path, "give true or false")
        _set_required(owner, key, value)
    elif prop == "default":
        if value is None:
            schema.pop("default", None)
        else:
            schema["default"] = copy.deepcopy(value)
            _check_default(definition, dotted, value, path)
    elif prop in KEYWORDS:
        set_keyword(schema, kind, prop, value, path)
    elif prop == "options":
        _replace_options(schema, kind, value, path)
    elif prop in RULES:
        if table is not None:
            raise refuse(path, f"'{prop}' applies to the record's own fields")
        bucket = definition.setdefault("rules", {}).setdefault(prop, {})
        if value is None:
            bucket.pop(key, None)
        elif isinstance(value, str) and value.strip():
            bucket[key] = value
        else:
            raise refuse(path, "give an expression")
        if not bucket:
            del definition["rules"][prop]
    else:
        raise refuse(f"{at}/property", f"unknown property; use one of {', '.join(PROPERTIES)}")


def _replace_options(schema: dict, kind: str, value: Any, path: str) -> None:
    if kind not in SELECTS:
        raise refuse(path, f"a {kind} field has no options")
    if not isinstance(value, list) or not value:
        raise refuse(path, "give a list of options, each a text or {value, label, color}")
    entries = [o if isinstance(o, dict) else {"value": o} for o in value]
    values = [o.get("value") for o in entries]
    if not all(isinstance(v, str) and v for v in values) or len(set(values)) != len(values):
        raise refuse(path, "each option needs its own non-empty text value")
    schema.pop("x-enum-labels", None)
    schema.pop("x-enum-colors", None)
    set_options(schema, values)
    for i, entry in enumerate(entries):
        set_option_style(schema, entry["value"], entry, f"{path}/{i}")


# -- operations --------------------------------------------------------------------------


def add_field(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    kind = op.get("type")
    if kind not in TEMPLATES:
        raise refuse(f"{at}/type", f"unknown field type; use one of {', '.join(TEMPLATES)}")
    table = op.get("table")
    properties, _ = _container(definition, table, f"{at}/table")
    title = set_text(None, None, op.get("title"), f"{at}/title")
    if "key" in op:
        key = _check_key(op["key"], properties, f"{at}/key")
    else:
        key = key_from_title(title, set(properties))
    extra = op.get("properties", {})
    if not isinstance(extra, dict):
        raise refuse(f"{at}/properties", "give {property: value}")
    if kind in NEEDS and NEEDS[kind] not in extra:
        raise refuse(f"{at}/properties", f"a {kind} field needs '{NEEDS[kind]}'")
    schema = properties[key] = {**copy.deepcopy(TEMPLATES[kind]), "title": title}
    if kind in NEEDS:
        # What makes the field this type comes first: until then it reads as another type.
        set_keyword(schema, kind, NEEDS[kind], extra[NEEDS[kind]], f"{at}/properties")
    if table is None:
        place(layout_of(definition), key, op.get("position"), f"{at}/position")
    dotted = f"{table}.{key}" if table else key
    for prop, value in extra.items():
        if prop != NEEDS.get(kind):
            set_property(definition, dotted, prop, value, published, f"{at}/properties/{prop}")


def remove_field(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    properties, owner, key, table = _locate(definition, op.get("field"), f"{at}/field")
    del properties[key]
    _set_required(owner, key, False)
    if table is not None:
        return
    if "layout" in definition:
        unplace(definition["layout"], key)
    rules = definition.get("rules", {})
    for kind in RULES:
        rules.get(kind, {}).pop(key, None)
        if kind in rules and not rules[kind]:
            del rules[kind]
    if definition.get("title_field") == key:
        del definition["title_field"]
    listing = definition.get("list", {})
    listing["columns"] = [k for k in listing.get("columns", []) if k != key]
    if listing.get("order_by", "").lstrip("-") == key:
        del listing["order_by"]
    if "list" in definition and not listing["columns"]:
        del listing["columns"]
    renames = {o: n for o, n in draft_renames(definition).items() if n != key}
    definition.pop(RENAMES, None)
    if renames:
        definition[RENAMES] = renames


def move_field(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    properties, _, key, table = _locate(definition, op.get("field"), f"{at}/field")
    if table is None:
        move_placed(layout_of(definition), key, op.get("position"), f"{at}/position")
        return
    order = [k for k in properties if k != key]
    order.insert(position(op.get("index"), len(order), f"{at}/index", insert=True), key)
    items = {k: properties[k] for k in order}
    properties.clear()
    properties.update(items)


def set_field_property(definition: dict, op: dict, published: PublishedShape | None, at: str):
    if "value" not in op:
        raise refuse(f"{at}/value", "give the value (null removes the property)")
    set_property(definition, op.get("field"), op.get("property"), op["value"], published, at)


def _select(definition: dict, op: dict, at: str) -> tuple[dict, list[Any]]:
    properties, _, key, _ = _locate(definition, op.get("field"), f"{at}/field")
    schema = properties[key]
    if field_kind(schema) not in SELECTS:
        raise refuse(f"{at}/field", f"'{op.get('field')}' is not a select field")
    return schema, list(option_list(schema))


def _option_index(options: list[Any], value: Any, at: str) -> int:
    if value not in options:
        raise refuse(f"{at}/value", f"no option '{value}'")
    return options.index(value)


def add_option(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    schema, options = _select(definition, op, at)
    value = op.get("value")
    if not isinstance(value, str) or not value:
        raise refuse(f"{at}/value", "give the option's value as a non-empty text")
    if value in options:
        raise refuse(f"{at}/value", f"'{value}' is already an option")
    options.insert(position(op.get("index"), len(options), f"{at}/index", insert=True), value)
    set_options(schema, options)
    set_option_style(schema, value, op, at)


def move_option(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    schema, options = _select(definition, op, at)
    value = options.pop(_option_index(options, op.get("value"), at))
    options.insert(position(op.get("index"), len(options), f"{at}/index", insert=True), value)
    set_options(schema, options)


def remove_option(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    schema, options = _select(definition, op, at)
    options.pop(_option_index(options, op.get("value"), at))
    if not options:
        raise refuse(f"{at}/value", "a select keeps at least one option")
    set_options(schema, options)


def set_option(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    schema, options = _select(definition, op, at)
    _option_index(options, op.get("value"), at)
    set_option_style(schema, op["value"], op, at)


ENTITY_PROPERTIES = ("title", "description", "title_field", "list_columns", "order_by")


def set_entity(definition: dict, op: dict, published: PublishedShape | None, at: str) -> None:
    prop, value = str(op.get("property")), op.get("value")
    base, _, language = prop.partition(".")
    if base in ("title", "description"):
        text = set_text(definition.get(base), language or None, value, f"{at}/value")
        if text is None and base == "title":
            raise refuse(f"{at}/value", "an entity keeps its title")
        definition[base] = text
        if text is None:
            del definition[base]
    elif prop in ("title_field", "order_by", "list_columns"):
        target = definition if prop == "title_field" else definition.setdefault("list", {})
        name = "columns" if prop == "list_columns" else prop
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    else:
        raise refuse(f"{at}/property", f"use one of {', '.join(ENTITY_PROPERTIES)}")
    if definition.get("list") == {}:
        del definition["list"]


def _validations(definition: dict) -> list[dict[str, Any]]:
    return definition.setdefault("rules", {}).setdefault("validations", [])


def add_validation(definition: dict, op: dict, published: PublishedShape | None, at: str):
    validation = {k: op[k] for k in ("expr", "message", "field") if k in op}
    rules = _validations(definition)
    rules.insert(position(op.get("index"), len(rules), f"{at}/index", insert=True), validation)


def remove_validation(definition: dict, op: dict, published: PublishedShape | None, at: str):
    rules = _validations(definition)
    rules.pop(position(op.get("index"), len(rules), f"{at}/index"))
    if not rules:
        del definition["rules"]["validations"]


def _layout_operation(handler: Callable[[dict, dict, str], None]) -> Operation:
    return lambda definition, op, _published, at: handler(definition, op, at)


OPERATIONS: dict[str, Operation] = {
    "add_field": add_field,
    "remove_field": remove_field,
    "move_field": move_field,
    "set_property": set_field_property,
    "add_option": add_option,
    "move_option": move_option,
    "remove_option": remove_option,
    "set_option": set_option,
    "set_entity": set_entity,
    "add_validation": add_validation,
    "remove_validation": remove_validation,
    **{name: _layout_operation(handler) for name, handler in LAYOUT_OPERATIONS.items()},
}


def apply_op(
    definition: dict[str, Any],
    op: Any,
    published: PublishedShape | None = None,
    *,
    at: str = "/ops/0",
) -> dict[str, Any]:
    """The definition after one operation, checked by the kernel; or ValidationFailed."""
    if not isinstance(op, dict):
        raise refuse(at, "an operation is a JSON object with an 'op'")
    handler = OPERATIONS.get(op.get("op"))
    if handler is None:
        raise refuse(f"{at}/op", f"unknown operation; use one of {', '.join(OPERATIONS)}")
    new = copy.deepcopy(definition)
    handler(new, op, published, at)
    try:
        validate_definition(new)
    except ValidationFailed as exc:
        raise ValidationFailed(
            f"Operation {at} would make the definition invalid: {exc.detail}",
            errors=[{**e, "op": at} for e in exc.errors],
        ) from None
    return new


def apply_ops(
    definition: dict[str, Any], ops: Any, published: PublishedShape | None = None
) -> dict[str, Any]:
    """The definition after a list of operations, all or none."""
    if not isinstance(ops, list) or not ops:
        raise refuse("/ops", "give a list of operations")
    if len(ops) > MAX_OPS:
        raise refuse("/ops", f"at most {MAX_OPS} operations at a time")
    for i, op in enumerate(ops):
        definition = apply_op(definition, op, published, at=f"/ops/{i}")
    return definition
