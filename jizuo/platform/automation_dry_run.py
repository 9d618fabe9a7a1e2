"""An automation tried on a record without doing anything: "test with record…".

The draft (or, without one, the published body) is run the way the runner would run it —
as the workspace's system actor, with the chosen record as the trigger — inside a
savepoint that is always rolled back. Record actions (create, update, transition) really
run in that savepoint, so they meet the same checks as a real run (required fields,
formulas, guards, rights) and later actions see what earlier ones did; what goes out of
the database is only described: a webhook's URL and body are rendered but never sent,
notifications are addressed but never written or mailed, and pack functions are named
with their arguments but never called (they may act outside the database).

The answer says whether the condition holds and, per action, what it would do or the
error it would hit; a real run stops at its first failing action, so the actions after
it are "not reached".
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.auth import system_actor
from jizuo.platform.automation_actions import ActionFailed, Run, _target
from jizuo.platform.automation_actions import create_record as run_create
from jizuo.platform.automation_actions import transition as run_transition
from jizuo.platform.automation_actions import update_record as run_update
from jizuo.platform.automations import (
    RECORD_TRIGGERS,
    check_automation,
    evaluate_values,
    render_json,
    render_text,
)
from jizuo.platform.catalog import get_app
from jizuo.platform.definitions import get_definition, published_body
from jizuo.platform.errors import JizuoError, NotFound, ValidationFailed, error
from jizuo.platform.expressions import ExpressionError, evaluate
from jizuo.platform.models import Record, Workspace
from jizuo.platform.notifications import recipients
from jizuo.platform.records import RecordStore
from jizuo.platform.row_scope import stored_record_names

#: What a failing action may raise; anything else is a fault of the platform, not the test.
FAILURES = (JizuoError, ExpressionError, ActionFailed)
EVENT_KINDS = {"created": "created", "updated": "updated", "state_entered": "transitioned"}


def _plain(value: Any) -> Any:
    """A JSON-able copy (dates and decimals as text)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _failure(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, JizuoError):
        return {"message": exc.detail, "errors": exc.errors}
    return {"message": str(exc), "errors": []}


def _trigger_names(
    session: Session, actor: Actor, trigger: dict[str, Any], record_id: Any, run: Run
) -> None:
    """Give the run the chosen record as its trigger (read with the tester's permissions)."""
    app_key, _, entity_key = trigger["entity"].partition(".")
    records = RecordStore(session, actor).entity(app_key, entity_key)
    if record_id is None or isinstance(record_id, bool):
        raise ValidationFailed(
            "Choose a record to test the automation with.",
            errors=[error("/record_id", "a record id", "required")],
        )
    try:
        record = records.get(int(record_id))
    except (TypeError, ValueError):
        raise ValidationFailed(
            "A record id is a whole number.", errors=[error("/record_id", "a whole number")]
        ) from None
    definition = records.definition
    run.trigger = (app_key, entity_key, record.id)
    run.references = {k: f.ref for k, f in definition.fields.items() if f.ref}
    run.names["record"] = stored_record_names(definition, record)
    on = trigger["on"]
    run.names["event"] = {
        "kind": EVENT_KINDS[on],
        "changed": list(trigger.get("fields", [])),
        "from_state": None,
        "to_state": record.state if on == "state_entered" else None,
        "depth": 0,
    }


def _record_data(session: Session, record_id: int) -> tuple[dict[str, Any], str | None]:
    row = session.execute(select(Record.data, Record.state).where(Record.id == record_id)).one()
    return dict(row.data), row.state


def _describe_create(run: Run, action: dict[str, Any]) -> dict[str, Any]:
    result, _after = run_create(run, action, "dry-run")
    data, state = _record_data(run.session, result["record_id"])
    return {"entity": action["entity"], "values": data, "state": state}


def _describe_update(run: Run, action: dict[str, Any]) -> dict[str, Any]:
    target = _target(run, action["target"])
    if target is None:
        return {"skipped": "the reference is empty"}
    app_key, entity_key, record_id = target
    before, _state = _record_data(run.session, record_id)
    run_update(run, action, "dry-run")
    after, _state = _record_data(run.session, record_id)
    changes = {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }
    return {"entity": f"{app_key}.{entity_key}", "record_id": record_id, "changes": changes}


def _describe_transition(run: Run, action: dict[str, Any]) -> dict[str, Any]:
    target = _target(run, action["target"])
    if target is None:
        return {"skipped": "the reference is empty"}
    app_key, entity_key, record_id = target
    _data, before = _record_data(run.session, record_id)
    run_transition(run, action, "dry-run")
    _data, after = _record_data(run.session, record_id)
    comment = render_text(action.get("comment") or f"automation {run.label}", run.names)
    return {
        "entity": f"{app_key}.{entity_key}",
        "record_id": record_id,
        "name": action["name"],
        "from_state": before,
        "to_state": after,
        "comment": comment,
    }


def _describe_webhook(run: Run, action: dict[str, Any]) -> dict[str, Any]:
    body = render_json(action.get("body", {}), run.names)
    secret = action.get("secret")
    if secret and not (current_app.config.get("WEBHOOK_SECRETS") or {}).get(secret):
        raise ActionFailed(f"no webhook secret '{secret}' is configured (JIZUO_WEBHOOK_SECRETS)")
    return {
        "url": action["url"],
        "body": body,
        "signed": bool(secret),
        "timeout": action.get("timeout", 10),
        "sent": False,
    }


def _describe_notify(run: Run, action: dict[str, Any]) -> dict[str, Any]:
    text = render_text(action["text"], run.names)
    link = render_text(action["link"], run.names) if action.get("link") else None
    if link is None and run.trigger is not None:
        app_key, entity_key, record_id = run.trigger
        link = f"/apps/{app_key}/{entity_key}/{record_id}"
    users = recipients(
        run.session, run.actor.workspace_id, action.get("users", ()), action.get("roles", ())
    )
    email = action.get("email", True) and bool(current_app.config.get("SMTP_HOST"))
    return {
        "text": text,
        "link": link,
        "users": [u.username for u in users],
        "email": [u.username for u in users if u.email] if email else [],
        "sent": False,
    }


def _describe_call(run: Run, action: dict[str, Any]) -> dict[str, Any]:
    args = evaluate_values(action.get("args", {}), run.names)
    return {"function": action["function"], "args": args, "called": False}


DESCRIBE = {
    "create_record": _describe_create,
    "update_record": _describe_update,
    "transition": _describe_transition,
    "webhook": _describe_webhook,
    "notify": _describe_notify,
    "call": _describe_call,
}


def dry_run_automation(
    session: Session,
    actor: Actor,
    app_key: str,
    key: str,
    record_id: Any = None,
    *,
    payload: Any = None,
) -> dict[str, Any]:
    """What the automation's draft would do if it fired now for ``record_id`` (record
    triggers) or with ``payload`` (webhook triggers), writing and sending nothing.

    ``{"condition": {"expression", "value"|"error"}, "actions": [{"index", "type",
    "status": "ok"|"skipped"|"error"|"not_reached", "detail"|"error"}]}``
    """
    actor.require_design()
    found = get_definition(session, actor, app_key, "automation", key)
    body = found.draft if found.draft is not None else published_body(session, found)
    if body is None:
        raise NotFound(f"Automation '{key}' has no draft.")
    check_automation(session, actor, get_app(session, actor, app_key), key, body)
    workspace = session.get(Workspace, actor.workspace_id)
    names = {"now": datetime.now(UTC).isoformat(), "payload": payload, "record": None}
    run = Run(session, replace(system_actor(workspace), depth=1), app_key, key, names)
    run.names["event"] = None
    trigger = body["trigger"]
    if trigger["on"] in RECORD_TRIGGERS:
        _trigger_names(session, actor, trigger, record_id, run)
    answer: dict[str, Any] = {"trigger": _plain(run.names.get("record")), "actions": []}
    savepoint = session.begin_nested()
    try:
        go = _condition(body.get("condition"), run, answer)
        for index, action in enumerate(body["actions"]):
            row: dict[str, Any] = {"index": index, "type": action["type"]}
            answer["actions"].append(row)
            if not go:
                row["status"] = "not_reached"
                continue
            try:
                with session.begin_nested():
                    detail = DESCRIBE[action["type"]](run, action)
            except FAILURES as exc:
                row.update(status="error", error=_failure(exc))
                go = False
                continue
            row["status"] = "skipped" if "skipped" in detail else "ok"
            row["detail"] = _plain(detail)
    finally:
        savepoint.rollback()
    return answer


def _condition(condition: str | None, run: Run, answer: dict[str, Any]) -> bool:
    """Whether the condition holds (recorded in the answer); no condition always holds."""
    if not condition:
        answer["condition"] = {"expression": None, "value": True}
        return True
    try:
        value = bool(evaluate(condition, run.names))
    except ExpressionError as exc:
        answer["condition"] = {"expression": condition, "value": None, "error": str(exc)}
        return False
    answer["condition"] = {"expression": condition, "value": value}
    return value
