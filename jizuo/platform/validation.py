"""Validating one record's data against its entity definition.

Everything that needs no database: unknown and read-only fields, formulas, the
JSON Schema, ``required_if`` and record validations. The record store adds the
checks that do (references, uniqueness). Errors come back all at once, each with a
JSON-pointer ``path``.
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from jizuo.platform.errors import error
from jizuo.platform.expressions import ExpressionError, evaluate
from jizuo.platform.metadata import EntityDefinition, Field, formula_order
from jizuo.platform.record_schema import compile_record_schema

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{3,30}$")


def _is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value)) and len(value) == 10


def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or "T" in value and bool(datetime.fromisoformat(value))


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(EMAIL.match(value))


def _is_url(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https", "ftp", "mailto") and bool(parts.netloc or parts.path)


def _is_phone(value: object) -> bool:
    return not isinstance(value, str) or bool(PHONE.match(value))


#: The formats of the metadata language; a predicate that raises ValueError rejects too.
FORMATS = {
    "date": _is_date,
    "date-time": _is_datetime,
    "email": _is_email,
    "uri": _is_url,
    "phone": _is_phone,
}


def is_empty(value: Any) -> bool:
    """Empty as a form sees it: missing, None, "" or an empty list."""
    return value is None or value == "" or value == []


def _pointer(parts: Any) -> str:
    return "".join(f"/{p}" for p in parts)


def _message(text: Any) -> str:
    if isinstance(text, dict):
        return text.get("en") or next(iter(text.values()))
    return str(text)


def nul_errors(value: Any, path: str = "") -> list[dict]:
    """Text may not hold the NUL character: PostgreSQL cannot store it, so no database will."""
    if isinstance(value, str):
        return (
            [error(path, "text may not contain the NUL character", "type")]
            if "\x00" in value
            else []
        )
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            where = f"{path}/{key}"
            out += nul_errors(key, where) + nul_errors(item, where)
        return out
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in nul_errors(item, f"{path}/{i}")]
    return []


class RecordValidator:
    """Checks and completes records of one entity version; build once, use for many records."""

    def __init__(self, definition: EntityDefinition):
        self.definition = definition
        self._schema = compile_record_schema(definition.schema, FORMATS)
        self._formulas = formula_order(definition)
        self._computed_schemas = {
            f.key: compile_record_schema(
                {"type": "object", "properties": {f.key: f.schema}}, FORMATS
            )
            for f in self._formulas
        }
        self._platform_written = {k for k, f in definition.fields.items() if f.read_only}
        self._plain_inputs = {
            k for k, f in definition.fields.items() if not f.read_only and f.kind != "child_table"
        }
        self._child_formulas = {
            f.key: [c for c in f.children.values() if c.formula]
            for f in definition.fields.values()
            if f.kind == "child_table" and any(c.formula for c in f.children.values())
        }

    # -- input ---------------------------------------------------------------

    def input_errors(self, data: Any, *, partial_keys: set[str] | None = None) -> list[dict]:
        """Refuse non-objects, unknown fields, values for read-only fields and NUL characters."""
        if not isinstance(data, dict):
            return [error("", "record data must be a JSON object", "type")]
        keys = partial_keys if partial_keys is not None else data.keys()
        out = nul_errors(data)
        if keys <= self._plain_inputs:
            return out  # the common case, checked in one set operation
        for key in sorted(keys):
            f = self.definition.fields.get(key)
            if f is None:
                out.append(error(f"/{key}", f"unknown field '{key}'", "unknown"))
            elif f.read_only:
                out.append(error(f"/{key}", f"'{key}' is computed by the platform", "read_only"))
            elif f.kind == "child_table" and isinstance(data.get(key), list):
                for i, row in enumerate(data[key]):
                    if isinstance(row, dict):
                        for col in sorted(row):
                            child = f.children.get(col)
                            if child is None or child.read_only:
                                why = "unknown field" if child is None else "computed"
                                out.append(error(f"/{key}/{i}/{col}", f"{why} '{col}'", "unknown"))
        return out

    def writable_part(self, data: dict[str, Any]) -> dict[str, Any]:
        """The input without the unknown and read-only fields ``input_errors`` reports."""
        out = {}
        for key, value in data.items():
            f = self.definition.fields.get(key)
            if f is None or f.read_only:
                continue
            if f.kind == "child_table" and isinstance(value, list):
                value = [
                    {
                        c: v
                        for c, v in row.items()
                        if c in f.children and not f.children[c].read_only
                    }
                    if isinstance(row, dict)
                    else row
                    for row in value
                ]
            out[key] = value
        return out

    @staticmethod
    def normalise(data: dict[str, Any]) -> dict[str, Any]:
        """Drop empty values: an empty field is stored as absent, so 'required' means filled."""
        return {k: v for k, v in data.items() if v is not None and v != ""}

    def apply_defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        """Fill schema defaults for fields the client left out (creation only)."""
        for key, f in self.definition.fields.items():
            if key not in data and "default" in f.schema:
                data[key] = copy.deepcopy(f.schema["default"])
        return data

    # -- computing -----------------------------------------------------------

    def compute(self, data: dict[str, Any], user: dict[str, Any]) -> list[dict]:
        """Recalculate every formula in place; return errors of formulas that failed."""
        out = []
        for key, children in self._child_formulas.items():
            columns = self.definition.fields[key].children
            for i, row in enumerate(data.get(key) or []):
                if not isinstance(row, dict):
                    continue
                names = {c: row.get(c) for c in columns}
                names.update(parent=data, record=data, user=user)
                for child in children:
                    out.extend(self._set_formula(row, child, names, f"/{key}/{i}/{child.key}"))
                    names[child.key] = row.get(child.key)
        names = self.names(data, user)
        for f in self._formulas:  # in dependency order: each sees the values before it
            out.extend(self._set_formula(data, f, names, f"/{f.key}"))
            names[f.key] = data.get(f.key)
        return out

    @staticmethod
    def _set_formula(target: dict, f: Field, names: dict, path: str) -> list[dict]:
        try:
            value = evaluate(f.formula, names)
        except ExpressionError as exc:
            return [error(path, f"formula failed: {exc}", "formula")]
        if f.schema["type"] == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        if f.schema["type"] == "number" and isinstance(value, float) and "x-precision" in f.schema:
            value = round(value, f.schema["x-precision"])
        if value is None or value == "":
            target.pop(f.key, None)
        else:
            target[f.key] = value
        return []

    def names(self, data: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        """The variables an expression over this record sees: each field, ``record``, ``user``."""
        names = {key: data.get(key) for key in self.definition.fields}
        names.update(record=data, user=user)
        return names

    # -- checking ------------------------------------------------------------

    def check(self, data: dict[str, Any], user: dict[str, Any]) -> list[dict]:
        """Validate input, then compute the formulas and check the rules; all errors of a stage.

        The schema is checked before formulas run, so a formula never sees a value of
        the wrong type; the computed values are then checked against their own schemas.
        """
        errors = self.schema_errors(data)
        if errors:
            return errors
        errors = self.compute(data, user)
        if errors:
            return errors
        for key, validator in self._computed_schemas.items():
            if key in data:
                for e in validator({key: data[key]}):
                    errors.append(error(f"/{key}", f"computed value: {e.message}", "formula"))
        return errors + self.rule_errors(data, user)

    def schema_errors(self, data: dict[str, Any]) -> list[dict]:
        """JSON Schema errors (a platform-written field missing from the input is not one)."""
        return [
            error(_pointer(e.path), e.message, e.code)
            for e in self._schema(data)
            if not (
                e.code == "required" and len(e.path) == 1 and e.path[0] in self._platform_written
            )
        ]

    def rule_errors(self, data: dict[str, Any], user: dict[str, Any]) -> list[dict]:
        """``required_if`` and record validations."""
        out = []
        names = self.names(data, user)
        rules = self.definition.rules
        hidden = self.hidden_fields(names)
        for key, source in rules.get("required_if", {}).items():
            if key in hidden or not is_empty(data.get(key)):
                continue
            try:
                if evaluate(source, names):
                    out.append(error(f"/{key}", "this field is required", "required"))
            except ExpressionError as exc:
                out.append(error(f"/{key}", str(exc), "expression"))
        for validation in rules.get("validations", []):
            path = f"/{validation['field']}" if "field" in validation else ""
            try:
                ok = evaluate(validation["expr"], names)
            except ExpressionError as exc:
                out.append(error(path, str(exc), "expression"))
                continue
            if ok is False:
                out.append(error(path, _message(validation["message"]), "validation"))
        # A required field hidden by visible_if is not required (the form cannot show it).
        return [e for e in out if not (e["code"] == "required" and e["path"][1:] in hidden)]

    def hidden_fields(self, names: dict[str, Any]) -> set[str]:
        """Fields whose ``visible_if`` is false for these values."""
        hidden = set()
        for key, source in self.definition.rules.get("visible_if", {}).items():
            try:
                if not evaluate(source, names):
                    hidden.add(key)
            except ExpressionError:
                continue
        return hidden

    def readonly_errors(
        self, before: dict[str, Any], changed: set[str], user: dict[str, Any]
    ) -> list[dict]:
        """Refuse changes to fields whose ``readonly_if`` holds on the stored record."""
        out = []
        names = self.names(before, user)
        for key, source in self.definition.rules.get("readonly_if", {}).items():
            if key in changed:
                try:
                    locked = bool(evaluate(source, names))
                except ExpressionError as exc:
                    out.append(error(f"/{key}", str(exc), "expression"))
                    continue
                if locked:
                    out.append(error(f"/{key}", "this field is read-only now", "read_only"))
        return out
