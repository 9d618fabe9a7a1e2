"""Automations: when something happens (a record created, changed or entering a state, a
schedule, an inbound webhook), if a condition holds, do ordered actions.

An automation is a versioned definition of kind ``automation`` (drafted, checked here,
published, switched on and off through :mod:`jizuo.platform.definitions`)::

    {"trigger": {"on": "updated", "entity": "qms.ncr", "fields": ["disposition"]},
     "condition": "record.disposition == 'return'",
     "actions": [
       {"type": "create_record", "entity": "erp.debit_note",
        "values": {"supplier": "record.supplier", "amount": "record.cost"}},
       {"type": "notify", "roles": ["buyer"], "text": "Debit note for {{ record.number }}"}]}

Expressions (the condition, every ``values``/``args`` text and every ``{{ … }}`` of a
template) read these names:

* ``record`` — the triggering record: ``record.<field>`` and ``record.id``, ``record.state``,
  ``record.created_by``… (record triggers only);
* ``event`` — ``event.kind``, ``event.changed`` (list of fields), ``event.from_state``,
  ``event.to_state`` (record triggers only);
* ``payload`` — the inbound webhook's JSON body (webhook triggers only);
* ``now`` — when the automation runs (UTC, ISO text).

In ``values`` and ``args`` a text is an expression (write ``"'rework'"`` for the text
``rework``); numbers, booleans, null, lists and objects are taken as they are.

This module checks definitions (every problem at once, with JSON-pointer paths) and keeps
the published automations per workspace cached by version, so a record write in a
workspace nobody automated costs one small query.
"""

from __future__ import annotations

import ast
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.auth import role_errors
from jizuo.platform.catalog import published_of
from jizuo.platform.definitions import definition_checker, published_definitions
from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.expressions import ExpressionError, check_expression, evaluate
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.models import (
    App,
    Definition,
    DefinitionVersion,
    Entity,
    Membership,
    User,
)
from jizuo.platform.query import SYSTEM_COLUMNS
from jizuo.platform.registry import pack_function

RECORD_TRIGGERS = ("created", "updated", "state_entered")
SYSTEM_NAMES = frozenset(SYSTEM_COLUMNS) | {"id", "state"}
TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)


# -- templates and values ---------------------------------------------------------------


def template_parts(text: str) -> list[str]:
    """The expressions of a ``{{ … }}`` template, stripped."""
    return [m.group(1).strip() for m in TEMPLATE.finditer(text)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def render_text(text: str, names: dict[str, Any]) -> str:
    """A template with each ``{{ expr }}`` replaced by its value as text."""
    return TEMPLATE.sub(lambda m: _text(evaluate(m.group(1).strip(), names)), text)


def render_json(template: Any, names: dict[str, Any]) -> Any:
    """A JSON template: a text that is exactly ``{{ expr }}`` becomes the value (any type),
    other texts are rendered as text templates, everything else is kept."""
    if isinstance(template, str):
        whole = TEMPLATE.fullmatch(template.strip())
        if whole:
            return evaluate(whole.group(1).strip(), names)
        return render_text(template, names)
    if isinstance(template, list):
        return [render_json(item, names) for item in template]
    if isinstance(template, dict):
        return {k: render_json(v, names) for k, v in template.items()}
    return template


def evaluate_values(values: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    """``values``/``args``: texts are expressions, other JSON is literal."""
    return {k: evaluate(v, names) if isinstance(v, str) else v for k, v in values.items()}


# -- checking ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _meta_validator() -> Draft202012Validator:
    text = resources.files("jizuo.platform").joinpath("schemas/automation-definition.json")
    return Draft202012Validator(json.loads(text.read_text(encoding="utf-8")))


def _pointer(parts: Any) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in parts)


def trigger_names(trigger: dict[str, Any]) -> set[str]:
    """The names expressions of an automation with this trigger may read."""
    on = trigger.get("on")
    if on in RECORD_TRIGGERS:
        return {"record", "event", "now"}
    if on == "webhook":
        return {"payload", "now"}
    return {"now"}


@dataclass
class _Checker:
    session: Session
    actor: Actor
    errors: list[dict[str, str]] = field(default_factory=list)
    entities: dict[str, EntityDefinition | None] = field(default_factory=dict)

    def fail(self, path: str, message: str, code: str = "invalid") -> None:
        self.errors.append(error(path, message, code))

    def entity(self, ref: str, path: str) -> EntityDefinition | None:
        """The published definition of ``app.entity`` in the actor's workspace, or an error."""
        if ref not in self.entities:
            app_key, _, entity_key = ref.partition(".")
            found = self.session.scalar(
                select(Entity)
                .join(App, App.id == Entity.app_id)
                .where(
                    App.workspace_id == self.actor.workspace_id,
                    App.key == app_key,
                    Entity.key == entity_key,
                )
            )
            if found is None or found.published_version is None:
                self.entities[ref] = None
            else:
                self.entities[ref] = published_of(self.session, found).definition
        definition = self.entities[ref]
        if definition is None:
            self.fail(path, f"no published entity '{ref}'", "unknown_entity")
        return definition

    def expression(
        self, source: Any, names: set[str], record: EntityDefinition | None, path: str
    ) -> None:
        if not isinstance(source, str):
            return
        try:
            check_expression(source, names)
        except ExpressionError as exc:
            self.fail(path, str(exc), "expression")
            return
        if record is not None:
            for name in record_attributes(source):
                if name not in record.fields and name not in SYSTEM_NAMES:
                    self.fail(path, f"'{record.key}' has no field '{name}'", "unknown_field")

    def template(
        self, text: Any, names: set[str], record: EntityDefinition | None, path: str
    ) -> None:
        if isinstance(text, str):
            for part in template_parts(text):
                self.expression(part, names, record, path)
        elif isinstance(text, list):
            for i, item in enumerate(text):
                self.template(item, names, record, f"{path}/{i}")
        elif isinstance(text, dict):
            for k, item in text.items():
                self.template(item, names, record, _pointer([*_split(path), k]))

    def values(
        self,
        values: dict[str, Any],
        target: EntityDefinition | None,
        names: set[str],
        record: EntityDefinition | None,
        path: str,
    ) -> None:
        for key, source in values.items():
            here = f"{path}/{key}"
            if target is not None:
                f = target.fields.get(key)
                if f is None:
                    self.fail(here, f"'{target.key}' has no field '{key}'", "unknown_field")
                elif f.read_only:
                    self.fail(here, f"'{key}' is computed by the platform", "read_only")
            self.expression(source, names, record, here)

    def target(self, target: Any, record: EntityDefinition | None, path: str) -> Any:
        """The entity definition an ``update_record``/``transition`` target names."""
        if record is None:
            self.fail(path, "only automations triggered by a record have a target", "target")
            return None
        if target == "trigger":
            return record
        name = target["reference"]
        f = record.fields.get(name)
        if f is None or f.ref is None:
            self.fail(f"{path}/reference", f"'{record.key}' has no reference field '{name}'")
            return None
        return self.entity(f.ref, f"{path}/reference")


def _split(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def record_attributes(source: str) -> set[str]:
    """The fields an (already vetted) expression reads as ``record.<field>``."""
    tree = ast.parse(source.strip(), mode="eval")
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "record"
    }


def check_automation(
    session: Session, actor: Actor, app: App, key: str, body: Any
) -> dict[str, Any]:
    """The checker of automation definitions: the shape, then every name, field, function,
    user, role, cron and time zone it uses; raises ValidationFailed with every problem."""
    shape = [
        error(_pointer(e.absolute_path), e.message, str(e.validator))
        for e in sorted(_meta_validator().iter_errors(body), key=lambda e: list(e.path))
    ]
    if shape:
        raise ValidationFailed("The automation is not valid.", errors=shape)
    checker = _Checker(session, actor)
    trigger = body["trigger"]
    names = trigger_names(trigger)
    record: EntityDefinition | None = None
    on = trigger["on"]
    if on in RECORD_TRIGGERS:
        record = checker.entity(trigger["entity"], "/trigger/entity")
        if record is not None:
            for i, name in enumerate(trigger.get("fields", [])):
                if name not in record.fields:
                    checker.fail(
                        f"/trigger/fields/{i}",
                        f"'{record.key}' has no field '{name}'",
                        "unknown_field",
                    )
    elif on == "schedule":
        if not croniter.is_valid(trigger["cron"]):
            checker.fail("/trigger/cron", f"not a cron expression: {trigger['cron']!r}", "cron")
        if "timezone" in trigger:
            try:
                ZoneInfo(trigger["timezone"])
            except (ZoneInfoNotFoundError, ValueError):
                checker.fail("/trigger/timezone", f"unknown time zone {trigger['timezone']!r}")
    if body.get("condition"):
        checker.expression(body["condition"], names, record, "/condition")
    for i, action in enumerate(body["actions"]):
        _check_action(checker, action, names, record, f"/actions/{i}")
    if checker.errors:
        raise ValidationFailed("The automation is not valid.", errors=checker.errors)
    return body


def _check_action(
    checker: _Checker,
    action: dict[str, Any],
    names: set[str],
    record: EntityDefinition | None,
    path: str,
) -> None:
    kind = action["type"]
    if kind == "create_record":
        target = checker.entity(action["entity"], f"{path}/entity")
        checker.values(action["values"], target, names, record, f"{path}/values")
    elif kind == "update_record":
        target = checker.target(action["target"], record, f"{path}/target")
        checker.values(action["values"], target, names, record, f"{path}/values")
    elif kind == "transition":
        checker.target(action["target"], record, f"{path}/target")
        checker.template(action.get("comment"), names, record, f"{path}/comment")
    elif kind == "webhook":
        checker.template(action.get("body"), names, record, f"{path}/body")
    elif kind == "notify":
        checker.template(action["text"], names, record, f"{path}/text")
        checker.template(action.get("link"), names, record, f"{path}/link")
        wanted = action.get("users", [])
        found = set(
            checker.session.scalars(
                select(User.username)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.workspace_id == checker.actor.workspace_id,
                    User.username.in_(wanted),
                )
            )
        )
        for j, username in enumerate(wanted):
            if username not in found:
                checker.fail(f"{path}/users/{j}", f"no member '{username}'", "unknown_user")
        roles = action.get("roles", [])
        bad = {
            e["message"] for e in role_errors(checker.session, checker.actor.workspace_id, roles)
        }
        for j, role in enumerate(roles):
            if f"no role '{role}'" in bad:
                checker.fail(f"{path}/roles/{j}", f"no role '{role}'", "unknown_role")
    elif kind == "call":
        try:
            pack_function(action["function"])
        except KeyError as exc:
            checker.fail(f"{path}/function", exc.args[0], "unknown_function")
        checker.values(action.get("args", {}), None, names, record, f"{path}/args")


definition_checker("automation")(check_automation)


# -- published automations, cached ----------------------------------------------------


@dataclass(frozen=True)
class Automation:
    """One published, enabled automation as the runner needs it."""

    definition_id: int
    version: int
    app_key: str
    key: str
    body: dict[str, Any]
    entity_id: int | None  # the triggering entity of record triggers

    @property
    def trigger(self) -> dict[str, Any]:
        return self.body["trigger"]

    def matches(self, event: Any) -> bool:
        """Whether a record event fires this automation."""
        trigger = self.trigger
        on = trigger["on"]
        if self.entity_id != event.entity_id:
            return False
        if on == "created":
            return event.kind == "created"
        if on == "updated":
            if event.kind != "updated":
                return False
            wanted = trigger.get("fields")
            return not wanted or bool(set(wanted) & set(event.changed))
        if on == "state_entered":
            return event.to_state == trigger["state"] and event.from_state != event.to_state
        return False


@dataclass(frozen=True)
class WorkspaceAutomations:
    """The automations of one workspace: by triggering entity, and the others."""

    by_entity: dict[int, tuple[Automation, ...]]
    scheduled: tuple[Automation, ...]
    webhooks: tuple[Automation, ...]


_EMPTY = WorkspaceAutomations({}, (), ())
_CACHE: dict[int, tuple[tuple, WorkspaceAutomations]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 1024


def _fingerprint(session: Session, workspace_id: int) -> tuple:
    """What the workspace's automations are now: ids, versions, switches, publishing times
    (the time tells apart databases that happen to share ids, as tests do)."""
    rows = session.execute(
        select(Definition.id, Definition.published_version, DefinitionVersion.published_at)
        .join(
            DefinitionVersion,
            (DefinitionVersion.definition_id == Definition.id)
            & (DefinitionVersion.version == Definition.published_version),
        )
        .where(
            Definition.workspace_id == workspace_id,
            Definition.kind == "automation",
            Definition.enabled.is_(True),
        )
        .order_by(Definition.id)
    )
    return tuple((r[0], r[1], str(r[2])) for r in rows)


def workspace_automations(session: Session, workspace_id: int) -> WorkspaceAutomations:
    """The enabled, published automations of a workspace (one small query when cached)."""
    fingerprint = _fingerprint(session, workspace_id)
    if not fingerprint:
        return _EMPTY
    cached = _CACHE.get(workspace_id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    loaded = _load(session, workspace_id)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[workspace_id] = (fingerprint, loaded)
    return loaded


def _load(session: Session, workspace_id: int) -> WorkspaceAutomations:
    entity_ids = {
        f"{app_key}.{entity_key}": entity_id
        for app_key, entity_key, entity_id in session.execute(
            select(App.key, Entity.key, Entity.id)
            .join(Entity, Entity.app_id == App.id)
            .where(App.workspace_id == workspace_id)
        )
    }
    rows = [
        (p.definition.id, p.definition.key, p.version, p.app_key, p.body)
        for p in published_definitions(session, workspace_id, "automation")
    ]
    by_entity: dict[int, list[Automation]] = {}
    scheduled, webhooks = [], []
    for definition_id, key, version, app_key, body in rows:
        on = body["trigger"]["on"]
        entity_id = (
            entity_ids.get(body["trigger"].get("entity", "")) if on in RECORD_TRIGGERS else None
        )
        automation = Automation(definition_id, version, app_key, key, body, entity_id)
        if on in RECORD_TRIGGERS:
            if entity_id is not None:
                by_entity.setdefault(entity_id, []).append(automation)
        elif on == "schedule":
            scheduled.append(automation)
        else:
            webhooks.append(automation)
    return WorkspaceAutomations(
        {k: tuple(v) for k, v in by_entity.items()}, tuple(scheduled), tuple(webhooks)
    )


def automation_version(
    session: Session, definition_id: int, version: int
) -> tuple[Definition, dict[str, Any], str] | None:
    """A definition, the body of one of its versions and its app's key (None if gone)."""
    row = session.execute(
        select(Definition, DefinitionVersion.body, App.key)
        .join(DefinitionVersion, DefinitionVersion.definition_id == Definition.id)
        .join(App, App.id == Definition.app_id)
        .where(
            Definition.id == definition_id,
            Definition.kind == "automation",
            DefinitionVersion.version == version,
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def due_time(cron: str, timezone: str | None, now: datetime) -> datetime:
    """The latest time at or before ``now`` the cron expression names (in ``timezone``)."""
    zone = ZoneInfo(timezone or "UTC")
    local = now.astimezone(zone)
    itr = croniter(cron, local)
    if croniter.match(cron, local.replace(second=0, microsecond=0)):
        return local.replace(second=0, microsecond=0)
    return itr.get_prev(datetime)
