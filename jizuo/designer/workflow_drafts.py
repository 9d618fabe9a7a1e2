"""The workflow designer's service: a workflow's draft created, read, edited by
operations, undone and redone, and drawn — each edit saved through the kernel's
``save_draft_definition``, whose workflow checker refuses what would be broken."""

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
    step_to_redo,
    step_to_undo,
)
from jizuo.designer.workflow_design import apply_workflow_ops, seed_workflow
from jizuo.designer.workflow_diagram import render_svg
from jizuo.platform.actor import Actor
from jizuo.platform.catalog import check_key, get_app
from jizuo.platform.definitions import (
    get_definition,
    published_body,
    save_draft_definition,
)
from jizuo.platform.errors import Conflict, NotFound, ValidationFailed, error
from jizuo.platform.models import App, Definition
from jizuo.platform.workflows import KIND, check_workflow


def _body(session: Session, found: Definition) -> dict[str, Any]:
    """The draft, or the published body when there is no draft (publishing clears it)."""
    body = found.draft if found.draft is not None else published_body(session, found)
    if body is None:
        raise NotFound(f"Workflow '{found.key}' has no draft.")
    return body


def _problems(session: Session, actor: Actor, found: Definition, body: dict) -> list[dict]:
    """What the kernel's checker says of the body against the app as it is now."""
    try:
        check_workflow(session, actor, session.get(App, found.app_id), found.key, body)
    except ValidationFailed as exc:
        return exc.errors
    return []


def _state(session: Session, actor: Actor, found: Definition, body: dict) -> DraftState:
    return draft_state(session, found, body, _problems(session, actor, found, body))


def create_workflow(
    session: Session, actor: Actor, app_key: str, key: Any, entity_key: Any
) -> DraftState:
    """A new workflow for an entity of the app, seeded with two states."""
    actor.require_design()
    check_key(key, "workflow")
    app = get_app(session, actor, app_key)
    exists = session.scalar(
        select(Definition.id).where(
            Definition.app_id == app.id, Definition.kind == KIND, Definition.key == key
        )
    )
    if exists:
        raise Conflict(f"Workflow '{key}' exists already.", errors=[error("/key", "in use")])
    if not isinstance(entity_key, str):
        raise ValidationFailed("Name the entity.", errors=[error("/entity", "an entity key")])
    found = save_draft_definition(session, actor, app_key, KIND, key, seed_workflow(entity_key))
    record_step(session, actor, found, None, found.draft)
    return _state(session, actor, found, found.draft)


def workflow_draft(session: Session, actor: Actor, app_key: str, key: str) -> DraftState:
    """A workflow's draft for the designer."""
    require_designer(actor)
    found = get_definition(session, actor, app_key, KIND, key)
    return _state(session, actor, found, _body(session, found))


def _save(session: Session, actor: Actor, app_key: str, found: Definition, body: dict):
    save_draft_definition(session, actor, app_key, KIND, found.key, body)
    return _state(session, actor, found, body)


def design_workflow(
    session: Session, actor: Actor, app_key: str, key: str, ops: Any, version: Any
) -> DraftState:
    """Apply the designer's operations to the draft made at ``version`` and save it."""
    actor.require_design()
    found = get_definition(session, actor, app_key, KIND, key)
    check_draft_version(session, found, version)
    after = apply_workflow_ops(_body(session, found), ops)
    record_step(session, actor, found, found.draft, after)
    return _save(session, actor, app_key, found, after)


def _walk(
    session: Session, actor: Actor, app_key: str, key: str, version: Any, *, undo: bool
) -> DraftState:
    actor.require_design()
    found = get_definition(session, actor, app_key, KIND, key)
    check_draft_version(session, found, version)
    step = step_to_undo(session, found) if undo else step_to_redo(session, found)
    body = None if step is None else (step.before if undo else step.after)
    if body is None:
        what = "undo" if undo else "redo"
        raise ValidationFailed(f"There is nothing to {what}.", errors=[error("", what, what)])
    step.undone = undo
    return _save(session, actor, app_key, found, copy.deepcopy(body))


def undo_workflow(
    session: Session, actor: Actor, app_key: str, key: str, version: Any
) -> DraftState:
    """Put the workflow draft back as it was before the last edit."""
    return _walk(session, actor, app_key, key, version, undo=True)


def redo_workflow(
    session: Session, actor: Actor, app_key: str, key: str, version: Any
) -> DraftState:
    """Make again the last edit that was undone."""
    return _walk(session, actor, app_key, key, version, undo=False)


def workflow_svg(
    session: Session, actor: Actor, app_key: str, key: str, language: str, labels: dict
) -> str:
    """The workflow's draft drawn as SVG, in the viewer's language."""
    require_designer(actor)
    found = get_definition(session, actor, app_key, KIND, key)
    return render_svg(_body(session, found), language, labels)
