"""An app's records in an export file, and back: references made portable and re-pointed.

In the file a reference holds ``{"$record": "app.entity/<id in the source>"}``; on import
it becomes the id the target record got. Users and attachments are not carried (user ids
and files belong to the source installation): their values are left out, and the file
says so under ``omitted``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from graphlib import CycleError, TopologicalSorter
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.metadata import EntityDefinition, Field, validate_definition
from jizuo.platform.models import Entity, Record
from jizuo.platform.records import RecordStore

LEFT_OUT = ("user", "attachment")


def _walk(fields: dict[str, Field], data: dict[str, Any], fix: Callable) -> dict[str, Any]:
    """A copy of ``data`` with every reference, user or attachment value passed to ``fix``
    (which returns the new value, or None to leave it out)."""
    out = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            out[key] = value
        elif f.kind == "child_table" and isinstance(value, list):
            out[key] = [
                _walk(f.children, row, fix) if isinstance(row, dict) else row for row in value
            ]
        elif f.kind in ("reference", *LEFT_OUT) and value is not None:
            fixed = fix(f, value)
            if fixed is not None:
                out[key] = fixed
        else:
            out[key] = value
    return out


def _writable(fields: dict[str, Field], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the values the platform computes (formulas, auto-numbers)."""
    out = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is not None and f.read_only:
            continue
        if f is not None and f.kind == "child_table" and isinstance(value, list):
            value = [_writable(f.children, r) if isinstance(r, dict) else r for r in value]
        out[key] = value
    return out


def export_records(
    session: Session, entity: Entity, definition: EntityDefinition, omitted: set[str]
) -> list[dict[str, Any]]:
    """The live records of an entity, references made portable."""

    def portable(f: Field, value: Any) -> Any:
        if f.kind == "reference":
            return {"$record": f"{f.ref}/{value}"}
        omitted.add(f"{definition.key}.{f.path}")
        return None

    rows = session.scalars(
        select(Record)
        .where(Record.entity_id == entity.id, Record.deleted_at.is_(None))
        .order_by(Record.id)
    )
    return [
        {"id": r.id, "state": r.state, "data": _walk(definition.fields, r.data, portable)}
        for r in rows
    ]


def external_records(
    document: dict[str, Any], source_app: str
) -> Iterator[tuple[str, int, str, str]]:
    """(entity, record index, field, target) of references to records not in the file."""
    present = {
        f"{source_app}.{entity}/{row['id']}"
        for entity, rows in document.get("records", {}).items()
        for row in rows
    }

    def find(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            if "$record" in value:
                if value["$record"] not in present:
                    yield path, str(value["$record"])
                return
            for k, v in value.items():
                yield from find(v, f"{path}/{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from find(v, f"{path}/{i}")

    for entity, rows in document.get("records", {}).items():
        for i, row in enumerate(rows):
            for path, target in find(row["data"], ""):
                yield entity, i, path, target


def _order(definitions: dict[str, EntityDefinition], source_app: str) -> list[str]:
    """Entities in an order where referenced ones come first."""
    graph: dict[str, set[str]] = {}
    for key, definition in definitions.items():
        graph[key] = {
            f.ref.partition(".")[2]
            for f in definition.all_fields()
            if f.ref and f.ref.startswith(f"{source_app}.") and f.ref.partition(".")[2] != key
        } & set(definitions)
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError:
        raise ValidationFailed(
            "The app's entities refer to each other in a cycle: import it without records.",
            errors=[error("/records", "references in a cycle")],
        ) from None


def import_records(
    session: Session, store: RecordStore, target_app: str, document: dict[str, Any]
) -> int:
    """Create the file's records in ``target_app``, re-pointing references; the records keep
    their workflow state and auto-numbers. Returns how many were made."""
    source_app = document["app"]["key"]
    records = document.get("records", {})
    definitions = {
        e["key"]: validate_definition(e["published"])
        for e in document["entities"]
        if e.get("published") and e["key"] in records
    }
    new_ids: dict[str, int] = {}
    made = 0
    for entity_key in _order(definitions, source_app):
        definition = definitions[entity_key]
        entity_records = store.entity(target_app, entity_key)

        def repoint(f: Field, value: Any, entity_key: str = entity_key) -> Any:
            if f.kind != "reference" or not isinstance(value, dict):
                return None
            found = new_ids.get(str(value.get("$record")))
            if found is None:
                raise ValidationFailed(
                    f"A record of '{entity_key}' refers to a record the file does not hold.",
                    errors=[error(f"/records/{entity_key}", f"{value.get('$record')} missing")],
                )
            return found

        for i, row in enumerate(records[entity_key]):
            data = _writable(definition.fields, _walk(definition.fields, row["data"], repoint))
            try:
                record = entity_records.create(data, reason="app import")
            except ValidationFailed as exc:
                raise ValidationFailed(
                    f"Record {i} of '{entity_key}' is not valid here: {exc.detail}",
                    errors=[
                        {**e, "path": f"/records/{entity_key}/{i}/data{e['path']}"}
                        for e in exc.errors
                    ],
                ) from None
            kept = {
                f.key: row["data"][f.key]
                for f in definition.fields.values()
                if f.kind == "auto_number" and f.key in row["data"]
            }
            values: dict[str, Any] = {}
            if kept:
                values["data"] = {**record.data, **kept}
            if row.get("state"):
                values["state"] = row["state"]
            if values:
                session.execute(update(Record).where(Record.id == record.id).values(**values))
            new_ids[f"{source_app}.{entity_key}/{row['id']}"] = record.id
            made += 1
    return made
