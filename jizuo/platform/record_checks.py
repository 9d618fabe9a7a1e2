"""The checks of record data that need the database: references, users, attachments, uniqueness.

Each check takes a whole batch of records and issues one query per referenced
entity or unique field, never one per record.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.attachments import readable_attachments
from jizuo.platform.catalog import get_app_entity
from jizuo.platform.errors import NotFound, error
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.models import Membership, Record
from jizuo.platform.permissions import readable_records
from jizuo.platform.query import entity_is, field_sql

CHUNK = 5000


def _ids(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def id_values(defn: EntityDefinition, data: dict[str, Any], kinds: set[str]) -> Iterator:
    """Yield (pointer, field, id) for every id-holding field of ``kinds`` in one record."""
    for f in defn.fields.values():
        if f.kind in kinds and data.get(f.key) is not None:
            for i, value in enumerate(_ids(data[f.key])):
                suffix = f"/{i}" if isinstance(data[f.key], list) else ""
                yield f"/{f.key}{suffix}", f, value
        elif f.kind == "child_table":
            for r, row in enumerate(data.get(f.key) or []):
                for child in f.children.values():
                    if child.kind in kinds and isinstance(row, dict) and row.get(child.key):
                        yield f"/{f.key}/{r}/{child.key}", child, row[child.key]


def _existing(session: Session, query: Any, column: Any, ids: set[Any]) -> set[Any]:
    wanted = sorted(i for i in ids if isinstance(i, int) and not isinstance(i, bool))
    found: set[Any] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(session.scalars(query.where(column.in_(wanted[start : start + CHUNK]))))
    return found


def reference_errors(
    session: Session, actor: Actor, defn: EntityDefinition, rows: list[dict[str, Any]]
) -> list[list[dict[str, str]]]:
    """Per row, errors for references to records that are missing, deleted or elsewhere."""
    errors: list[list[dict[str, str]]] = [[] for _ in rows]
    kinds = {"reference", "user", "attachment"}
    wanted: dict[tuple[str, str], set[Any]] = defaultdict(set)
    for row in rows:
        for _path, f, value in id_values(defn, row, kinds):
            wanted[(f.kind, f.ref or "")].add(value)

    found: dict[tuple[str, str], set[Any]] = {}
    for (kind, ref), ids in wanted.items():
        if kind == "reference":
            query = _linkable(session, actor, ref)
            found[(kind, ref)] = (
                set() if query is None else _existing(session, query, Record.id, ids)
            )
        elif kind == "user":
            query = select(Membership.user_id).where(Membership.workspace_id == actor.workspace_id)
            found[(kind, ref)] = _existing(session, query, Membership.user_id, ids)
        else:
            found[(kind, ref)] = readable_attachments(session, actor, ids)

    for i, row in enumerate(rows):
        for path, f, value in id_values(defn, row, kinds):
            if value not in found[(f.kind, f.ref or "")]:
                what = {"reference": f"record of '{f.ref}'", "user": "user of this workspace"}
                errors[i].append(
                    error(path, f"no {what.get(f.kind, 'attachment')} with id {value}", "reference")
                )
    return errors


def _linkable(session: Session, actor: Actor, ref: str) -> Any:
    """The ids of ``ref`` records the actor may link to: those it may read (None for none).

    A token limited to some apps may still link to records of the workspace's other apps:
    linking reads nothing but the id, and the read permission of the target still applies.
    """
    app_key, _, entity_key = ref.partition(".")
    try:
        app, entity = get_app_entity(
            session, dataclasses.replace(actor, app_keys=None), app_key, entity_key
        )
    except NotFound:
        return None
    readable = readable_records(session, actor, app, entity)
    return None if readable is None else readable[0]


def unique_errors(
    session: Session,
    entity_id: int,
    defn: EntityDefinition,
    rows: list[dict[str, Any]],
    exclude_ids: list[int | None],
) -> list[list[dict[str, str]]]:
    """Per row, errors for ``x-unique`` values already used by another live record or the batch."""
    errors: list[list[dict[str, str]]] = [[] for _ in rows]
    dialect = session.get_bind().dialect.name
    for f in defn.fields.values():
        if not f.schema.get("x-unique"):
            continue
        seen: dict[Any, int] = {}
        for i, row in enumerate(rows):
            value = row.get(f.key)
            if value is None:
                continue
            if value in seen:
                errors[i].append(_duplicate(f, value))
            seen.setdefault(value, i)
        if not seen:
            continue
        expr = field_sql(dialect, f)
        taken: dict[Any, int] = {}
        values = list(seen)
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            if dialect == "postgresql":
                chunk = [str(v) if f.sql_type == "text" else v for v in chunk]
            query = select(expr, Record.id).where(
                entity_is(entity_id), Record.deleted_at.is_(None), expr.in_(chunk)
            )
            taken.update({value: rid for value, rid in session.execute(query)})
        for i, row in enumerate(rows):
            value = row.get(f.key)
            # Equal numbers hash alike across int, float and Decimal: one look-up serves.
            holder = taken.get(value)
            if holder is not None and holder != exclude_ids[i]:
                errors[i].append(_duplicate(f, value))
    return errors


def _duplicate(f: Field, value: Any) -> dict[str, str]:
    return error(f"/{f.key}", f"'{value}' is already used by another record", "unique")
