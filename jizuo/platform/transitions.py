"""Moving records through their workflow: which transitions an actor may take now, and
taking one.

``apply_transition`` checks, in this order, and refuses with the first failing stage's
reasons (nothing is written when it refuses):

1. the record is readable and updatable by the actor (the record store's ``get``), the
   ``If-Match`` version if given;
2. the actor's rights: the transition granted by the permission policy
   (``EntityAccess.may_transition``) and one of the transition's own ``roles`` (403);
3. the record's state is one the transition starts from (409);
4. the comment and the electronic signature (password and meaning) when required (422);
5. the approvals of the current round are complete (409);
6. ``values`` (a JSON merge patch) applied through the record store, so validation, field
   levels and row scopes apply; then the guard and the required fields on the result (422).

Then the state changes, the version goes up, one ``transition`` audit entry is appended
(``{"_state": [from, to]}`` and, when signed, ``{"_signature": {...}}``; the comment is its
reason), a ``transitioned`` record event is emitted and the record's open assignments are
done. Callers own the transaction; the steps run in a savepoint, so a refusal leaves the
caller's transaction as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.approvals import (
    ApprovalStatus,
    approval_status,
    close_assignments,
    workflow_transition,
)
from jizuo.platform.audit import Change, append_history
from jizuo.platform.auth import check_password
from jizuo.platform.errors import (
    Conflict,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
    error,
)
from jizuo.platform.events import TRANSITIONED, RecordEvent, emit
from jizuo.platform.expressions import ExpressionError, evaluate
from jizuo.platform.models import Record, User, utcnow
from jizuo.platform.records import EntityRecords, RecordStore
from jizuo.platform.row_scope import stored_record_names
from jizuo.platform.validation import is_empty
from jizuo.platform.workflows import Transition, Workflow

MAX_COMMENT = 2000


@dataclass(frozen=True)
class TransitionOption:
    """A transition leaving the record's current state, and whether the actor may take it now
    (``reasons`` are the errors that would refuse it, empty when ``allowed``)."""

    name: str
    title: Any
    to: str
    allowed: bool
    reasons: tuple[dict[str, str], ...] = ()
    comment_required: bool = False
    signature_meanings: tuple[str, ...] = ()
    approvals: ApprovalStatus | None = None
    may_approve: bool = False
    #: Whether the actor holds the rights to take it at all (role, permission policy); the page
    #: offers a transition it cannot take now only to such actors, with the reasons.
    permitted: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "to": self.to,
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "comment_required": self.comment_required,
            "signature": {"meanings": list(self.signature_meanings)}
            if self.signature_meanings
            else None,
            "approvals": self.approvals.as_json() if self.approvals else None,
            "may_approve": self.may_approve,
        }


# -- the checks -----------------------------------------------------------------------------


def _rights_errors(records: EntityRecords, record: Record, step: Transition) -> list[dict]:
    actor, access = records.actor, records.access
    if actor.read_only:
        return [error("", "this credential is read-only", "forbidden")]
    if not access.allows("update"):
        return [error("", f"you may not change '{records.definition.key}' records", "forbidden")]
    names = stored_record_names(records.definition, record)
    if not access.in_scope("update", names, records.user):
        return [error("", f"you may not change record {record.id}", "forbidden")]
    errors = []
    if not access.may_transition(step.key):
        errors.append(
            error("/transition", f"your role may not take the transition '{step.key}'", "forbidden")
        )
    if step.roles and not any(actor.has_role(role) for role in step.roles):
        needed = ", ".join(f"'{r}'" for r in step.roles)
        errors.append(error("/roles", f"'{step.key}' needs the role {needed}", "role"))
    return errors


def _state_errors(workflow: Workflow, record: Record, step: Transition) -> list[dict]:
    state = workflow.state_of(record)
    if step.leaves(state):
        return []
    sources = ", ".join(sorted(step.sources))
    message = f"the record is in state '{state}'; '{step.key}' starts from {sources}"
    return [error("/state", message, "state")]


def _data_errors(records: EntityRecords, data: dict[str, Any], step: Transition) -> list[dict]:
    """The guard and the required fields, on the record's data."""
    errors = []
    if step.guard:
        try:
            passed = bool(evaluate(step.guard, records.validator.names(data, records.user)))
            why = f"the condition `{step.guard}` is not met"
        except ExpressionError as exc:
            passed, why = False, f"the condition could not be evaluated: {exc}"
        if not passed:
            message = step.guard_message
            if isinstance(message, dict):
                message = message.get("en") or next(iter(message.values()))
            errors.append(error("/guard", f"{message} ({why})" if message else why, "guard"))
    for dotted in step.required_fields:
        value: Any = data
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if is_empty(value) or value == []:
            path = "/" + dotted.replace(".", "/")
            errors.append(error(path, f"required before entering '{step.to}'", "required"))
    return errors


def _approval_errors(status: ApprovalStatus | None) -> list[dict]:
    problem = status.problem() if status else None
    return [error("/approvals", problem, "approvals")] if problem else []


def _input_errors(step: Transition, comment: Any, signature: Any) -> list[dict]:
    errors = []
    if comment is not None and not isinstance(comment, str):
        errors.append(error("/comment", "must be text", "type"))
    elif step.comment_required and not (comment or "").strip():
        errors.append(error("/comment", f"'{step.key}' needs a comment", "required"))
    elif comment and len(comment) > MAX_COMMENT:
        errors.append(error("/comment", f"at most {MAX_COMMENT} characters", "too_long"))
    if step.signature_meanings:
        meanings = ", ".join(f"'{m}'" for m in step.signature_meanings)
        if not isinstance(signature, dict):
            message = f"'{step.key}' needs your signature: password and meaning ({meanings})"
            errors.append(error("/signature", message, "required"))
        else:
            if not isinstance(signature.get("password"), str) or not signature["password"]:
                errors.append(error("/signature/password", "enter your password", "required"))
            if signature.get("meaning") not in step.signature_meanings:
                errors.append(error("/signature/meaning", f"choose one of {meanings}", "invalid"))
    return errors


# -- what the actor may take now ---------------------------------------------------------


def available_transitions(
    session: Session, actor: Actor, app_key: str, entity_key: str, record: Record
) -> list[TransitionOption]:
    """Every transition leaving the record's state, in definition order, each saying whether
    the actor may take it now and if not why (the checks of ``apply_transition`` that do not
    need the request's input: rights, state, approvals, guard and required fields)."""
    records = RecordStore(session, actor).entity(app_key, entity_key)
    workflow = records.workflow()
    if workflow is None:
        return []
    records.get(record.id)  # readable by the actor, or NotFound
    options = []
    for step in workflow.leaving(workflow.state_of(record)):
        rights = _rights_errors(records, record, step)
        status = approval_status(session, actor.workspace_id, record.id, step)
        reasons = rights + _approval_errors(status) + _data_errors(records, record.data, step)
        may_approve = bool(
            status is not None
            and actor.user_id is not None
            and not actor.read_only
            and actor.has_role(status.role)
            and not status.decided(actor.user_id)
            and not status.rejected
        )
        options.append(
            TransitionOption(
                name=step.key,
                title=step.title,
                to=step.to,
                allowed=not reasons,
                reasons=tuple(reasons),
                comment_required=step.comment_required,
                signature_meanings=step.signature_meanings,
                approvals=status,
                may_approve=may_approve,
                permitted=not rights,
            )
        )
    return options


# -- taking a transition -----------------------------------------------------------------


def apply_transition(
    session: Session,
    actor: Actor,
    app_key: str,
    entity_key: str,
    record_id: int,
    name: str,
    *,
    expected_version: int | None = None,
    values: dict | None = None,
    comment: str | None = None,
    signature: dict | None = None,
) -> Record:
    """Take the transition ``name`` on a record, or refuse with the reasons (see the module's
    docstring for the checks); returns the record in its new state."""
    actor.require_write()
    records = RecordStore(session, actor).entity(app_key, entity_key)
    workflow, step = workflow_transition(records, name)
    with session.begin_nested():
        record = records.get(record_id, for_update=True, action="update")
        if expected_version is not None and record.version != expected_version:
            raise StaleVersion(
                f"Record {record.id} is at version {record.version}, not {expected_version}: "
                "it was changed by someone else. Reload it and try again.",
                current_version=record.version,
            )
        errors = _rights_errors(records, record, step)
        if errors:
            raise PermissionDenied(f"You may not take '{step.key}': {errors[0]['message']}.",
                                   errors=errors)  # fmt: skip
        errors = _state_errors(workflow, record, step)
        if errors:
            raise Conflict(f"'{step.key}' is not possible now: {errors[0]['message']}.",
                           errors=errors)  # fmt: skip
        from_state = workflow.state_of(record)
        if values is not None and not isinstance(values, dict):
            errors.append(error("/values", "must be a JSON object", "type"))
        errors += _input_errors(step, comment, signature)
        if errors:
            raise ValidationFailed(f"'{step.key}' needs more input.", errors=errors)
        signed = _signature(session, actor, signature) if step.signature_meanings else None
        errors = _approval_errors(approval_status(session, actor.workspace_id, record.id, step))
        if errors:
            raise Conflict(f"'{step.key}' is waiting: {errors[0]['message']}.", errors=errors)
        comment = comment.strip() if comment else None
        if values:
            record = records.update(record.id, values, record.version, reason=comment)
        errors = _data_errors(records, record.data, step)
        if errors:
            detail = "; ".join(e["message"] for e in errors)
            raise ValidationFailed(f"'{step.key}' is not possible: {detail}.", errors=errors)
        _move(records, record, step, from_state, comment, signed)
    session.refresh(record)
    return record


def _signature(session: Session, actor: Actor, signature: dict[str, Any]) -> dict[str, Any]:
    """The signature's audit entry, once the password is the actor's own (a wrong password is
    refused without saying more)."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not check_password(user, signature["password"]):
        raise ValidationFailed(
            "The signature could not be verified.",
            errors=[
                error("/signature/password", "the signature could not be verified", "signature")
            ],  # noqa: E501
        )
    return {
        "user": user.username,
        "name": user.display_name,
        "meaning": signature["meaning"],
        "at": datetime.now(UTC).isoformat(),
    }


def _move(
    records: EntityRecords,
    record: Record,
    step: Transition,
    from_state: str,
    comment: str | None,
    signed: dict[str, Any] | None,
) -> None:
    session, actor = records.session, records.actor
    result = session.execute(
        update(Record)
        .where(Record.id == record.id, Record.version == record.version)
        .values(
            state=step.to,
            version=Record.version + 1,
            updated_at=utcnow(),
            updated_by=actor.user_id,
        )
    )
    if result.rowcount != 1:  # pragma: no cover - the row lock makes this a last resort
        raise StaleVersion("The record was changed by someone else.")
    diff: dict[str, Any] = {"_state": [from_state, step.to]}
    if signed:
        diff["_signature"] = signed
    change = Change(record.id, records.entity_id, "transition", diff, actor.user_id, comment)
    close_assignments(session, record.id)
    [seq] = append_history(session, actor.workspace_id, [change])
    event = RecordEvent(
        TRANSITIONED,
        actor.workspace_id,
        records.entity_id,
        record.id,
        seq,
        actor.user_id,
        (),
        from_state,
        step.to,
        depth=actor.depth,
    )
    emit(session, [event])
