"""The field types of the form designer's palette and the properties of a field.

Each field type is a JSON Schema template in the metadata language; each property says
which keyword of the field (or which part of the definition) it edits and which field
types it applies to. Whether the result is valid metadata is for the kernel to say
(``validate_definition``); what is refused here is only what the kernel cannot know,
such as a minimum on a text field.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from jizuo.platform.errors import ValidationFailed, error

#: Field type → the schema a new field of that type starts with.
TEMPLATES: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "long_text": {"type": "string", "x-widget": "textarea"},
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "single_select": {"type": "string", "enum": ["option_1"], "x-enum-labels": {
        "option_1": {"en": "Option 1", "zh": "选项 1"}}},
    "multi_select": {"type": "array", "uniqueItems": True,
                     "items": {"type": "string", "enum": ["option_1"]},
                     "x-enum-labels": {"option_1": {"en": "Option 1", "zh": "选项 1"}}},
    "reference": {"type": "integer"},
    "child_table": {"type": "array", "items": {"type": "object", "properties": {}}},
    "attachment": {"type": "integer", "x-attachment": True},
    "user": {"type": "integer", "x-user": True},
    "email": {"type": "string", "format": "email"},
    "url": {"type": "string", "format": "uri"},
    "phone": {"type": "string", "format": "phone"},
    "computed": {"type": "number"},
    "auto_number": {"type": "string", "x-sequence": "{seq:05}"},
    "measurement": {"type": "number"},
}  # fmt: skip

#: Field types that need a property before they mean anything, and which.
NEEDS = {"reference": "ref", "computed": "formula", "measurement": "spec"}
#: Keywords a field keeps when its type changes.
KEPT_ON_TYPE_CHANGE = ("title", "description", "x-placeholder")

NUMBERS = {"integer", "decimal", "measurement", "computed"}
TEXTS = {"text", "long_text", "email", "url", "phone"}
SELECTS = {"single_select", "multi_select"}
ANY = None  # a property every field type has

RULES = ("visible_if", "required_if", "readonly_if")
TEXT_PROPERTIES = ("title", "description", "placeholder")


def refuse(path: str, message: str) -> ValidationFailed:
    """The error of an operation the designer cannot make, pointing at its bad part."""
    return ValidationFailed(f"Refused: {message}.", errors=[error(path, message, "refused")])


def key_from_title(title: Any, taken: Any, prefix: str = "field") -> str:
    """A key made from the English title (``Lot number`` → ``lot_number``); titles with no
    Latin letters give ``<prefix>_<n>``. Never one of ``taken``."""
    text = title.get("en") or "" if isinstance(title, dict) else str(title or "")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:56]
    if not base or not base[0].isalpha():
        n = 1
        while f"{prefix}_{n}" in taken:
            n += 1
        return f"{prefix}_{n}"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _text(value: Any, path: str) -> Any:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, dict) and value and set(value) <= {"en", "zh"}:
        if all(isinstance(v, str) and v.strip() for v in value.values()):
            return value
    raise refuse(path, 'give a text or {"en": ..., "zh": ...}')


def set_text(current: Any, language: str | None, value: Any, path: str) -> Any:
    """A title (or help, placeholder) with one language set, or replaced as a whole;
    None removes it (or that language)."""
    if language is None:
        return None if value is None else _text(value, path)
    if language not in ("en", "zh"):
        raise refuse(path, "languages are 'en' and 'zh'")
    texts = dict(current) if isinstance(current, dict) else ({"en": current} if current else {})
    if value is None:
        texts.pop(language, None)
    else:
        if not isinstance(value, str) or not value.strip():
            raise refuse(path, "give a non-empty text")
        texts[language] = value
    return texts or None


def _number(value: Any, path: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise refuse(path, "give a number")
    return value


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise refuse(path, "give a whole number, 0 or more")
    return value


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise refuse(path, "give true or false")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refuse(path, "give a non-empty text")
    return value


def _spec(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value or set(value) - {"lsl", "target", "usl"}:
        raise refuse(path, 'give {"lsl": …, "target": …, "usl": …} (at least one)')
    return {k: _number(v, f"{path}/{k}") for k, v in value.items()}


#: Property → (schema keyword, field types it applies to, value check).
KEYWORDS: dict[str, tuple[str, set[str] | None, Callable[[Any, str], Any]]] = {
    "minimum": ("minimum", NUMBERS, _number),
    "maximum": ("maximum", NUMBERS, _number),
    "min_length": ("minLength", TEXTS, _count),
    "max_length": ("maxLength", TEXTS, _count),
    "pattern": ("pattern", TEXTS, _string),
    "multiple_of": ("multipleOf", NUMBERS, _number),
    "precision": ("x-precision", NUMBERS, _count),
    "ref": ("x-ref", {"reference"}, _string),
    "display_field": ("x-display-field", {"reference"}, _string),
    "unit": ("x-unit", NUMBERS, _string),
    "spec": ("x-spec", {"decimal", "integer", "measurement"}, _spec),
    "formula": ("x-formula", {"computed"}, _string),
    "sequence": ("x-sequence", {"auto_number"}, _string),
    "index": ("x-index", ANY, _flag),
    "unique": ("x-unique", ANY, _flag),
    "widget": ("x-widget", ANY, _string),
}

#: Every property ``set_property`` knows, for the property panel and for refusals.
PROPERTIES = (
    "key", "kind", *TEXT_PROPERTIES, "required", "default", *KEYWORDS, "options", *RULES,
)  # fmt: skip


def set_keyword(schema: dict[str, Any], kind: str, prop: str, value: Any, path: str) -> None:
    """Set (or with None remove) the schema keyword a property stands for."""
    keyword, kinds, check = KEYWORDS[prop]
    if kinds is not None and kind not in kinds:
        raise refuse(path, f"'{prop}' does not apply to a {kind} field")
    if value is None or (check is _flag and value is False):
        if kinds is not None and prop == NEEDS.get(kind):
            raise refuse(path, f"a {kind} field needs its '{prop}'")
        schema.pop(keyword, None)
        return
    schema[keyword] = check(value, path)


def change_kind(schema: dict[str, Any], new_kind: str, path: str) -> dict[str, Any]:
    """The schema of a field turned into another type, keeping its titles and help."""
    if new_kind not in TEMPLATES:
        raise refuse(path, f"unknown field type; use one of {', '.join(TEMPLATES)}")
    if new_kind in NEEDS:
        raise refuse(path, f"add a new {new_kind} field instead (it needs a '{NEEDS[new_kind]}')")
    fresh = {k: v for k, v in schema.items() if k in KEPT_ON_TYPE_CHANGE}
    return {**copy.deepcopy(TEMPLATES[new_kind]), **fresh}


def option_list(schema: dict[str, Any]) -> list[Any]:
    """The options of a select field (the enum it holds, for single or multi select)."""
    return schema["enum"] if "enum" in schema else schema["items"]["enum"]


def set_options(schema: dict[str, Any], options: list[Any]) -> None:
    """Replace a select's options, dropping labels and colours of options that went."""
    if "enum" in schema:
        schema["enum"] = options
    else:
        schema["items"]["enum"] = options
    names = {str(o) for o in options}
    for keyword in ("x-enum-labels", "x-enum-colors"):
        if keyword in schema:
            schema[keyword] = {k: v for k, v in schema[keyword].items() if k in names}
            if not schema[keyword]:
                del schema[keyword]


def set_option_style(schema: dict[str, Any], value: str, op: dict[str, Any], at: str) -> None:
    """An option's label (en/zh) and colour, from an operation's ``label`` and ``color``."""
    if "label" in op:
        labels = schema.setdefault("x-enum-labels", {})
        label = set_text(labels.get(value), None, op["label"], f"{at}/label")
        if label is None:
            labels.pop(value, None)
        else:
            labels[value] = label
        if not labels:
            del schema["x-enum-labels"]
    if "color" in op:
        colors = schema.setdefault("x-enum-colors", {})
        if op["color"] is None:
            colors.pop(value, None)
        elif isinstance(op["color"], str) and re.fullmatch(r"#[0-9a-fA-F]{6}", op["color"]):
            colors[value] = op["color"]
        else:
            raise refuse(f"{at}/color", "give a colour as #rrggbb")
        if not colors:
            del schema["x-enum-colors"]
