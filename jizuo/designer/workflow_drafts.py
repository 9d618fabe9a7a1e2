"""The workflow designer's service: a workflow's draft created, read, edited by
operations, undone and redone, and drawn — each edit saved through the kernel's
``save_draft_definition``, whose workflow checker refuses what would be broken."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jizuo.designer.definition_drafts import (
    create_definition,
    definition_draft,
    draft_body,
    save_step,
    walk_draft,
)
from jizuo.designer.drafts import DraftState, check_draft_version, require_designer
from jizuo.designer.workflow_design import apply_workflow_ops, seed_workflow
from jizuo.designer.workflow_diagram import render_svg
from jizuo.platform.actor import Actor
from jizuo.platform.definitions import get_definition
from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.workflows import KIND


def create_workflow(
    session: Session, actor: Actor, app_key: str, key: Any, entity_key: Any
) -> DraftState:
    """A new workflow for an entity of the app, seeded with two states."""
    actor.require_design()
    if not isinstance(entity_key, str):
        raise ValidationFailed("Name the entity.", errors=[error("/entity", "an entity key")])
    return create_definition(session, actor, app_key, KIND, key, seed_workflow(entity_key))


def workflow_draft(session: Session, actor: Actor, app_key: str, key: str) -> DraftState:
    """A workflow's draft for the designer."""
    return definition_draft(session, actor, app_key, KIND, key)


def design_workflow(
    session: Session, actor: Actor, app_key: str, key: str, ops: Any, version: Any
) -> DraftState:
    """Apply the designer's operations to the draft made at ``version`` and save it."""
    actor.require_design()
    found = get_definition(session, actor, app_key, KIND, key)
    check_draft_version(session, found, version)
    after = apply_workflow_ops(draft_body(session, found), ops)
    return save_step(session, actor, app_key, found, after)


def undo_workflow(
    session: Session, actor: Actor, app_key: str, key: str, version: Any
) -> DraftState:
    """Put the workflow draft back as it was before the last edit."""
    return walk_draft(session, actor, app_key, KIND, key, version, undo=True)


def redo_workflow(
    session: Session, actor: Actor, app_key: str, key: str, version: Any
) -> DraftState:
    """Make again the last edit that was undone."""
    return walk_draft(session, actor, app_key, KIND, key, version, undo=False)


def workflow_svg(
    session: Session, actor: Actor, app_key: str, key: str, language: str, labels: dict
) -> str:
    """The workflow's draft drawn as SVG, in the viewer's language."""
    require_designer(actor)
    found = get_definition(session, actor, app_key, KIND, key)
    return render_svg(draft_body(session, found), language, labels)
