"""The form designer's service: an entity's draft read, edited by operations, undone and
redone, reverted to a published version — each edit saved through the kernel's
``save_draft`` (which checks it again) with optimistic locking and an undo step."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.designer.drafts import (
    DraftState,
    check_draft_version,
    draft_state,
    record_step,
    require_designer,
    take_step,
)
from jizuo.designer.form_design import apply_ops, published_shape
from jizuo.platform import catalog
from jizuo.platform.actor import Actor
from jizuo.platform.errors import NotFound, ValidationFailed, error
from jizuo.platform.metadata import EntityDefinition, validate_definition
from jizuo.platform.models import Entity, EntityVersion


def _published(session: Session, entity: Entity) -> EntityDefinition | None:
    if entity.published_version is None:
        return None
    return catalog.published_of(session, entity).definition


def current_draft(session: Session, entity: Entity) -> dict[str, Any]:
    """The draft, or a copy of the published definition when there is none."""
    if entity.draft is not None:
        return entity.draft
    published = _published(session, entity)
    if published is None:
        raise NotFound(f"Entity '{entity.key}' has neither a draft nor a published version.")
    return copy.deepcopy(published.raw)


def draft_problems(session: Session, actor: Actor, draft: dict[str, Any]) -> list[dict[str, str]]:
    """What would stop the draft from being published although it is valid metadata:
    references to entities the workspace does not have, display fields they lack."""
    problems = []
    for f in validate_definition(draft).all_fields():
        if not f.ref:
            continue
        where = "/schema/properties/" + "/items/properties/".join(f.path.split("."))
        try:
            target = catalog.entity_by_ref(session, actor, f.ref)
        except NotFound:
            problems.append(error(f"{where}/x-ref", f"no entity '{f.ref}' in this workspace"))
            continue
        display = f.schema.get("x-display-field")
        if display and target.published_version:
            if display not in catalog.published_of(session, target).definition.fields:
                message = f"'{f.ref}' has no field '{display}'"
                problems.append(error(f"{where}/x-display-field", message))
    return problems


def entity_draft(session: Session, actor: Actor, app_key: str, entity_key: str) -> DraftState:
    """An entity's draft for the designer."""
    require_designer(actor)
    entity = catalog.get_entity(session, actor, app_key, entity_key)
    draft = current_draft(session, entity)
    return draft_state(session, entity, draft, draft_problems(session, actor, draft))


def _save(
    session: Session, actor: Actor, app_key: str, entity: Entity, draft: dict[str, Any]
) -> DraftState:
    catalog.save_draft(session, actor, app_key, entity.key, draft)
    return draft_state(session, entity, draft, draft_problems(session, actor, draft))


def design_entity(
    session: Session, actor: Actor, app_key: str, entity_key: str, ops: Any, version: Any
) -> DraftState:
    """Apply the designer's operations to the draft made at ``version`` and save it."""
    actor.require_design()
    entity = catalog.get_entity(session, actor, app_key, entity_key)
    check_draft_version(session, entity, version)
    before = current_draft(session, entity)
    after = apply_ops(before, ops, published_shape(_published(session, entity)))
    record_step(session, actor, entity, entity.draft, after)
    return _save(session, actor, app_key, entity, after)


def undo_entity(
    session: Session, actor: Actor, app_key: str, entity_key: str, version: Any
) -> DraftState:
    """Put the draft back as it was before the last edit."""
    return _walk(session, actor, app_key, entity_key, version, undo=True)


def redo_entity(
    session: Session, actor: Actor, app_key: str, entity_key: str, version: Any
) -> DraftState:
    """Make again the last edit that was undone."""
    return _walk(session, actor, app_key, entity_key, version, undo=False)


def _walk(
    session: Session, actor: Actor, app_key: str, entity_key: str, version: Any, *, undo: bool
) -> DraftState:
    actor.require_design()
    entity = catalog.get_entity(session, actor, app_key, entity_key)
    check_draft_version(session, entity, version)
    return _save(session, actor, app_key, entity, take_step(session, entity, undo=undo))


def revert_entity(
    session: Session, actor: Actor, app_key: str, entity_key: str, to_version: Any, version: Any
) -> DraftState:
    """Make a published version's definition the draft again (publish it as a new version)."""
    actor.require_design()
    entity = catalog.get_entity(session, actor, app_key, entity_key)
    check_draft_version(session, entity, version)
    if isinstance(to_version, bool) or not isinstance(to_version, int):
        raise ValidationFailed(
            "Name the published version to go back to.", errors=[error("/to_version", "integer")]
        )
    definition = session.scalar(
        select(EntityVersion.definition).where(
            EntityVersion.entity_id == entity.id, EntityVersion.version == to_version
        )
    )
    if definition is None:
        raise NotFound(f"'{entity_key}' has no published version {to_version}.")
    draft = copy.deepcopy(definition)
    record_step(session, actor, entity, entity.draft, draft)
    return _save(session, actor, app_key, entity, draft)
