"""Workflows: the states an entity's records go through and the transitions between them.

A workflow is a versioned definition of kind ``workflow`` (see ``definitions``)::

    {"entity": "ncr", "initial": "open",
     "states": [{"key": "open", "title": {"en": "Open", "zh": "打开"}, "category": "draft"},
                {"key": "closed", "title": "Closed", "category": "done",
                 "readonly_fields": ["disposition"]}],
     "transitions": [{"key": "close", "title": "Close", "from": ["open"], "to": "closed",
                      "roles": ["quality_engineer"], "guard": "qty_rejected > 0",
                      "required_fields": ["disposition"], "comment_required": true,
                      "signature": {"meanings": ["approved"]},
                      "approvals": {"role": "qa_manager", "mode": "count", "count": 2}}]}

The checker below refuses a broken body with every problem at once (meta-schema first, then
what only the app can tell: the entity, its fields, the workspace's roles, expressions,
reachability). An entity has at most one published workflow. The record store asks
:func:`workflow_of` for the entity's workflow (compiled once per published version) to give
new records their initial state and to keep a state's read-only fields unchanged;
:mod:`jizuo.platform.transitions` moves records between states.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.catalog import published_of
from jizuo.platform.definitions import definition_checker
from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.expressions import ExpressionError, check_expression, evaluate
from jizuo.platform.metadata import CONTEXT_NAMES, EntityDefinition
from jizuo.platform.models import App, Definition, DefinitionVersion, Entity, Record
from jizuo.platform.permissions import workspace_roles

KIND = "workflow"
ANY_STATE = "*"
#: Categories of states a record may rest in for good (no transition out needed).
FINAL_CATEGORIES = frozenset({"done", "cancelled"})


@dataclass(frozen=True)
class State:
    key: str
    title: Any
    category: str
    readonly_fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Approvals:
    """How many approvals a transition needs: ``any`` one member of ``role``, ``all`` of
    them, or ``count`` of them."""

    role: str
    mode: str
    count: int = 1


@dataclass(frozen=True)
class Transition:
    key: str
    title: Any
    sources: frozenset[str]  # state keys, or {"*"} for every state
    to: str
    roles: tuple[str, ...] = ()
    guard: str | None = None
    guard_message: Any = None
    required_fields: tuple[str, ...] = ()
    comment_required: bool = False
    signature_meanings: tuple[str, ...] = ()
    approvals: Approvals | None = None

    def leaves(self, state: str) -> bool:
        """Whether the transition may start from ``state``."""
        return ANY_STATE in self.sources or state in self.sources


@dataclass(frozen=True)
class Workflow:
    """A published workflow, compiled."""

    key: str
    app_id: int
    entity: str
    version: int
    initial: str
    states: dict[str, State] = field(hash=False)
    transitions: dict[str, Transition] = field(hash=False)  # in definition order

    def state_of(self, record: Record) -> str:
        """A record's state; records made before the workflow existed are in the initial one."""
        return record.state if record.state in self.states else self.initial

    def leaving(self, state: str) -> list[Transition]:
        """The transitions that may start from ``state``, in definition order."""
        return [t for t in self.transitions.values() if t.leaves(state)]

    def readonly_errors(self, state: str | None, changed: set[str]) -> list[dict[str, str]]:
        """Errors for changed fields the state keeps read-only."""
        current = self.states.get(state or self.initial)
        if current is None:
            return []
        return [
            error(f"/{key}", f"read-only while the record is '{current.key}'", "read_only")
            for key in sorted(changed & current.readonly_fields)
        ]


def compile_workflow(key: str, app_id: int, version: int, body: dict[str, Any]) -> Workflow:
    """The compiled form of a checked body."""
    states = {
        s["key"]: State(
            s["key"], s["title"], s["category"], frozenset(s.get("readonly_fields", ()))
        )
        for s in body["states"]
    }
    transitions = {}
    for t in body["transitions"]:
        sources = t["from"]
        approvals = t.get("approvals")
        transitions[t["key"]] = Transition(
            key=t["key"],
            title=t["title"],
            sources=frozenset([ANY_STATE] if sources == ANY_STATE else sources),
            to=t["to"],
            roles=tuple(t.get("roles", ())),
            guard=t.get("guard"),
            guard_message=t.get("guard_message"),
            required_fields=tuple(t.get("required_fields", ())),
            comment_required=bool(t.get("comment_required", False)),
            signature_meanings=tuple((t.get("signature") or {}).get("meanings", ())),
            approvals=Approvals(
                approvals["role"], approvals["mode"], int(approvals.get("count", 1))
            )
            if approvals
            else None,
        )
    return Workflow(key, app_id, body["entity"], version, body["initial"], states, transitions)


# -- loading the published workflow of an entity ------------------------------------------

#: Compiled workflows by (definition id, version, definition creation time): versions are
#: immutable, and the creation time tells apart definitions of different databases that
#: happen to share an id.
_COMPILED: dict[tuple[int, int, datetime], Workflow] = {}
_COMPILED_MAX = 256


def app_workflows(session: Session, workspace_id: int, app_id: int) -> list[Workflow]:
    """The enabled, published workflows of an app (one small query; bodies compiled once)."""
    rows = session.execute(
        select(Definition.id, Definition.key, Definition.published_version, Definition.created_at)
        .where(
            Definition.workspace_id == workspace_id,
            Definition.app_id == app_id,
            Definition.kind == KIND,
            Definition.enabled.is_(True),
            Definition.published_version.is_not(None),
        )
        .order_by(Definition.id)
    ).all()
    found = []
    for definition_id, key, version, created_at in rows:
        cache_key = (definition_id, version, created_at)
        compiled = _COMPILED.get(cache_key)
        if compiled is None:
            body = session.scalar(
                select(DefinitionVersion.body).where(
                    DefinitionVersion.definition_id == definition_id,
                    DefinitionVersion.version == version,
                )
            )
            compiled = compile_workflow(key, app_id, version, body)
            if len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.pop(next(iter(_COMPILED)))
            _COMPILED[cache_key] = compiled
        found.append(compiled)
    return found


def workflow_of(
    session: Session, workspace_id: int, app_id: int, entity_key: str
) -> Workflow | None:
    """The published, enabled workflow of an entity, or None."""
    for workflow in app_workflows(session, workspace_id, app_id):
        if workflow.entity == entity_key:
            return workflow
    return None


# -- checking a definition ----------------------------------------------------------------


@cache
def _meta_validator() -> Draft202012Validator:
    text = resources.files("jizuo.platform").joinpath("schemas/workflow-definition.json")
    return Draft202012Validator(json.loads(text.read_text()))


def _pointer(parts: Any) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in parts)


@definition_checker(KIND)
def check_workflow(session: Session, actor: Actor, app: App, key: str, body: Any) -> dict:
    """Check a workflow body against the meta-schema and the app as it is now; every problem
    is reported at once with a JSON-pointer path."""
    errors = [
        error(_pointer(e.absolute_path), e.message, "schema")
        for e in _meta_validator().iter_errors(body)
    ]
    if errors:
        raise ValidationFailed("The workflow is not valid.", errors=errors)
    entity, definition = _entity(session, app, body["entity"], errors)
    roles = set(workspace_roles(session, actor.workspace_id))
    errors += _state_errors(body, definition)
    errors += _transition_errors(body, definition, roles)
    if not errors:
        errors += graph_errors(body)
    if entity is not None:
        errors += _other_workflow_errors(session, app, key, body["entity"])
        errors += _stranded_record_errors(session, entity, body)
    if errors:
        raise ValidationFailed("The workflow is not valid.", errors=errors)
    return body


def _entity(
    session: Session, app: App, entity_key: str, errors: list[dict[str, str]]
) -> tuple[Entity | None, EntityDefinition | None]:
    entity = session.scalar(select(Entity).where(Entity.app_id == app.id, Entity.key == entity_key))
    if entity is None:
        errors.append(error("/entity", f"app '{app.key}' has no entity '{entity_key}'", "unknown"))
        return None, None
    if entity.published_version is None:
        errors.append(error("/entity", f"publish '{entity_key}' before giving it a workflow"))
        return entity, None
    return entity, published_of(session, entity).definition


def _field_error(definition: EntityDefinition, dotted: str) -> str | None:
    parts = dotted.split(".")
    fields = definition.fields
    for i, part in enumerate(parts):
        found = fields.get(part)
        if found is None:
            return f"'{definition.key}' has no field '{dotted}'"
        if found.kind == "child_table" and i < len(parts) - 1:
            return f"'{'.'.join(parts[: i + 1])}' is a child table: name the table itself"
        fields = found.children
    return None


def _state_errors(body: dict[str, Any], definition: EntityDefinition | None) -> list[dict]:
    errors, seen = [], set()
    for i, state in enumerate(body["states"]):
        if state["key"] in seen:
            errors.append(error(f"/states/{i}/key", f"state '{state['key']}' is defined twice"))
        seen.add(state["key"])
        for j, name in enumerate(state.get("readonly_fields", ())):
            if definition is not None and name not in definition.fields:
                where = f"/states/{i}/readonly_fields/{j}"
                errors.append(error(where, f"'{definition.key}' has no field '{name}'", "unknown"))
    if body["initial"] not in seen:
        errors.append(error("/initial", f"no state '{body['initial']}'", "unknown"))
    return errors


def _transition_errors(
    body: dict[str, Any], definition: EntityDefinition | None, roles: set[str]
) -> list[dict]:
    states = {s["key"] for s in body["states"]}
    names = (set(definition.fields) | CONTEXT_NAMES) if definition is not None else None
    errors, seen = [], set()
    for i, t in enumerate(body["transitions"]):
        at = f"/transitions/{i}"
        if t["key"] in seen:
            errors.append(error(f"{at}/key", f"transition '{t['key']}' is defined twice"))
        seen.add(t["key"])
        if t["from"] != ANY_STATE:
            for j, source in enumerate(t["from"]):
                if source != ANY_STATE and source not in states:
                    errors.append(error(f"{at}/from/{j}", f"no state '{source}'", "unknown"))
        if t["to"] not in states:
            errors.append(error(f"{at}/to", f"no state '{t['to']}'", "unknown"))
        for j, role in enumerate(t.get("roles", ())):
            if role not in roles:
                errors.append(error(f"{at}/roles/{j}", f"no role '{role}'", "unknown"))
        approvals = t.get("approvals")
        if approvals:
            if approvals["role"] not in roles:
                where = f"{at}/approvals/role"
                errors.append(error(where, f"no role '{approvals['role']}'", "unknown"))
            if approvals["mode"] == "count" and "count" not in approvals:
                errors.append(error(f"{at}/approvals/count", "give how many approvals are needed"))
            if approvals["mode"] != "count" and "count" in approvals:
                errors.append(error(f"{at}/approvals/count", "only the 'count' mode takes a count"))
        if definition is None:
            continue
        for j, dotted in enumerate(t.get("required_fields", ())):
            problem = _field_error(definition, dotted)
            if problem:
                errors.append(error(f"{at}/required_fields/{j}", problem, "unknown"))
        if "guard" in t:
            try:
                parsed = check_expression(t["guard"], names)
                if not parsed.names:
                    evaluate(parsed, {})  # a constant guard is evaluated now (bounded or refused)
            except ExpressionError as exc:
                errors.append(error(f"{at}/guard", str(exc), "expression"))
    return errors


def graph_errors(body: dict[str, Any]) -> list[dict]:
    """States no record can reach from the initial one, and states a record could never leave
    although they are not final (done or cancelled)."""
    keys = [s["key"] for s in body["states"]]
    targets: dict[str, set[str]] = {k: set() for k in keys}
    for t in body["transitions"]:
        sources = keys if t["from"] == ANY_STATE or ANY_STATE in t["from"] else t["from"]
        for source in sources:
            targets[source].add(t["to"])
    reached, frontier = {body["initial"]}, [body["initial"]]
    while frontier:
        for nxt in targets[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    errors = []
    for i, state in enumerate(body["states"]):
        key = state["key"]
        if key not in reached:
            message = f"state '{key}' cannot be reached from the initial state '{body['initial']}'"
            errors.append(error(f"/states/{i}", message, "unreachable"))
        if not (targets[key] - {key}) and state["category"] not in FINAL_CATEGORIES:
            message = (
                f"no transition leaves state '{key}'; "
                "give it one or make its category done or cancelled"
            )
            errors.append(error(f"/states/{i}", message, "dead_end"))
    return errors


def _other_workflow_errors(session: Session, app: App, key: str, entity_key: str) -> list[dict]:
    """An entity has one published workflow: refuse another for the same entity."""
    rows = session.execute(
        select(Definition.key, DefinitionVersion.body)
        .join(
            DefinitionVersion,
            (DefinitionVersion.definition_id == Definition.id)
            & (DefinitionVersion.version == Definition.published_version),
        )
        .where(Definition.app_id == app.id, Definition.kind == KIND, Definition.key != key)
    )
    return [
        error("/entity", f"'{entity_key}' already has the published workflow '{other}'", "conflict")
        for other, other_body in rows
        if other_body.get("entity") == entity_key
    ]


def _stranded_record_errors(session: Session, entity: Entity, body: dict[str, Any]) -> list[dict]:
    """Records resting in a state this body no longer has would be stranded."""
    keys = {s["key"] for s in body["states"]}
    rows = session.execute(
        select(Record.state, func.count(distinct(Record.id)))
        .where(
            Record.entity_id == entity.id,
            Record.deleted_at.is_(None),
            Record.state.is_not(None),
        )
        .group_by(Record.state)
    )
    return [
        error(
            "/states",
            f"{count} record(s) are in state '{state}', which this version removes; keep it",
            "in_use",
        )
        for state, count in rows
        if state not in keys
    ]
