"""What an automation's actions do, one function per action type.

Each function gets the run (session, automation actor, expression names, the triggering
record) and the action, does its effect inside the run's current transaction and returns
``(result, after_commit)``: a JSON-able result kept on the action's receipt, and an
optional callable for effects that must wait for the commit (e-mail). The runner writes
the receipt in the same transaction and commits (see :mod:`jizuo.platform.automation_runner`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.automations import evaluate_values, render_json, render_text
from jizuo.platform.records import RecordStore
from jizuo.platform.registry import pack_function

Result = tuple[dict[str, Any], Callable[[], None] | None]


class ActionFailed(RuntimeError):
    """An action could not take effect (the job fails and is retried)."""


@dataclass
class Run:
    """One run of one automation for one trigger."""

    session: Session
    actor: Actor
    app_key: str
    key: str
    names: dict[str, Any]
    #: ``(app_key, entity_key, record_id)`` of the triggering record (record triggers).
    trigger: tuple[str, str, int] | None = None
    #: The references of the triggering record's definition: field -> "app.entity".
    references: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.app_key}.{self.key}"


def _target(run: Run, target: Any) -> tuple[str, str, int] | None:
    """``(app, entity, id)`` of an action's target, None when a reference is empty."""
    if run.trigger is None:
        raise ActionFailed("this automation has no triggering record to act on")
    if target == "trigger":
        return run.trigger
    name = target["reference"]
    ref = run.references.get(name)
    if ref is None:
        raise ActionFailed(f"'{name}' is not a reference field")
    record_id = (run.names.get("record") or {}).get(name)
    if record_id is None:
        return None
    app_key, _, entity_key = ref.partition(".")
    return app_key, entity_key, record_id


def create_record(run: Run, action: dict[str, Any], receipt_key: str) -> Result:
    app_key, _, entity_key = action["entity"].partition(".")
    values = evaluate_values(action["values"], run.names)
    values = {k: v for k, v in values.items() if v is not None}
    store = RecordStore(run.session, run.actor).entity(app_key, entity_key)
    record = store.create(values, reason=f"automation {run.label}")
    return {"record_id": record.id, "entity": action["entity"]}, None


def update_record(run: Run, action: dict[str, Any], receipt_key: str) -> Result:
    target = _target(run, action["target"])
    if target is None:
        return {"skipped": "the reference is empty"}, None
    app_key, entity_key, record_id = target
    store = RecordStore(run.session, run.actor).entity(app_key, entity_key)
    record = store.get(record_id, for_update=True)
    patch = evaluate_values(action["values"], run.names)
    updated = store.update(record_id, patch, record.version, reason=f"automation {run.label}")
    return {"record_id": record_id, "version": updated.version}, None


def transition(run: Run, action: dict[str, Any], receipt_key: str) -> Result:
    from jizuo.platform.transitions import apply_transition  # the workflow engine

    target = _target(run, action["target"])
    if target is None:
        return {"skipped": "the reference is empty"}, None
    app_key, entity_key, record_id = target
    comment = render_text(action.get("comment") or f"automation {run.label}", run.names)
    apply_transition(
        run.session, run.actor, app_key, entity_key, record_id, action["name"], comment=comment
    )
    return {"record_id": record_id, "transition": action["name"]}, None


def webhook(run: Run, action: dict[str, Any], receipt_key: str) -> Result:
    from jizuo.platform.webhooks import call_webhook

    body = render_json(action.get("body", {}), run.names)
    secret = None
    if action.get("secret"):
        secret = (current_app.config.get("WEBHOOK_SECRETS") or {}).get(action["secret"])
        if not secret:
            raise ActionFailed(
                f"no webhook secret '{action['secret']}' is configured (JIZUO_WEBHOOK_SECRETS)"
            )
    raw = json.dumps(body, ensure_ascii=False, default=str, separators=(",", ":")).encode()
    status = call_webhook(
        action["url"], raw, idempotency_key=receipt_key, secret=secret,
        timeout=float(action.get("timeout", 10)),
    )  # fmt: skip
    return {"status": status}, None


def notify(run: Run, action: dict[str, Any], receipt_key: str) -> Result:
    from jizuo.platform import notifications

    text = render_text(action["text"], run.names)
    link = render_text(action["link"], run.names) if action.get("link") else None
    if link is None and run.trigger is not None:
        app_key, entity_key, record_id = run.trigger
        link = f"/apps/{app_key}/{entity_key}/{record_id}"
    users = notifications.recipients(
        run.session, run.actor.workspace_id, action.get("users", ()), action.get("roles", ())
    )
    notifications.notify(run.session, run.actor.workspace_id, [u.id for u in users], text, link)
    after = None
    if action.get("email", True):
        addresses = [u.email for u in users if u.email]
        config = dict(current_app.config)
        if addresses and config.get("SMTP_HOST"):

            def after() -> None:
                notifications.send_email(config, addresses, text, link)

    return {"users": sorted(u.id for u in users)}, after


def call(run: Run, action: dict[str, Any], receipt_key: str) -> Result:
    fn = pack_function(action["function"])
    args = evaluate_values(action.get("args", {}), run.names)
    result = fn(run.session, run.actor, **args)
    try:
        json.dumps(result)
    except (TypeError, ValueError):
        result = repr(result)
    return {"value": result}, None


ACTIONS: dict[str, Callable[[Run, dict[str, Any], str], Result]] = {
    "create_record": create_record,
    "update_record": update_record,
    "transition": transition,
    "webhook": webhook,
    "notify": notify,
    "call": call,
}
