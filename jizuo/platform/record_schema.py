"""A fast validator for record schemas, compiled once per entity version.

Entity schemas are restricted by the meta-schema (``schemas/entity-definition.json``) to a
small keyword set, so instead of interpreting the schema for every record (as jsonschema
does) each schema node is compiled into a closure that runs only the checks it needs.
Results agree with ``jsonschema.Draft202012Validator`` (see the tests), except that a value
of the wrong type reports only the ``type`` error, not its ``enum``, ``const`` or ``format``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from numbers import Number
from typing import Any, NamedTuple

Path = tuple[str | int, ...]
Check = Callable[[Any, Path, Any, list], None]  # (value, parent path, key, errors)


class SchemaError(NamedTuple):
    """One failed keyword: where the failing value is, a human message and the keyword."""

    path: Path
    message: str
    code: str


# Annotations: meaningful to forms and metadata, not to validation.
_IGNORED = {"title", "description", "default", "$schema", "$id", "$comment", "examples"}
_SUPPORTED = {
    "type", "enum", "const", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "items",
    "minItems", "maxItems", "uniqueItems", "properties", "required",
}  # fmt: skip
_FORMAT_MESSAGES = {
    "date": "must be a valid date (YYYY-MM-DD)",
    "date-time": "must be a valid date and time (YYYY-MM-DDThh:mm:ss)",
    "email": "must be a valid email address",
    "uri": "must be a valid URL",
    "phone": "must be a valid phone number",
}


def _is_integer(v: Any) -> bool:
    t = type(v)
    if t is int:
        return True
    if t is bool:
        return False
    # 2020-12 counts 3.0 as an integer, as jsonschema does.
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


def _is_number(v: Any) -> bool:
    t = type(v)
    if t is int or t is float:
        return True
    return t is not bool and isinstance(v, Number)


_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "string": (lambda v: isinstance(v, str), "expected text"),
    "integer": (_is_integer, "expected a whole number"),
    "number": (_is_number, "expected a number"),
    "boolean": (lambda v: isinstance(v, bool), "expected true or false"),
    "array": (lambda v: isinstance(v, list), "expected a list"),
    "object": (lambda v: isinstance(v, dict), "expected an object"),
    "null": (lambda v: v is None, "expected no value"),
}
# Which types a keyword family applies to: jsonschema skips it for values of other types.
_KIND_TYPES = {
    "number": {"integer", "number"},
    "string": {"string"},
    "array": {"array"},
    "object": {"object"},
}


def _canon(v: Any) -> Any:
    """A hashable stand-in with JSON equality: 1 == 1.0, but True != 1."""
    t = type(v)
    if t is str or t is int or t is float or v is None:
        return v
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (list, tuple)):
        return ("l", tuple(map(_canon, v)))
    if isinstance(v, dict):
        return ("d", frozenset((k, _canon(x)) for k, x in v.items()))
    return v


def _show(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _not_multiple(value: Any, step: Any) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return True  # a multiple of nothing (jsonschema fails or crashes); JSON has none
    # The same float handling as jsonschema's multipleOf, so both agree on 0.3 vs 0.1.
    if isinstance(step, float):
        try:
            quotient = value / step
            return int(quotient) != quotient
        except OverflowError:  # a huge value or quotient: exact arithmetic instead
            return (Fraction(value) / Fraction(step)).denominator != 1
    return bool(value % step)


def _format_check(name: str, predicate: Callable[[Any], bool]) -> Callable[[Any], str | None]:
    message = _FORMAT_MESSAGES.get(name, f"must be a valid {name}")

    def check(v: Any) -> str | None:
        try:
            ok = predicate(v)
        except ValueError:  # as FormatChecker(raises=ValueError): a parse error means invalid
            ok = False
        return None if ok else message

    return check


def _keyword_checks(
    s: dict[str, Any], formats: Mapping[str, Callable[[Any], bool]]
) -> list[tuple[str, str, Callable[[Any], str | None]]]:
    """(kind, keyword, value -> message or None) for the value-level keywords of a node."""
    out: list[tuple[str, str, Callable[[Any], str | None]]] = []

    def add(kind: str, code: str, fn: Callable[[Any], str | None]) -> None:
        out.append((kind, code, fn))

    if "const" in s:
        const, c_const = s["const"], _canon(s["const"])
        add("any", "const", lambda v: None if _canon(v) == c_const else f"must be {_show(const)}")
    if "enum" in s:
        options = frozenset(map(_canon, s["enum"]))
        shown = ", ".join(map(_show, s["enum"][:10])) + (", ..." if len(s["enum"]) > 10 else "")
        add(
            "any",
            "enum",
            lambda v: None if _canon(v) in options else f"{_show(v)} is not one of {shown}",
        )
    if "format" in s and s["format"] in formats:
        add("any", "format", _format_check(s["format"], formats[s["format"]]))
    if "minimum" in s:
        lo = s["minimum"]
        add("number", "minimum", lambda v: f"must be at least {_show(lo)}" if v < lo else None)
    if "maximum" in s:
        hi = s["maximum"]
        add("number", "maximum", lambda v: f"must be at most {_show(hi)}" if v > hi else None)
    if "exclusiveMinimum" in s:
        xlo = s["exclusiveMinimum"]
        add(
            "number",
            "exclusiveMinimum",
            lambda v: f"must be greater than {_show(xlo)}" if v <= xlo else None,
        )
    if "exclusiveMaximum" in s:
        xhi = s["exclusiveMaximum"]
        add(
            "number",
            "exclusiveMaximum",
            lambda v: f"must be less than {_show(xhi)}" if v >= xhi else None,
        )
    if "multipleOf" in s:
        step = s["multipleOf"]
        msg = f"must be a multiple of {_show(step)}"
        add("number", "multipleOf", lambda v: msg if _not_multiple(v, step) else None)
    if "minLength" in s:
        n = s["minLength"]
        msg = "must not be empty" if n == 1 else f"must be at least {_show(n)} characters long"
        add("string", "minLength", lambda v: msg if len(v) < n else None)
    if "maxLength" in s:
        m = s["maxLength"]
        msg = f"must be at most {_show(m)} characters long"
        add("string", "maxLength", lambda v: msg if len(v) > m else None)
    if "pattern" in s:
        search, pattern = re.compile(s["pattern"]).search, s["pattern"]
        add("string", "pattern", lambda v: None if search(v) else f"must match {pattern!r}")
    if "minItems" in s:
        k = s["minItems"]
        add(
            "array",
            "minItems",
            lambda v: f"must have at least {_show(k)} item(s)" if len(v) < k else None,
        )
    if "maxItems" in s:
        j = s["maxItems"]
        add(
            "array",
            "maxItems",
            lambda v: f"must have at most {_show(j)} item(s)" if len(v) > j else None,
        )
    if s.get("uniqueItems"):
        add("array", "uniqueItems", lambda v: None if _unique(v) else "items must be unique")
    return out


def _unique(items: list) -> bool:
    return len(set(map(_canon, items))) == len(items)


def _guarded(kind: str, fn: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """Apply a keyword only to values of its kind (for a node without a ``type``)."""
    accepts = [_TYPES[t][0] for t in _KIND_TYPES[kind]]
    return lambda v: fn(v) if any(a(v) for a in accepts) else None


def _compile(s: Any, formats: Mapping[str, Callable[[Any], bool]], where: str) -> Check:
    if not isinstance(s, dict):
        raise ValueError(f"{where or '/'}: a schema must be an object")
    unknown = [k for k in s if k not in _SUPPORTED and k not in _IGNORED and k[:2] != "x-"]
    if unknown:
        # Refuse rather than silently accept data the schema means to reject.
        raise ValueError(f"{where or '/'}: unsupported keyword(s) {', '.join(sorted(unknown))}")
    types = s.get("type")
    names = None if types is None else [types] if isinstance(types, str) else list(types)
    if names is not None:
        if not set(names) <= _TYPES.keys():
            raise ValueError(f"{where or '/'}: unknown type {types!r}")
        tests = [_TYPES[n][0] for n in names]
        is_type = tests[0] if len(tests) == 1 else lambda v: any(t(v) for t in tests)
        type_msg = " or ".join(_TYPES[n][1] for n in names)

    def kind_possible(kind: str) -> bool:
        return kind == "any" or names is None or bool(_KIND_TYPES[kind] & set(names))

    def kind_certain(kind: str) -> bool:
        return kind == "any" or names is not None and set(names) <= _KIND_TYPES[kind]

    checks = [
        (code, fn if kind_certain(kind) else _guarded(kind, fn))
        for kind, code, fn in _keyword_checks(s, formats)
        if kind_possible(kind)  # e.g. minimum on a string field can never fail
    ]
    item = _compile(s["items"], formats, f"{where}/items") if "items" in s else None
    if not kind_possible("array"):
        item = None
    props = {
        k: _compile(sub, formats, f"{where}/properties/{k}")
        for k, sub in s.get("properties", {}).items()
    }
    required = list(s.get("required", []))
    # Fields in schema order, each flagged if required; then required keys not in properties.
    members = [(k, props.get(k), k in required) for k in props]
    members += [(k, None, True) for k in required if k not in props]
    if not kind_possible("object"):
        members = []

    if not checks and item is None and not members:
        if names is None:
            return _accept

        def leaf(value: Any, parent: Path, key: Any, out: list) -> None:
            if not is_type(value):
                out.append(SchemaError(_at(parent, key), type_msg, "type"))

        return leaf  # most fields: nothing but a type to check

    def check(value: Any, parent: Path, key: Any, out: list) -> None:
        if names is not None and not is_type(value):
            out.append(SchemaError(_at(parent, key), type_msg, "type"))
            return
        for code, fn in checks:
            message = fn(value)
            if message is not None:
                out.append(SchemaError(_at(parent, key), message, code))
        if item is not None and isinstance(value, list):
            here = _at(parent, key)
            for i, element in enumerate(value):
                item(element, here, i, out)
        if members and isinstance(value, dict):
            here = _at(parent, key)
            for name, sub, needed in members:
                if name in value:
                    if sub is not None:
                        sub(value[name], here, name, out)
                elif needed:
                    out.append(SchemaError((*here, name), "this field is required", "required"))

    return check


def _accept(value: Any, parent: Path, key: Any, out: list) -> None:
    """The check of a node without constraints."""


def _at(parent: Path, key: Any) -> Path:
    # Paths are built only for errors and containers: most values never need theirs.
    return parent if key is _ROOT else (*parent, key)


_ROOT = object()


def compile_record_schema(
    schema: dict[str, Any], formats: Mapping[str, Callable[[Any], bool]]
) -> Callable[[Any], list[SchemaError]]:
    """Compile a record schema into a function returning all errors of a value, in schema order."""
    check = _compile(schema, formats, "")

    def validate(data: Any) -> list[SchemaError]:
        out: list[SchemaError] = []
        check(data, (), _ROOT, out)
        return out

    return validate
