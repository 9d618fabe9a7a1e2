"""Workflow actions on records: transitions, approvals, assignments; the caller's tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, g, jsonify, request

from jizuo.platform.api import api
from jizuo.platform.api.problems import if_match_version, json_body
from jizuo.platform.api.serialize import iso_time, record_json
from jizuo.platform.approvals import (
    Task,
    assign,
    decide,
    my_tasks,
    overdue_assignments,
)
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest, ValidationFailed, error
from jizuo.platform.models import Approval, Assignment
from jizuo.platform.records import RecordStore
from jizuo.platform.transitions import apply_transition, available_transitions

RECORD = "/apps/<app_key>/entities/<entity_key>/records/<int:record_id>"


def _body(allowed: set[str]) -> dict[str, Any]:
    """The JSON body (an empty body is an empty object); unknown keys are refused."""
    body = json_body() if request.get_data(cache=True) else {}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown key '{unknown[0]}'; send {', '.join(sorted(allowed))}.",
            errors=[error(f"/{k}", "unknown key", "unknown") for k in unknown],
        )
    return body


def task_json(task: Task) -> dict[str, Any]:
    return {
        "kind": task.kind,
        "app": task.app,
        "entity": task.entity,
        "record_id": task.record_id,
        "state": task.state,
        "transition": task.transition,
        "assignment_id": task.assignment_id,
        "assigned_to": task.assigned_to,
        "due_at": iso_time(task.due_at),
        "href": f"/apps/{task.app}/{task.entity}/{task.record_id}",
    }


def approval_json(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "record_id": approval.record_id,
        "transition": approval.transition,
        "round": approval.round,
        "user_id": approval.user_id,
        "decision": approval.decision,
        "comment": approval.comment,
        "at": iso_time(approval.at),
    }


def assignment_json(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "record_id": assignment.record_id,
        "user_id": assignment.user_id,
        "role": assignment.role,
        "due_at": iso_time(assignment.due_at),
        "assigned_by": assignment.assigned_by,
        "assigned_at": iso_time(assignment.assigned_at),
        "done_at": iso_time(assignment.done_at),
    }


@api.get(f"{RECORD}/transitions")
def list_transitions(app_key: str, entity_key: str, record_id: int) -> Response:
    session = get_session()
    records = RecordStore(session, g.actor).entity(app_key, entity_key)
    record = records.get(record_id)
    workflow = records.workflow()
    options = available_transitions(session, g.actor, app_key, entity_key, record)
    return jsonify(
        {
            "state": workflow.state_of(record) if workflow else None,
            "version": record.version,
            "items": [option.as_json() for option in options],
        }
    )


@api.post(f"{RECORD}/transitions/<name>")
def take_transition(app_key: str, entity_key: str, record_id: int, name: str) -> Response:
    body = _body({"values", "comment", "signature"})
    expected = if_match_version() if request.headers.get("If-Match") else None
    session = get_session()
    record = apply_transition(
        session,
        g.actor,
        app_key,
        entity_key,
        record_id,
        name,
        expected_version=expected,
        values=body.get("values"),
        comment=body.get("comment"),
        signature=body.get("signature"),
    )
    session.commit()
    records = RecordStore(session, g.actor).entity(app_key, entity_key)
    response = jsonify(record_json(record, f"{app_key}.{entity_key}", records.visible))
    response.headers["ETag"] = f'"{record.version}"'
    return response


@api.post(f"{RECORD}/approvals/<transition>")
def decide_approval(
    app_key: str, entity_key: str, record_id: int, transition: str
) -> tuple[Response, int]:
    body = _body({"decision", "comment"})
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ValidationFailed("The comment must be text.", errors=[error("/comment", "text")])
    session = get_session()
    approval = decide(
        session,
        g.actor,
        app_key,
        entity_key,
        record_id,
        transition,
        body.get("decision"),
        comment,
    )
    session.commit()
    return jsonify(approval_json(approval)), 201


def _due_at(raw: Any) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "'due_at' is not a date-time.",
            errors=[error("/due_at", "an ISO 8601 date-time, e.g. 2025-01-31T17:00:00Z")],
        ) from None


@api.post(f"{RECORD}/assignments")
def create_assignment(app_key: str, entity_key: str, record_id: int) -> tuple[Response, int]:
    body = _body({"user", "role", "due_at"})
    session = get_session()
    assignment = assign(
        session,
        g.actor,
        app_key,
        entity_key,
        record_id,
        user=body.get("user"),
        role=body.get("role"),
        due_at=_due_at(body.get("due_at")),
    )
    session.commit()
    return jsonify(assignment_json(assignment)), 201


@api.get("/tasks")
def list_tasks() -> Response:
    tasks = my_tasks(get_session(), g.actor)
    return jsonify({"items": [task_json(t) for t in tasks]})


@api.get("/assignments/overdue")
def list_overdue() -> Response:
    tasks = overdue_assignments(get_session(), g.actor)
    return jsonify({"items": [task_json(t) for t in tasks]})
