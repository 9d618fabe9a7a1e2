"""Drafts of an app's definitions (workflows, automations, reports) as the designer edits
them: created, read, replaced as a whole with the version they were made on, undone,
redone, published and switched on or off.

Every save goes through the kernel's ``save_draft_definition``, whose checker for the kind
refuses what would be broken; the problems listed with a draft are the checker's view of it
against the app as it is now (an entity it names may have gone since it was saved).
"""

from __future__ import annotations

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
from jizuo.platform.actor import Actor
from jizuo.platform.catalog import check_key, get_app
from jizuo.platform.definitions import (
    check_definition,
    get_definition,
    publish_definition,
    published_body,
    save_draft_definition,
    set_enabled,
)
from jizuo.platform.errors import BadRequest, Conflict, NotFound, ValidationFailed, error
from jizuo.platform.models import App, Definition


def draft_body(session: Session, found: Definition) -> dict[str, Any]:
    """The draft, or the published body when there is no draft (publishing clears it)."""
    body = found.draft if found.draft is not None else published_body(session, found)
    if body is None:
        raise NotFound(f"The {found.kind} '{found.key}' has no draft.")
    return body


def problems_of(session: Session, actor: Actor, found: Definition, body: dict) -> list[dict]:
    """What the kernel's checker says of the body against the app as it is now."""
    try:
        app = session.get(App, found.app_id)
        check_definition(session, actor, app, found.kind, found.key, body)
    except ValidationFailed as exc:
        return exc.errors
    return []


def state_of(session: Session, actor: Actor, found: Definition, body: dict) -> DraftState:
    """The draft as the designer shows it, with its problems."""
    return draft_state(session, found, body, problems_of(session, actor, found, body))


def create_definition(
    session: Session, actor: Actor, app_key: str, kind: str, key: Any, body: dict[str, Any]
) -> DraftState:
    """A new definition of the app, its first draft ``body`` (checked by the kernel)."""
    actor.require_design()
    check_key(key, kind)
    app = get_app(session, actor, app_key)
    exists = session.scalar(
        select(Definition.id).where(
            Definition.app_id == app.id, Definition.kind == kind, Definition.key == key
        )
    )
    if exists:
        raise Conflict(f"The {kind} '{key}' exists already.", errors=[error("/key", "in use")])
    found = save_draft_definition(session, actor, app_key, kind, key, body)
    record_step(session, actor, found, None, found.draft)
    return state_of(session, actor, found, found.draft)


def definition_draft(session: Session, actor: Actor, app_key: str, kind: str, key: str):
    """A definition's draft for the designer."""
    require_designer(actor)
    found = get_definition(session, actor, app_key, kind, key)
    return state_of(session, actor, found, draft_body(session, found))


def _save(session: Session, actor: Actor, app_key: str, found: Definition, body: dict):
    save_draft_definition(session, actor, app_key, found.kind, found.key, body)
    return state_of(session, actor, found, body)


def replace_draft(
    session: Session, actor: Actor, app_key: str, kind: str, key: str, body: Any, version: Any
) -> DraftState:
    """Save ``body`` as the draft made on ``version`` (the autosave of a whole body)."""
    actor.require_design()
    found = get_definition(session, actor, app_key, kind, key)
    check_draft_version(session, found, version)
    if not isinstance(body, dict):
        raise BadRequest("Send the draft as a JSON object.", errors=[error("/draft", "an object")])
    before = draft_body(session, found)
    if body == before:
        return state_of(session, actor, found, before)  # nothing changed: no step, no save
    record_step(session, actor, found, found.draft, body)
    return _save(session, actor, app_key, found, body)


def save_step(
    session: Session, actor: Actor, app_key: str, found: Definition, body: dict
) -> DraftState:
    """Save an edited body (the draft's version checked by the caller) as an undoable step."""
    record_step(session, actor, found, found.draft, body)
    return _save(session, actor, app_key, found, body)


def walk_draft(
    session: Session,
    actor: Actor,
    app_key: str,
    kind: str,
    key: str,
    version: Any,
    *,
    undo: bool,
) -> DraftState:
    """Undo the last edit, or redo the last undone one (an edit itself: version checked)."""
    actor.require_design()
    found = get_definition(session, actor, app_key, kind, key)
    check_draft_version(session, found, version)
    return _save(session, actor, app_key, found, take_step(session, found, undo=undo))


def publish_draft(
    session: Session, actor: Actor, app_key: str, kind: str, key: str, version: Any
) -> int:
    """Publish the draft made on ``version``; the new published version's number."""
    actor.require_design()
    found = get_definition(session, actor, app_key, kind, key)
    check_draft_version(session, found, version)
    return publish_definition(session, actor, app_key, kind, key).version


def switch(
    session: Session, actor: Actor, app_key: str, kind: str, key: str, enabled: bool
) -> Definition:
    """Switch a published definition on or off."""
    return set_enabled(session, actor, app_key, kind, key, enabled)
