"""Migrations of record data between published versions of an entity.

A migration is metadata: ``{"renames": {old: new}, "drop": [keys],
"conversions": {key: expression}, "defaults": {key: value}}``, stored with the
version that introduced it. A record names the version it was last validated
against; ``upgrade_data`` replays every migration published since.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.expressions import ExpressionError, check_expression, evaluate
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.models import EntityVersion

MIGRATION_KEYS = {"renames", "drop", "conversions", "defaults"}


def check_migration(migration: Any, old: EntityDefinition | None, new: EntityDefinition) -> dict:
    """Refuse a malformed migration before anything runs."""
    if migration is None:
        return {}
    problems = []
    if not isinstance(migration, dict):
        raise ValidationFailed("A migration must be a JSON object.", errors=[error("", "object")])
    for key in sorted(set(migration) - MIGRATION_KEYS):
        problems.append(error(f"/{key}", f"unknown migration part; use {sorted(MIGRATION_KEYS)}"))
    old_keys = set(old.fields) if old else set()
    renames = migration.get("renames", {})
    if not isinstance(renames, dict):
        problems.append(error("/renames", 'give {"old_key": "new_key"}'))
        renames = {}
    for src, dst in renames.items():
        if src not in old_keys:
            problems.append(error(f"/renames/{src}", f"'{src}' is not a field of the old version"))
        if dst not in new.fields:
            problems.append(error(f"/renames/{src}", f"'{dst}' is not a field of the new version"))
    drop = migration.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(k, str) for k in drop):
        problems.append(error("/drop", "give a list of field keys"))
    defaults = migration.get("defaults", {})
    if not isinstance(defaults, dict):
        problems.append(error("/defaults", 'give {"field": value}'))
        defaults = {}
    for key in defaults:
        if key not in new.fields:
            problems.append(error(f"/defaults/{key}", f"'{key}' is not a field of the new version"))
    conversions = migration.get("conversions", {})
    if not isinstance(conversions, dict):
        problems.append(error("/conversions", 'give {"field": "expression"}'))
        conversions = {}
    names = old_keys | set(new.fields) | {"record"}
    for key, source in conversions.items():
        if key not in new.fields:
            problems.append(
                error(f"/conversions/{key}", f"'{key}' is not a field of the new version")
            )
        try:
            check_expression(source, names)
        except (ExpressionError, TypeError) as exc:
            problems.append(error(f"/conversions/{key}", str(exc), "expression"))
    if problems:
        raise ValidationFailed("The migration is not valid.", errors=problems)
    return migration


def apply_migration(data: dict[str, Any], migration: dict[str, Any]) -> dict[str, Any]:
    """A record's data after the migration (renames, drops, conversions, then defaults)."""
    out = copy.deepcopy(data)
    for src, dst in migration.get("renames", {}).items():
        if src in out:
            out[dst] = out.pop(src)
    for key in migration.get("drop", []):
        out.pop(key, None)
    if migration.get("conversions"):
        names = {**{k: out.get(k) for k in set(data) | set(out)}, "record": out}
        for key, source in migration["conversions"].items():
            names[key] = out.get(key)
            value = evaluate(source, names)
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
    for key, value in migration.get("defaults", {}).items():
        if out.get(key) in (None, "", []):
            out[key] = copy.deepcopy(value)
    return out


def pending_migrations(
    session: Session, entity_id: int, from_version: int, to_version: int
) -> list[dict[str, Any]]:
    """The migrations of the versions after ``from_version`` up to ``to_version``, in order."""
    rows = session.scalars(
        select(EntityVersion.migration)
        .where(
            EntityVersion.entity_id == entity_id,
            EntityVersion.version > from_version,
            EntityVersion.version <= to_version,
        )
        .order_by(EntityVersion.version)
    )
    return [m for m in rows if m]


def upgrade_data(data: dict[str, Any], migrations: list[dict[str, Any]]) -> dict[str, Any]:
    """Data as it is after replaying ``migrations`` (a copy; raises ExpressionError)."""
    for migration in migrations:
        data = apply_migration(data, migration)
    return data
