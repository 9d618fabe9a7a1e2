"""Forms rendered from metadata: the form model of a definition, and typed values from a post.

``build_form`` lays an entity's fields out in its tabs, sections and columns, with a widget
per field kind, localized labels, help and options, required marks, read-only fields and
errors next to their fields. Fields hidden from the user are left out entirely; they are
neither rendered nor accepted by ``parse_form``.

Values travel as form text: ``form_values`` turns record data into the strings the
widgets show, ``parse_form`` turns a posted form back into typed record data (only the
fields that were submitted, so a disabled or missing input changes nothing).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from jizuo.platform.errors import error
from jizuo.platform.expressions import ExpressionError, evaluate
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.permissions import EntityAccess
from jizuo.platform.web import localized

#: Empty rows offered below a child table's rows (the script adds more on demand).
EMPTY_ROWS = 3
#: Child rows accepted from one post (a guard against absurd index numbers).
MAX_ROWS = 1000

WIDGETS = {
    "text": "text",
    "long_text": "textarea",
    "integer": "number",
    "decimal": "number",
    "measurement": "measurement",
    "boolean": "checkbox",
    "date": "date",
    "datetime": "datetime",
    "single_select": "select",
    "multi_select": "checkboxes",
    "reference": "reference",
    "child_table": "table",
    "attachment": "file",
    "user": "user",
    "email": "email",
    "url": "url",
    "phone": "tel",
    "computed": "output",
    "auto_number": "output",
    "object": "group",
}


@dataclass
class FormField:
    """One field as the form shows it."""

    field: Field
    name: str  # the input's name: "key", "table.0.col", "group.child"
    widget: str
    label: str
    help: str = ""
    required: bool = False
    readonly: bool = False
    # Read-only by its ``readonly_if`` for the current values: still an input (inert), so
    # the live rules can unlock it as the user types.
    locked: bool = False
    lockable: bool = False
    shown: bool = True  # False: hidden by its visible_if for the current values
    conditional: bool = False  # has a visible_if, so the live rules may show or hide it
    value: Any = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    step: str = "any"
    unit: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    spec_state: str = ""  # "in" or "out" of spec, "" when unknown
    multiple: bool = False
    columns: list[FormField] = field(default_factory=list)  # child table columns, group parts
    rows: list[dict[str, Any]] = field(default_factory=list)  # child table rows as text
    errors: list[str] = field(default_factory=list)
    row_errors: list[str] = field(default_factory=list)  # "row 2, count: …"

    @property
    def key(self) -> str:
        return self.field.key

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


@dataclass
class Section:
    title: str
    columns: list[list[FormField]]


@dataclass
class Tab:
    title: str
    sections: list[Section]


@dataclass
class Form:
    tabs: list[Tab]
    errors: list[str]  # errors that belong to no field shown
    fields: dict[str, FormField]


# -- text for the widgets ------------------------------------------------------------


def _text(f: Field, value: Any) -> Any:
    """One stored value as its widget's text."""
    if value is None:
        return ""
    if f.kind == "boolean":
        return bool(value)
    if f.kind == "datetime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.replace(tzinfo=None).isoformat(
            timespec="minutes" if not moment.second else "seconds"
        )
    if f.kind in ("multi_select",) or (
        f.kind in ("user", "attachment") and isinstance(value, list)
    ):
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if isinstance(value, float) and value.is_integer() and f.schema.get("x-precision") is None:
        return str(int(value)) if f.schema.get("type") == "integer" else repr(value)
    if isinstance(value, (dict, list)):
        return value
    return str(value)


def form_values(definition: EntityDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """Record data as the text the widgets show (child tables as lists of text rows)."""
    out: dict[str, Any] = {}
    for key, f in definition.fields.items():
        value = data.get(key)
        if f.kind == "child_table":
            rows = value if isinstance(value, list) else []
            out[key] = [
                {c: _text(child, row.get(c)) for c, child in f.children.items()}
                for row in rows
                if isinstance(row, dict)
            ]
        elif f.kind == "object":
            group = value if isinstance(value, dict) else {}
            for c, child in f.children.items():
                out[f"{key}.{c}"] = _text(child, group.get(c))
        else:
            out[key] = _text(f, value)
    return out


def posted_values(definition: EntityDefinition, form: MultiDict) -> dict[str, Any]:
    """A posted form as widget text, to show it again after a refusal (input kept)."""
    out: dict[str, Any] = {}
    for key, f in definition.fields.items():
        if f.kind == "child_table":
            rows = _posted_rows(f, form)
            out[key] = [{c: text for c, text in row.items()} for _, row in rows]
        elif f.kind == "object":
            for c in f.children:
                out[f"{key}.{c}"] = form.get(f"{key}.{c}", "")
        elif f.kind == "boolean":
            out[key] = "true" in form.getlist(key)
        elif f.kind == "multi_select" or (f.kind in ("user", "attachment") and _is_list(f)):
            out[key] = [v for v in form.getlist(key) if v != ""]
        else:
            out[key] = form.get(key, "")
    return out


def _is_list(f: Field) -> bool:
    return f.schema.get("type") == "array"


# -- the form model ------------------------------------------------------------------


def _options(f: Field) -> list[tuple[str, str]]:
    schema = f.schema if f.kind == "single_select" else f.schema.get("items", {})
    labels = f.schema.get("x-enum-labels", {})
    return [(str(o), localized(labels.get(str(o), str(o)))) for o in schema.get("enum", [])]


def _step(f: Field) -> str:
    if f.kind == "integer" or f.schema.get("type") == "integer":
        return "1"
    precision = f.schema.get("x-precision")
    if isinstance(precision, int) and precision >= 0:
        return "1" if precision == 0 else "0." + "0" * (precision - 1) + "1"
    return "any"


def spec_state(f: Field, value: Any) -> str:
    """'in' or 'out' of a measurement's spec limits, '' without a number."""
    spec = f.schema.get("x-spec") or {}
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    if "lsl" in spec and value < spec["lsl"] or "usl" in spec and value > spec["usl"]:
        return "out"
    return "in"


def _field(
    f: Field,
    name: str,
    *,
    values: dict[str, Any],
    required: set[str],
    readonly: set[str],
    members: list[tuple[str, str]],
) -> FormField:
    widget = WIDGETS.get(f.kind, "text")
    item = FormField(
        field=f,
        name=name,
        widget=widget,
        label=localized(f.schema.get("title") or f.key),
        help=localized(f.schema.get("description")),
        required=f.key in required and not f.read_only,
        readonly=f.read_only or f.key in readonly,
        value=values.get(name, [] if f.kind == "multi_select" else ""),
        unit=str(f.schema.get("x-unit") or ""),
        multiple=_is_list(f) and f.kind in ("user", "attachment"),
    )
    if f.kind in ("single_select", "multi_select"):
        item.options = _options(f)
    if f.kind in ("integer", "decimal", "measurement", "computed"):
        item.step = _step(f)
    if f.kind == "user":
        item.options = members
    if f.kind == "measurement":
        item.spec = dict(f.schema.get("x-spec") or {})
        item.spec_state = spec_state(f, _number_or_none(item.value))
    return item


def _number_or_none(text: Any) -> float | None:
    try:
        return parse_number(text) if isinstance(text, str) and text.strip() else None
    except ValueError:
        return None


def layout_keys(
    definition: EntityDefinition,
) -> list[tuple[str, list[tuple[str, list[list[str]]]]]]:
    """Tabs → sections → columns of field keys; fields the layout leaves out come last."""
    placed: set[str] = set()
    tabs = []
    for tab in definition.raw.get("layout", {}).get("tabs", []):
        sections = []
        for section in tab.get("sections", []):
            columns = [list(column) for column in section.get("columns", [])]
            placed.update(k for column in columns for k in column)
            sections.append((localized(section.get("title")), columns))
        tabs.append((localized(tab.get("title")), sections))
    rest = [k for k in definition.fields if k not in placed]
    if rest:
        if tabs:
            tabs[-1][1].append(("", [rest]))
        else:
            tabs.append(("", [("", [rest])]))
    return tabs


def build_form(
    definition: EntityDefinition,
    access: EntityAccess,
    values: dict[str, Any],
    *,
    rules: dict[str, Any],
    errors: Iterable[dict[str, Any]] = (),
    members: list[tuple[str, str]] = (),
) -> Form:
    """The form of ``definition`` for a user with ``access``, showing ``values`` (widget
    text); ``rules`` is ``rule_state`` for the current values; ``errors`` go next to their
    fields (those of no field shown are the form's own)."""
    hidden = access.hidden
    read_level = {k for k, level in access.field_levels.items() if level == "read"}
    lockable = set(definition.rules.get("readonly_if", {})) - read_level
    lockable -= {k for k in lockable if k in definition.fields and definition.fields[k].read_only}
    locked = {k for k, on in rules["readonly"].items() if on}
    readonly = read_level | (locked - lockable)
    required = {k for k, on in rules["required"].items() if on}
    conditional = set(definition.rules.get("visible_if", {}))
    members = list(members)
    fields: dict[str, FormField] = {}

    def make(f: Field, name: str) -> FormField:
        item = _field(f, name, values=values, required=required, readonly=readonly,
                      members=members)  # fmt: skip
        if name in lockable:
            item.lockable, item.locked = True, name in locked
        return item

    tabs = []
    for tab_title, sections in layout_keys(definition):
        out_sections = []
        for section_title, columns in sections:
            out_columns = []
            for column in columns:
                out_column = []
                for key in column:
                    f = definition.fields.get(key)
                    if f is None or key in hidden:
                        continue
                    item = make(f, key)
                    item.conditional = key in conditional
                    item.shown = rules["visible"].get(key, True)
                    if f.kind == "child_table":
                        item.columns = [
                            _field(c, f"{key}.{c.key}", values={}, required=set(
                                f.schema["items"].get("required", [])), readonly=set(),
                                members=members)
                            for c in f.children.values()
                        ]  # fmt: skip
                        rows = values.get(key) or []
                        blank = {c: "" for c in f.children}
                        item.rows = list(rows) + [dict(blank) for _ in range(EMPTY_ROWS)]
                    elif f.kind == "object":
                        item.columns = [make(c, f"{key}.{c.key}") for c in f.children.values()]
                        for part in item.columns:
                            part.readonly = part.readonly or item.readonly
                    fields[key] = item
                    out_column.append(item)
                if out_column:
                    out_columns.append(out_column)
            if out_columns:
                out_sections.append(Section(section_title, out_columns))
        if out_sections:
            tabs.append(Tab(tab_title, out_sections))

    general = []
    for e in errors:
        parts = [p for p in str(e.get("path", "")).split("/") if p != ""]
        target = fields.get(parts[0]) if parts else None
        message = str(e.get("message", ""))
        if target is None:
            general.append(f"{'/'.join(parts)}: {message}" if parts else message)
        elif len(parts) >= 3 and target.field.kind == "child_table" and parts[1].isdigit():
            column = target.field.children.get(parts[2])
            label = localized(column.schema.get("title") or column.key) if column else parts[2]
            target.row_errors.append(f"{int(parts[1]) + 1} · {label}: {message}")
        else:
            target.errors.append(
                message if len(parts) == 1 else f"{'.'.join(parts[1:])}: {message}"
            )
    return Form(tabs, general, fields)


# -- reading the rules ---------------------------------------------------------------


def rule_state(
    definition: EntityDefinition,
    validator: Any,
    access: EntityAccess,
    data: dict[str, Any],
    user: dict[str, Any],
) -> dict[str, dict[str, bool]]:
    """Which fields are visible, required and read-only for ``data`` (evaluated here, on
    the server); fields hidden from the user are left out."""
    names = validator.names(data, user)
    invisible = validator.hidden_fields(names)
    rules = definition.rules
    required_if = rules.get("required_if", {})
    readonly_if = rules.get("readonly_if", {})
    out: dict[str, dict[str, bool]] = {"visible": {}, "required": {}, "readonly": {}}
    for key, f in definition.fields.items():
        if key in access.hidden:
            continue
        visible = key not in invisible
        required = key in definition.required
        if key in required_if and not required:
            required = _holds(required_if[key], names)
        locked = f.read_only or not access.may_write(key)
        if key in readonly_if and not locked:
            locked = _holds(readonly_if[key], names)
        out["visible"][key] = visible
        out["required"][key] = bool(required and visible and not f.read_only)
        out["readonly"][key] = bool(locked)
    return out


def _holds(source: str, names: dict[str, Any]) -> bool:
    try:
        return bool(evaluate(source, names))
    except ExpressionError:
        return False


# -- reading a post ------------------------------------------------------------------


def parse_number(text: str) -> float:
    """A decimal typed with a point or a comma (``1,5``, ``1.234,5``, ``1,234.5``)."""
    s = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    else:
        s = s.replace(",", ".")
    number = float(s)
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _option(f: Field, text: str) -> Any:
    schema = f.schema if f.kind == "single_select" else f.schema.get("items", {})
    for option in schema.get("enum", []):
        if str(option) == text:
            return option
    return text


def convert(f: Field, text: Any, path: str, errs: list[dict[str, str]]) -> Any:
    """One field's widget text as its typed value (None when empty); errors appended."""
    if f.kind == "boolean":
        return bool(text)
    if f.kind == "multi_select":
        return [_option(f, t) for t in text] or None
    if isinstance(text, list):  # several users or attachments
        out = []
        for t in text:
            value = convert(f, t, path, errs) if not isinstance(t, list) else None
            if value is not None:
                out.append(value)
        return out or None
    # Browsers send a textarea's line breaks as CRLF; records keep plain newlines.
    text = str(text).strip() if f.kind not in ("text", "long_text") else str(text)
    text = text.replace("\r\n", "\n")
    if text.strip() == "":
        return None
    try:
        if f.kind in ("integer", "reference", "user", "attachment"):
            number = parse_number(text)
            if not number.is_integer():
                raise ValueError(text)
            return int(number)
        if f.kind in ("decimal", "measurement"):
            number = parse_number(text)
            if f.schema.get("type") == "integer":
                if not number.is_integer():
                    raise ValueError(text)
                return int(number)
            return number
        if f.kind == "date":
            date.fromisoformat(text)
        if f.kind == "datetime":
            datetime.fromisoformat(text)
            if len(text) == 16:
                text += ":00"
    except ValueError:
        what = {
            "integer": "a whole number",
            "reference": "a record number",
            "user": "a member",
            "attachment": "a file",
            "date": "a date (YYYY-MM-DD)",
            "datetime": "a date and time",
        }.get(f.kind, "a number")
        errs.append(error(path, f"'{text}' is not {what}", "type"))
        return None
    if f.kind == "single_select":
        return _option(f, text)
    return text


def _posted_rows(f: Field, form: MultiDict) -> list[tuple[int, dict[str, str]]]:
    """The rows of a child table in a post, by index, as text."""
    rows: dict[int, dict[str, str]] = {}
    prefix = f"{f.key}."
    for name in form:
        if not name.startswith(prefix):
            continue
        index, _, column = name[len(prefix) :].partition(".")
        if index.isdigit() and len(index) <= 4 and column in f.children:
            rows.setdefault(int(index), {})[column] = form.get(name, "")
    return sorted(rows.items())[:MAX_ROWS]


def submitted(
    definition: EntityDefinition, form: MultiDict, files: MultiDict | None = None
) -> set[str]:
    """The top-level fields a post carries an input for."""
    out = set()
    for key, f in definition.fields.items():
        if f.kind == "child_table":
            if f"{key}._present" in form or any(n.startswith(f"{key}.") for n in form):
                out.add(key)
        elif f.kind == "object":
            if any(n.startswith(f"{key}.") for n in form):
                out.add(key)
        elif key in form or (files is not None and key in files):
            out.add(key)
    return out


def parse_form(
    definition: EntityDefinition, form: MultiDict, keys: Iterable[str]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Typed data of the fields ``keys`` from a post; errors have the record's paths."""
    data: dict[str, Any] = {}
    errs: list[dict[str, str]] = []
    values = posted_values(definition, form)
    for key in keys:
        f = definition.fields[key]
        if f.read_only:
            continue
        if f.kind == "child_table":
            rows = []
            for _, row in _posted_rows(f, form):
                writable = {c: t for c, t in row.items() if not f.children[c].read_only}
                if all(str(t).strip() == "" for t in writable.values()):
                    continue  # an empty row is no row
                typed = {}
                for c, text in writable.items():
                    value = convert(f.children[c], text, f"/{key}/{len(rows)}/{c}", errs)
                    if value is not None:
                        typed[c] = value
                rows.append(typed)
            data[key] = rows or None
        elif f.kind == "object":
            group = {}
            for c, child in f.children.items():
                if child.read_only:
                    continue
                value = convert(child, values.get(f"{key}.{c}", ""), f"/{key}/{c}", errs)
                if value is not None:
                    group[c] = value
            data[key] = group or None
        elif f.kind == "attachment":
            continue  # stored by the view, which owns the uploads
        else:
            data[key] = convert(f, values.get(key, ""), f"/{key}", errs)
    return data, errs
