"""Running automations: the record-event listener, the schedule check and the job.

* The listener runs inside the writer's transaction: for each event and each live
  automation it fires, it enqueues one ``platform.run_automation`` job keyed
  ``auto:{definition}:v{version}:{event.key}``, so the job exists if and only if the
  change committed, and a duplicate delivery of the event finds the same job.
* The job runs as the workspace's system actor one automation deeper than the change
  (``depth``); past ``JIZUO_AUTOMATION_MAX_DEPTH`` (5) it stops with
  "automation loop stopped at depth N". It checks the condition, then runs the actions in
  order, each in its own transaction together with an ``ActionReceipt`` keyed
  ``…:{event.key}:{index}``: a retried or duplicated job skips what has a receipt, so
  database effects happen once. Webhook calls are retried until a 2xx answer and carry
  the receipt key as ``Idempotency-Key``; e-mails go after their commit (at most once).
* ``run_due_schedules(app, now)`` enqueues the runs of schedule-triggered automations
  whose cron time has come (registered as the periodic function ``automations.schedules``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jizuo.platform.auth import system_actor
from jizuo.platform.automation_actions import ACTIONS, Run
from jizuo.platform.automations import (
    Automation,
    automation_version,
    due_time,
    workspace_automations,
)
from jizuo.platform.catalog import published_of
from jizuo.platform.db import new_session
from jizuo.platform.events import RecordEvent, on_record_events
from jizuo.platform.expressions import evaluate
from jizuo.platform.jobs import JobContext, PermanentJobError, enqueue
from jizuo.platform.models import (
    ActionReceipt,
    App,
    DefinitionVersion,
    Entity,
    Job,
    Record,
    Workspace,
)
from jizuo.platform.periodic import register_periodic
from jizuo.platform.registry import job
from jizuo.platform.row_scope import stored_record_names

log = logging.getLogger(__name__)

JOB = "platform.run_automation"
DEFAULT_MAX_DEPTH = 5
#: How late a scheduled run may still start (a scheduler that was down catches up this far).
SCHEDULE_CATCH_UP = timedelta(hours=1)


class AutomationLoopStopped(PermanentJobError):
    """An automation would run deeper than the configured maximum."""


def _run_key(automation_id: int, version: int, occurrence: str) -> str:
    return f"auto:{automation_id}:v{version}:{occurrence}"


def enqueue_run(
    session: Session,
    automation: Automation,
    workspace_id: int,
    occurrence: str,
    *,
    event: RecordEvent | None = None,
    payload: Any = None,
) -> Job:
    """Record the job of one run (dispatched when ``session`` commits; once per key)."""
    args: dict[str, Any] = {
        "definition_id": automation.definition_id,
        "version": automation.version,
        "occurrence": occurrence,
    }
    if event is not None:
        args["event"] = {**asdict(event), "changed": list(event.changed)}
    if payload is not None:
        args["payload"] = payload
    return enqueue(
        session,
        JOB,
        args,
        workspace_id=workspace_id,
        idempotency_key=_run_key(automation.definition_id, automation.version, occurrence),
    )


@on_record_events
def _on_record_events(session: Session, events: list[RecordEvent]) -> None:
    """Enqueue a run of every live automation an event fires (in the writer's transaction)."""
    by_workspace: dict[int, Any] = {}
    for event in events:
        live = by_workspace.get(event.workspace_id)
        if live is None:
            live = by_workspace[event.workspace_id] = workspace_automations(
                session, event.workspace_id
            )
        for automation in live.by_entity.get(event.entity_id, ()):
            if not automation.matches(event):
                continue
            if session.in_nested_transaction():
                _defer(session, automation, event)
            else:
                enqueue_run(session, automation, event.workspace_id, event.key, event=event)


# A job enqueued inside a SAVEPOINT (a workflow transition uses one) would be dispatched
# when the savepoint is released, before the real commit: such runs wait for the
# outermost commit instead, and are dropped with a savepoint that rolls back.
_PENDING = "jizuo.automation_runs"


def _defer(session: Session, automation: Automation, event: RecordEvent) -> None:
    if _PENDING not in session.info:
        session.info[_PENDING] = []
        sa_event.listen(session, "before_commit", _enqueue_deferred)
        sa_event.listen(session, "after_soft_rollback", _drop_deferred)
    session.info[_PENDING].append((session.get_nested_transaction(), automation, event))


def _enqueue_deferred(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending, session.info[_PENDING] = session.info.get(_PENDING, []), []
    for _savepoint, automation, event in pending:
        enqueue_run(session, automation, event.workspace_id, event.key, event=event)


def _drop_deferred(session: Session, previous: Any) -> None:
    def inside(transaction: Any) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    pending = session.info.get(_PENDING, [])
    session.info[_PENDING] = [p for p in pending if not inside(p[0])]


# -- schedules ------------------------------------------------------------------------


def run_due_schedules(app: Flask, now: datetime | None = None) -> int:
    """Enqueue every schedule-triggered automation whose latest cron time (at or before
    ``now``, in its time zone) is within the catch-up window and after its publishing;
    idempotent per automation and cron time. Returns how many runs were enqueued."""
    now = now or datetime.now(UTC)
    enqueued = 0
    with app.app_context():
        session = new_session(app, write=True)
        try:
            for workspace_id in session.scalars(select(Workspace.id).order_by(Workspace.id)):
                for automation in workspace_automations(session, workspace_id).scheduled:
                    trigger = automation.trigger
                    due = due_time(trigger["cron"], trigger.get("timezone"), now)
                    published_at = session.scalar(
                        select(DefinitionVersion.published_at).where(
                            DefinitionVersion.definition_id == automation.definition_id,
                            DefinitionVersion.version == automation.version,
                        )
                    )
                    if published_at.tzinfo is None:
                        published_at = published_at.replace(tzinfo=UTC)
                    if due < published_at or now - due > SCHEDULE_CATCH_UP:
                        continue
                    occurrence = "cron:" + due.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
                    key = _run_key(automation.definition_id, automation.version, occurrence)
                    if session.scalar(select(Job.id).where(Job.idempotency_key == key)):
                        continue
                    enqueue_run(session, automation, workspace_id, occurrence)
                    enqueued += 1
            session.commit()
        finally:
            session.close()
    return enqueued


register_periodic("automations.schedules", run_due_schedules, every_seconds=60)


# -- the job --------------------------------------------------------------------------


@job(JOB)
def run_automation(
    ctx: JobContext,
    definition_id: int,
    version: int,
    occurrence: str,
    event: dict[str, Any] | None = None,
    payload: Any = None,
) -> dict[str, Any]:
    """Run one automation for one trigger: condition, then each action exactly once."""
    session = ctx.session
    found = automation_version(session, definition_id, version)
    if found is None:
        return {"skipped": "the automation no longer exists"}
    definition, body, app_key = found
    if not definition.enabled:
        return {"skipped": "the automation is switched off"}
    record_event = None
    if event is not None:
        record_event = RecordEvent(**{**event, "changed": tuple(event["changed"])})
        if record_event.workspace_id != definition.workspace_id:
            raise ValueError("the event is of another workspace")  # never crosses workspaces
    depth = (record_event.depth if record_event else 0) + 1
    max_depth = int(current_app.config.get("AUTOMATION_MAX_DEPTH") or DEFAULT_MAX_DEPTH)
    if depth > max_depth:
        raise AutomationLoopStopped(
            f"automation loop stopped at depth {depth} "
            f"({app_key}.{definition.key}; the maximum is {max_depth})"
        )
    workspace = session.get(Workspace, definition.workspace_id)
    actor = replace(system_actor(workspace), depth=depth)
    run = Run(session, actor, app_key, definition.key, _names(payload))
    if record_event is not None:
        if not _add_record(run, record_event):
            return {"skipped": "the triggering record no longer exists"}
    base = _run_key(definition_id, version, occurrence)

    condition = body.get("condition")
    if condition:
        # The outcome is kept, so a retry decides as the first attempt did even if an
        # earlier action changed what the condition reads.
        held = _once(
            session,
            actor,
            f"{base}:condition",
            lambda: {"value": bool(evaluate(condition, run.names))},
        )
        session.commit()
        if not held["value"]:
            return {"condition": False}

    results = []
    for index, action in enumerate(body["actions"]):
        key = f"{base}:{index}"
        done = _receipt(session, key)
        if done is not None:
            results.append({**done, "again": True})
            continue
        result, after_commit = ACTIONS[action["type"]](run, action, key)
        session.add(ActionReceipt(key=key, workspace_id=actor.workspace_id, result=result))
        try:
            session.commit()
        except IntegrityError:
            # A duplicate run wrote this receipt first: its effect stands, ours is undone.
            session.rollback()
            results.append({"again": True})
            continue
        if after_commit is not None:
            after_commit()
        results.append(result)
        ctx.progress(index + 1, len(body["actions"]))
    return {"condition": True, "actions": results}


def _names(payload: Any) -> dict[str, Any]:
    return {"now": datetime.now(UTC).isoformat(), "payload": payload, "record": None, "event": None}


def _add_record(run: Run, event: RecordEvent) -> bool:
    """Give the run the triggering record (as its automation actor may see it)."""
    session = run.session
    row = session.execute(
        select(Record, Entity, App.key)
        .join(Entity, Entity.id == Record.entity_id)
        .join(App, App.id == Entity.app_id)
        .where(
            Record.id == event.record_id,
            Record.workspace_id == event.workspace_id,
            Record.entity_id == event.entity_id,
            Record.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        return False
    record, entity, app_key = row
    definition = published_of(session, entity).definition
    run.trigger = (app_key, entity.key, record.id)
    run.references = {k: f.ref for k, f in definition.fields.items() if f.ref}
    run.names["record"] = stored_record_names(definition, record)
    run.names["event"] = {
        "kind": event.kind,
        "changed": list(event.changed),
        "from_state": event.from_state,
        "to_state": event.to_state,
        "depth": event.depth,
    }
    return True


def _receipt(session: Session, key: str) -> dict[str, Any] | None:
    found = session.scalar(select(ActionReceipt.result).where(ActionReceipt.key == key))
    return None if found is None else dict(found)


def _once(session: Session, actor: Any, key: str, compute: Any) -> dict[str, Any]:
    """The result kept under ``key``, or ``compute()`` kept there now."""
    done = _receipt(session, key)
    if done is not None:
        return done
    result = compute()
    session.add(ActionReceipt(key=key, workspace_id=actor.workspace_id, result=result))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return _receipt(session, key) or result
    return result
