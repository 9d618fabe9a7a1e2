"""Rules of a draft record, evaluated on the server for forms that follow them live.

``POST /apps/{app}/entities/{entity}/evaluate`` with ``{"data": {...}}`` (a record being
filled in; optionally ``"record_id"`` of the record being edited) answers which fields
are visible, required and read-only, the computed values, and whether measurements are
within their spec limits. Browsers never evaluate expressions themselves: the one
evaluator is the record store's.

Fields hidden from the caller are neither read from the draft nor answered, and values
of the stored record fill in what the draft leaves out (so a formula over a hidden field
still gives the value the record would get).
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Response, g, jsonify

from jizuo.platform.api import api
from jizuo.platform.api.problems import json_body
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest, ValidationFailed, error
from jizuo.platform.expressions import ExpressionError, evaluate
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.records import EntityRecords, RecordStore

EVALUATE = "/apps/<app_key>/entities/<entity_key>/evaluate"


def _draft(records: EntityRecords, body: dict[str, Any]) -> dict[str, Any]:
    """The draft's fields the caller may send: known, not computed, not hidden."""
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ValidationFailed(
            "'data' must be a JSON object.", errors=[error("/data", "expected an object")]
        )
    hidden = records.access.hidden
    draft = records.validator.writable_part({k: v for k, v in data.items() if k not in hidden})
    base: dict[str, Any] = {}
    record_id = body.get("record_id")
    if record_id is not None:
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise BadRequest(
                "'record_id' must be a record number.", errors=[error("/record_id", "integer")]
            )
        base = copy.deepcopy(records.get(record_id).data)
    base.update(draft)
    return records.validator.normalise(base)


def _spec(definition: EntityDefinition, data: dict[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, f in definition.fields.items():
        spec = f.schema.get("x-spec")
        if not spec:
            continue
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out[key] = None
        elif ("lsl" in spec and value < spec["lsl"]) or ("usl" in spec and value > spec["usl"]):
            out[key] = "out"
        else:
            out[key] = "in"
    return out


def evaluate_rules(records: EntityRecords, data: dict[str, Any]) -> dict[str, Any]:
    """Visibility, required and read-only state, computed values and spec marks of ``data``."""
    definition, validator, access = records.definition, records.validator, records.access
    user = records.user
    # A value of the wrong type (a draft is half-typed) is left out, so formulas never see it.
    errors = [e for e in validator.schema_errors(data) if e["code"] != "required"]
    for e in errors:
        data.pop(e["path"].split("/")[1] if e["path"].count("/") else "", None)
    errors += validator.compute(data, user)
    names = validator.names(data, user)
    invisible = validator.hidden_fields(names)
    rules = definition.rules
    hidden = access.hidden

    def holds(source: str, key: str) -> bool:
        try:
            return bool(evaluate(source, names))
        except ExpressionError as exc:
            errors.append(error(f"/{key}", str(exc), "expression"))
            return False

    visible, required, readonly, values = {}, {}, {}, {}
    for key, f in definition.fields.items():
        if key in hidden:
            continue
        visible[key] = key not in invisible
        needed = key in definition.required
        if not needed and key in rules.get("required_if", {}):
            needed = holds(rules["required_if"][key], key)
        required[key] = bool(needed and visible[key] and not f.read_only)
        locked = f.read_only or not access.may_write(key)
        if not locked and key in rules.get("readonly_if", {}):
            locked = holds(rules["readonly_if"][key], key)
        readonly[key] = locked
        if f.formula:
            values[key] = data.get(key)
        elif f.kind == "child_table" and any(c.formula for c in f.children.values()):
            computed = [c.key for c in f.children.values() if c.formula]
            values[key] = [
                {c: row.get(c) for c in computed} if isinstance(row, dict) else {}
                for row in data.get(key) or []
            ]
    spec = {k: v for k, v in _spec(definition, data).items() if k not in hidden}
    return {
        "visible": visible,
        "required": required,
        "readonly": readonly,
        "values": values,
        "spec": spec,
        "errors": [e for e in errors if (e["path"].split("/") + [""])[1] not in hidden],
    }


@api.post(EVALUATE)
def evaluate_draft(app_key: str, entity_key: str) -> Response:
    records = RecordStore(get_session(), g.actor).entity(app_key, entity_key)
    records.access.require("read")
    return jsonify(evaluate_rules(records, _draft(records, json_body())))
