"""What publishing a draft would change, and publishing it.

The preview is the difference between the published definition and the draft — fields
added, removed, renamed (the renames the draft recorded), changed properties, type
changes, options removed — and the kernel's compatibility report: how many existing
records would break, and how. The designer supplies defaults, conversions, drops or
further renames; publishing then goes through the kernel's ``publish_entity``, which
refuses with the report or starts the migration job with its progress.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.designer.drafts import check_draft_version, require_designer
from jizuo.designer.entity_drafts import current_draft, draft_problems
from jizuo.designer.form_design import RENAMES, draft_renames
from jizuo.platform import catalog, publishing
from jizuo.platform.actor import Actor
from jizuo.platform.api.serialize import iso_time
from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.models import Entity, EntityVersion, User
from jizuo.platform.record_migrations import check_migration


def _options(f: Field) -> list[Any]:
    return list(f.schema.get("enum") or f.schema.get("items", {}).get("enum") or [])


def _field_change(old: Field, new: Field, old_required: bool, new_required: bool) -> dict | None:
    keys = sorted(set(old.schema) | set(new.schema))
    properties = {
        k: [old.schema.get(k), new.schema.get(k)]
        for k in keys
        if old.schema.get(k) != new.schema.get(k)
    }
    if old_required != new_required:
        properties["required"] = [old_required, new_required]
    if not properties:
        return None
    change: dict[str, Any] = {"field": new.key, "properties": properties}
    if old.kind != new.kind:
        change["type_change"] = [old.kind, new.kind]
    removed = [o for o in _options(old) if o not in _options(new)]
    added = [o for o in _options(new) if o not in _options(old)]
    if removed:
        change["options_removed"] = removed
    if added:
        change["options_added"] = added
    return change


def definition_diff(
    old: EntityDefinition | None, new: EntityDefinition, renames: dict[str, str]
) -> dict[str, Any]:
    """Fields added, removed, renamed and changed from ``old`` (None: never published)."""
    old_fields = old.fields if old else {}
    renamed = {o: n for o, n in renames.items() if o in old_fields and n in new.fields}
    source_of = {n: o for o, n in renamed.items()}
    added = [
        {"field": k, "kind": f.kind}
        for k, f in new.fields.items()
        if k not in source_of and k not in old_fields
    ]
    removed = [
        {"field": k, "kind": f.kind}
        for k, f in old_fields.items()
        if k not in renamed and k not in new.fields
    ]
    changed = []
    old_required = set(old.required) if old else set()
    for key, f in new.fields.items():
        source = source_of.get(key, key)
        if source not in old_fields or (key in old_fields and key in renamed):
            continue
        change = _field_change(
            old_fields[source], f, source in old_required, key in set(new.required)
        )
        if change:
            changed.append(change)
    return {
        "added": added,
        "removed": removed,
        "renamed": [{"from": o, "to": n} for o, n in renamed.items()],
        "changed": changed,
        "type_changes": [
            {"field": c["field"], "from": c["type_change"][0], "to": c["type_change"][1]}
            for c in changed
            if "type_change" in c
        ],
        "options_removed": {
            c["field"]: c["options_removed"] for c in changed if "options_removed" in c
        },
        "layout_changed": bool(old) and old.raw.get("layout") != new.raw.get("layout"),
        "rules_changed": bool(old) and old.rules != new.rules,
    }


def _without_renames(draft: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in draft.items() if k != RENAMES}


def _migration(
    draft: dict[str, Any], supplied: Any, old: EntityDefinition | None, new: EntityDefinition
) -> dict[str, Any]:
    """The draft's recorded renames, then what the designer supplies (which wins), checked."""
    if supplied is not None and not isinstance(supplied, dict):
        raise ValidationFailed(
            "A migration must be a JSON object.", errors=[error("/migration", "object")]
        )
    supplied = copy.deepcopy(supplied or {})
    old_keys = set(old.fields) if old else set()
    recorded = {o: n for o, n in draft_renames(draft).items() if o in old_keys and n in new.fields}
    if recorded or "renames" in supplied:
        given = supplied.get("renames", {})
        supplied["renames"] = {**recorded, **given} if isinstance(given, dict) else given
    return check_migration(supplied or None, old, new)


def _prepared(session: Session, actor: Actor, app_key: str, entity_key: str) -> tuple:
    entity = catalog.get_entity(session, actor, app_key, entity_key)
    draft = current_draft(session, entity)
    new, validator = catalog.compile_definition(_without_renames(draft))
    old = catalog.published_of(session, entity).definition if entity.published_version else None
    return entity, draft, new, validator, old


def preview_publish(
    session: Session, actor: Actor, app_key: str, entity_key: str, migration: Any = None
) -> dict[str, Any]:
    """The difference from the published version and the kernel's compatibility report of
    the draft, with the migration made of the draft's renames and ``migration``."""
    require_designer(actor)
    entity, draft, new, validator, old = _prepared(session, actor, app_key, entity_key)
    merged = _migration(draft, migration, old, new)
    report = publishing.check_compatibility(session, actor, entity, new, validator, merged)
    return {
        "version": (entity.published_version or 0) + 1,
        "draft_version": entity.draft_version,
        "diff": definition_diff(old, new, draft_renames(draft)),
        "report": report.to_dict(),
        "migration": merged,
        "problems": draft_problems(session, actor, draft),
    }


def publish_draft(
    session: Session,
    actor: Actor,
    app_key: str,
    entity_key: str,
    migration: Any,
    version: Any,
) -> publishing.PublishResult:
    """Publish the draft made at ``version`` with its renames and the given migration."""
    actor.require_design()
    entity, draft, new, _validator, old = _prepared(session, actor, app_key, entity_key)
    check_draft_version(session, entity, version)
    merged = _migration(draft, migration, old, new)
    if RENAMES in draft:
        # The renames become the version's migration; the draft no longer carries them.
        catalog.save_draft(session, actor, app_key, entity_key, _without_renames(draft))
    return publishing.publish_entity(session, actor, app_key, entity_key, merged or None)


def version_history(
    session: Session, actor: Actor, app_key: str, entity_key: str
) -> list[dict[str, Any]]:
    """Every published version, newest first: who published it, when, and its migration."""
    require_designer(actor)
    entity: Entity = catalog.get_entity(session, actor, app_key, entity_key)
    rows = session.execute(
        select(
            EntityVersion.version,
            EntityVersion.published_at,
            User.username,
            EntityVersion.migration,
        )
        .outerjoin(User, User.id == EntityVersion.published_by)
        .where(EntityVersion.entity_id == entity.id)
        .order_by(EntityVersion.version.desc())
    )
    return [
        {
            "version": version,
            "published_at": iso_time(at),
            "published_by": who,
            "migration": migration,
            "current": version == entity.published_version,
        }
        for version, at, who, migration in rows
    ]
