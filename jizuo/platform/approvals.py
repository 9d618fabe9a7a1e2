"""Approvals and assignments: who must agree before a transition fires, and whose hands a
record is in.

A transition with ``approvals`` (``{"role": "qa_manager", "mode": "count", "count": 2}``)
fires only once enough members of the role approved it in the current *round*: the time since
the record entered its current state (round n = the record has taken n transitions). Modes:
``any`` (one approval), ``count`` (n approvals), ``all`` (every member holding the role). A
rejection blocks the transition until the record leaves the state and comes back (a new
round). Each member decides once per round. Every decision and assignment is appended to the
record's audit trail.

*My tasks* are the records where the actor may still approve something, plus the open
assignments to the actor or one of their roles; an assignment is open until the record takes
a transition. Overdue assignments are open ones past their due time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.audit import Change, append_history
from jizuo.platform.catalog import list_apps
from jizuo.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, error
from jizuo.platform.models import (
    App,
    Approval,
    Assignment,
    Entity,
    Membership,
    Record,
    RecordHistory,
    User,
    utcnow,
)
from jizuo.platform.permissions import workspace_roles
from jizuo.platform.records import EntityRecords, RecordStore
from jizuo.platform.workflows import Transition, Workflow, app_workflows

APPROVE, REJECT = "approve", "reject"
#: At most this many records per approval step in one "my tasks" answer.
MAX_TASKS_PER_STEP = 200


# -- rounds and the state of approvals ------------------------------------------------------


def rounds_of(session: Session, workspace_id: int, record_ids: Iterable[int]) -> dict[int, int]:
    """The current round of each record: how many transitions it has taken."""
    ids = sorted(set(record_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(RecordHistory.record_id, func.count())
        .where(
            RecordHistory.workspace_id == workspace_id,
            RecordHistory.record_id.in_(ids),
            RecordHistory.action == "transition",
        )
        .group_by(RecordHistory.record_id)
    )
    found = dict(rows.all())
    return {rid: found.get(rid, 0) for rid in ids}


def current_round(session: Session, workspace_id: int, record_id: int) -> int:
    return rounds_of(session, workspace_id, [record_id])[record_id]


def role_members(session: Session, workspace_id: int, role: str) -> frozenset[int]:
    """The active users who hold ``role`` in the workspace (named in their membership)."""
    rows = session.execute(
        select(Membership.user_id, Membership.roles)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id, User.is_active.is_(True))
    )
    return frozenset(user_id for user_id, roles in rows if role in (roles or ()))


@dataclass(frozen=True)
class ApprovalStatus:
    """The decisions on one transition in one round, against what it needs."""

    role: str
    mode: str
    round: int
    approved: frozenset[int]
    rejected: frozenset[int]
    members: frozenset[int] | None = None  # mode "all": who must approve
    count: int = 1

    @property
    def needed(self) -> int:
        return len(self.members or ()) if self.mode == "all" else self.count

    @property
    def received(self) -> int:
        if self.mode == "all":
            return len(self.approved & (self.members or frozenset()))
        return len(self.approved)

    @property
    def complete(self) -> bool:
        if self.rejected:
            return False
        if self.mode == "all":
            return bool(self.members) and self.members <= self.approved
        return len(self.approved) >= self.count

    def decided(self, user_id: int | None) -> bool:
        return user_id in self.approved or user_id in self.rejected

    def problem(self) -> str | None:
        """Why the approvals do not yet allow the transition (None when they do)."""
        if self.rejected:
            return "rejected in this round: it may be approved again once the record comes back to this state"  # noqa: E501
        if self.mode == "all" and not self.members:
            return f"no member holds the role '{self.role}' to approve"
        if self.complete:
            return None
        missing = self.needed - self.received
        return f"approvals missing: {missing} of {self.needed} from role '{self.role}'"

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "mode": self.mode,
            "round": self.round,
            "needed": self.needed,
            "received": self.received,
            "rejected": len(self.rejected),
            "complete": self.complete,
        }


def approval_status(
    session: Session,
    workspace_id: int,
    record_id: int,
    transition: Transition,
    round_: int | None = None,
) -> ApprovalStatus | None:
    """The decisions on ``transition`` of a record in its current round (None: the transition
    needs no approvals)."""
    rule = transition.approvals
    if rule is None:
        return None
    if round_ is None:
        round_ = current_round(session, workspace_id, record_id)
    rows = session.execute(
        select(Approval.user_id, Approval.decision).where(
            Approval.workspace_id == workspace_id,
            Approval.record_id == record_id,
            Approval.transition == transition.key,
            Approval.round == round_,
        )
    ).all()
    members = role_members(session, workspace_id, rule.role) if rule.mode == "all" else None
    return ApprovalStatus(
        rule.role,
        rule.mode,
        round_,
        frozenset(u for u, d in rows if d == APPROVE),
        frozenset(u for u, d in rows if d == REJECT),
        members,
        rule.count,
    )


# -- deciding ---------------------------------------------------------------------------


def workflow_transition(records: EntityRecords, name: str) -> tuple[Workflow, Transition]:
    """The entity's workflow and its transition ``name``, or NotFound."""
    workflow = records.workflow()
    if workflow is None:
        raise NotFound(f"'{records.definition.key}' has no workflow.")
    transition = workflow.transitions.get(name)
    if transition is None:
        raise NotFound(f"The workflow of '{records.definition.key}' has no transition '{name}'.")
    return workflow, transition


def _append(
    actor: Actor, records: EntityRecords, record: Record, action: str, diff: dict, reason: Any
) -> None:
    change = Change(record.id, records.entity_id, action, diff, actor.user_id, reason)
    session = records.session
    append_history(session, actor.workspace_id, [change])


def decide(
    session: Session,
    actor: Actor,
    app_key: str,
    entity_key: str,
    record_id: int,
    transition: str,
    decision: str,
    comment: str | None = None,
) -> Approval:
    """Record the actor's approval or rejection of ``transition`` in the current round."""
    if decision not in (APPROVE, REJECT):
        raise ValidationFailed(
            "Decide 'approve' or 'reject'.", errors=[error("/decision", "approve or reject")]
        )
    actor.require_write()
    records = RecordStore(session, actor).entity(app_key, entity_key)
    workflow, step = workflow_transition(records, transition)
    record = records.get(record_id, for_update=True)
    state = workflow.state_of(record)
    if step.approvals is None:
        raise Conflict(
            f"Transition '{step.key}' needs no approvals.",
            errors=[error("/transition", "needs no approvals")],
        )
    role = step.approvals.role
    if actor.user_id is None or not actor.has_role(role):
        raise PermissionDenied(f"Approving '{step.key}' needs the role '{role}'.")
    if not step.leaves(state):
        raise Conflict(
            f"Record {record.id} is in state '{state}'; '{step.key}' cannot be approved there.",
            errors=[error("/state", f"'{step.key}' does not start from '{state}'")],
        )
    status = approval_status(session, actor.workspace_id, record.id, step)
    if status.decided(actor.user_id):
        raise Conflict(
            f"You have already decided on '{step.key}' in this round.",
            errors=[error("/decision", "already decided in this round")],
        )
    if status.rejected:
        raise Conflict(
            f"'{step.key}' was rejected in this round; it may be decided again once the "
            "record comes back to this state.",
            errors=[error("/decision", "rejected in this round")],
        )
    comment = comment.strip()[:2000] if isinstance(comment, str) and comment.strip() else None
    approval = Approval(
        workspace_id=actor.workspace_id,
        record_id=record.id,
        transition=step.key,
        round=status.round,
        user_id=actor.user_id,
        decision=decision,
        comment=comment,
        at=utcnow(),
    )
    session.add(approval)
    session.flush()
    diff = {"_approval": {"transition": step.key, "decision": decision, "round": status.round}}
    _append(actor, records, record, decision, diff, comment)
    return approval


def approve(
    session: Session,
    actor: Actor,
    app_key: str,
    entity_key: str,
    record_id: int,
    transition: str,
    comment: str | None = None,
) -> Approval:
    """The actor approves ``transition`` of a record (members of the approving role, once)."""
    return decide(session, actor, app_key, entity_key, record_id, transition, APPROVE, comment)


def reject(
    session: Session,
    actor: Actor,
    app_key: str,
    entity_key: str,
    record_id: int,
    transition: str,
    comment: str | None = None,
) -> Approval:
    """The actor rejects ``transition``: it cannot fire until the record's next round."""
    return decide(session, actor, app_key, entity_key, record_id, transition, REJECT, comment)


# -- assignments ------------------------------------------------------------------------


def _assignee(session: Session, actor: Actor, user: Any) -> User:
    query = select(User).join(Membership, Membership.user_id == User.id)
    query = query.where(Membership.workspace_id == actor.workspace_id)
    if isinstance(user, int) and not isinstance(user, bool):
        found = session.scalar(query.where(User.id == user))
    elif isinstance(user, str):
        found = session.scalar(query.where(User.username == user))
    else:
        found = None
    if found is None or not found.is_active:
        raise ValidationFailed(
            "No such member.", errors=[error("/user", "not a member of this workspace")]
        )
    return found


def assign(
    session: Session,
    actor: Actor,
    app_key: str,
    entity_key: str,
    record_id: int,
    *,
    user: int | str | None = None,
    role: str | None = None,
    due_at: datetime | None = None,
) -> Assignment:
    """Put a record in the hands of a member (id or username) or of a role, optionally due by
    ``due_at``; whoever may change the record may assign it."""
    actor.require_write()
    if (user is None) == (role is None):
        raise ValidationFailed(
            "Assign to a user or to a role.", errors=[error("", "give either user or role")]
        )
    records = RecordStore(session, actor).entity(app_key, entity_key)
    record = records.get(record_id, for_update=True, action="update")
    assignee = _assignee(session, actor, user) if user is not None else None
    if role is not None and role not in workspace_roles(session, actor.workspace_id):
        raise ValidationFailed("No such role.", errors=[error("/role", f"no role '{role}'")])
    if due_at is not None and due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)
    assignment = Assignment(
        workspace_id=actor.workspace_id,
        record_id=record.id,
        user_id=assignee.id if assignee else None,
        role=role,
        due_at=due_at,
        assigned_by=actor.user_id,
        assigned_at=utcnow(),
    )
    session.add(assignment)
    session.flush()
    detail = {
        "user": assignee.username if assignee else None,
        "role": role,
        "due_at": due_at.isoformat() if due_at else None,
    }
    _append(actor, records, record, "assign", {"_assignment": detail}, None)
    return assignment


def close_assignments(session: Session, record_id: int) -> None:
    """Mark a record's open assignments done (it moved on to another state)."""
    session.execute(
        update(Assignment)
        .where(Assignment.record_id == record_id, Assignment.done_at.is_(None))
        .values(done_at=utcnow())
    )


# -- my tasks and overdue assignments -----------------------------------------------------


@dataclass(frozen=True)
class Task:
    """Something waiting for the actor: an approval to give or an assignment."""

    kind: str  # approval, assignment
    app: str
    entity: str
    record_id: int
    state: str | None
    transition: str | None = None
    assignment_id: int | None = None
    due_at: datetime | None = None
    assigned_to: str | None = None  # username or "role:<key>"


def _entities(session: Session, actor: Actor, app_key: str, entity_key: str) -> Any:
    try:
        records = RecordStore(session, actor).entity(app_key, entity_key)
    except (NotFound, PermissionDenied):
        return None
    return records if records.access.allows("read") else None


def approval_tasks(session: Session, actor: Actor) -> list[Task]:
    """Records waiting for the actor's approval: in a state a transition needing the actor's
    role starts from, with no decision of the actor and no rejection in the current round."""
    if actor.user_id is None:
        return []
    tasks = []
    for app in list_apps(session, actor):
        for workflow in app_workflows(session, actor.workspace_id, app.id):
            steps = [
                t
                for t in workflow.transitions.values()
                if t.approvals and actor.has_role(t.approvals.role)
            ]
            records = _entities(session, actor, app.key, workflow.entity) if steps else None
            if records is None:
                continue
            for step in steps:
                tasks += _waiting(session, actor, records, workflow, step)
    return tasks


def _waiting(
    session: Session, actor: Actor, records: EntityRecords, workflow: Workflow, step: Transition
) -> list[Task]:
    query = records._live()  # the actor's workspace, entity and row scope
    if "*" not in step.sources:
        condition = Record.state.in_(sorted(step.sources))
        if workflow.initial in step.sources:
            condition = or_(condition, Record.state.is_(None))
        query = query.where(condition)
    candidates = list(session.scalars(query.order_by(Record.id).limit(MAX_TASKS_PER_STEP)))
    if not candidates:
        return []
    rounds = rounds_of(session, actor.workspace_id, [r.id for r in candidates])
    decided = session.execute(
        select(Approval.record_id, Approval.round, Approval.user_id, Approval.decision).where(
            Approval.workspace_id == actor.workspace_id,
            Approval.record_id.in_(list(rounds)),
            Approval.transition == step.key,
        )
    ).all()
    blocked = {
        rid
        for rid, rnd, uid, decision in decided
        if rnd == rounds[rid] and (uid == actor.user_id or decision == REJECT)
    }
    return [
        Task(
            "approval",
            records.published.app.key,
            workflow.entity,
            r.id,
            workflow.state_of(r),
            transition=step.key,
        )  # fmt: skip
        for r in candidates
        if r.id not in blocked
    ]


def _open_assignments(session: Session, actor: Actor, *conditions: Any) -> list[Task]:
    rows = session.execute(
        select(Assignment, Record.state, Entity.key, App.key, User.username)
        .join(Record, Record.id == Assignment.record_id)
        .join(Entity, Entity.id == Record.entity_id)
        .join(App, App.id == Entity.app_id)
        .outerjoin(User, User.id == Assignment.user_id)
        .where(
            Assignment.workspace_id == actor.workspace_id,
            Record.workspace_id == actor.workspace_id,
            Assignment.done_at.is_(None),
            Record.deleted_at.is_(None),
            *conditions,
        )
        .order_by(Assignment.due_at, Assignment.id)
    ).all()
    wanted: dict[tuple[str, str], set[int]] = defaultdict(set)
    for assignment, _state, entity_key, app_key, _name in rows:
        wanted[(app_key, entity_key)].add(assignment.record_id)
    readable: set[int] = set()
    for (app_key, entity_key), ids in wanted.items():
        records = _entities(session, actor, app_key, entity_key)
        if records is not None:
            readable |= set(records.get_many(ids))
    return [
        Task(
            "assignment",
            app_key,
            entity_key,
            a.record_id,
            state,
            assignment_id=a.id,
            due_at=a.due_at,
            assigned_to=name if a.user_id else f"role:{a.role}",
        )  # fmt: skip
        for a, state, entity_key, app_key, name in rows
        if a.record_id in readable
    ]


def my_tasks(session: Session, actor: Actor) -> list[Task]:
    """Approvals the actor may still give, then open assignments to them or their roles."""
    if actor.user_id is None:
        return []
    mine = or_(Assignment.user_id == actor.user_id, Assignment.role.in_(sorted(actor.roles)))
    return approval_tasks(session, actor) + _open_assignments(session, actor, mine)


def overdue_assignments(session: Session, actor: Actor, now: datetime | None = None) -> list[Task]:
    """Open assignments past their due time, on records the actor may read."""
    now = now or utcnow()
    return _open_assignments(
        session, actor, Assignment.due_at.is_not(None), Assignment.due_at < now
    )
