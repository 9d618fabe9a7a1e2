"""Drafts as designers edit them: optimistic locking, autosave of every operation, and
undo/redo.

Each entity and each definition (workflow…) has one draft and a counter of its saves,
``draft_version``. An edit names the version it was made on; a stale one is refused with
412, saying who saved the draft and when, like a stale record. Every edit the designer
makes is saved at once (that is the autosave) and leaves a step in ``draft_history``:
the draft before and after, so that undo and redo walk back and forth. Undo and redo are
edits too: they save through the kernel (which checks the draft again) and need the
current version.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jizuo.platform.actor import DESIGNER, Actor
from jizuo.platform.api.serialize import iso_time
from jizuo.platform.errors import (
    BadRequest,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
    error,
)
from jizuo.platform.models import Definition, DraftHistory, Entity, User

#: How many steps back a designer can undo.
MAX_STEPS = 50

Owner = Entity | Definition


def require_designer(actor: Actor) -> None:
    """The designer's pages and API are for admins and designers (admins hold every role)."""
    if not actor.has_role(DESIGNER):
        raise PermissionDenied("The designer is for admins and designers.")


def expected_version(value: Any) -> int:
    """The draft version an edit was made on, as sent by the client."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(
            "Send the draft's 'version' you edited (from the last answer).",
            errors=[error("/version", "a whole number")],
        )
    return value


def _username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == user_id))


def check_draft_version(session: Session, owner: Owner, expected: Any) -> None:
    """Refuse an edit made on another version of the draft than the current one."""
    if owner.draft_version != expected_version(expected):
        who = _username(session, owner.draft_updated_by)
        when = iso_time(owner.draft_updated_at)
        raise StaleVersion(
            f"The draft is at version {owner.draft_version}, not {expected}: {who or 'someone'} "
            f"saved it at {when}. Reload it and apply your change again.",
            current_version=owner.draft_version,
            updated_by=who,
            updated_at=when,
        )


def _steps(owner: Owner) -> Any:
    if isinstance(owner, Entity):
        return DraftHistory.entity_id == owner.id
    return DraftHistory.definition_id == owner.id


def record_step(
    session: Session, actor: Actor, owner: Owner, before: dict | None, after: dict | None
) -> None:
    """Remember an edit for undo; a new edit drops what could have been redone."""
    session.execute(delete(DraftHistory).where(_steps(owner), DraftHistory.undone.is_(True)))
    session.add(
        DraftHistory(
            workspace_id=owner.workspace_id,
            entity_id=owner.id if isinstance(owner, Entity) else None,
            definition_id=owner.id if isinstance(owner, Definition) else None,
            before=before,
            after=after,
            undone=False,
            by=actor.user_id,
        )
    )
    session.flush()
    old = list(
        session.scalars(
            select(DraftHistory.id)
            .where(_steps(owner))
            .order_by(DraftHistory.id.desc())
            .offset(MAX_STEPS)
        )
    )
    if old:
        session.execute(delete(DraftHistory).where(DraftHistory.id.in_(old)))


def step_to_undo(session: Session, owner: Owner) -> DraftHistory | None:
    """The latest edit not undone yet."""
    return session.scalar(
        select(DraftHistory)
        .where(_steps(owner), DraftHistory.undone.is_(False))
        .order_by(DraftHistory.id.desc())
        .limit(1)
    )


def step_to_redo(session: Session, owner: Owner) -> DraftHistory | None:
    """The earliest undone edit."""
    return session.scalar(
        select(DraftHistory)
        .where(_steps(owner), DraftHistory.undone.is_(True))
        .order_by(DraftHistory.id)
        .limit(1)
    )


def take_step(session: Session, owner: Owner, *, undo: bool) -> dict:
    """The body to save for an undo (the last edit's before) or a redo (the earliest undone
    edit's after), the step marked accordingly; refused when there is nothing to take."""
    step = step_to_undo(session, owner) if undo else step_to_redo(session, owner)
    body = None if step is None else (step.before if undo else step.after)
    if body is None:
        what = "undo" if undo else "redo"
        raise ValidationFailed(f"There is nothing to {what}.", errors=[error("", what, what)])
    step.undone = undo
    return copy.deepcopy(body)


@dataclass
class DraftState:
    """A draft as the designer shows it: the body, its version and who saved it, whether
    undo and redo are possible, and what would stop it from being published."""

    draft: dict[str, Any] | None
    version: int
    updated_at: str | None
    updated_by: str | None
    can_undo: bool
    can_redo: bool
    problems: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def draft_state(
    session: Session, owner: Owner, draft: dict | None, problems: list[dict[str, str]]
) -> DraftState:
    """The state of an owner's draft after the session's changes."""
    session.flush()
    return DraftState(
        draft=draft,
        version=owner.draft_version,
        updated_at=iso_time(owner.draft_updated_at),
        updated_by=_username(session, owner.draft_updated_by),
        can_undo=step_to_undo(session, owner) is not None,
        can_redo=step_to_redo(session, owner) is not None,
        problems=problems,
    )
