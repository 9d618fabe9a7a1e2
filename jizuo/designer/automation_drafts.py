"""The automation designer's service: an automation created from a seed, what its forms
offer (entities, fields, reference targets, transitions, functions, a new action of each
type), and help with its expressions — checked against the trigger as typed, names
completed. Edits save the whole draft through :mod:`jizuo.designer.definition_drafts`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.designer.definition_drafts import create_definition, definition_draft
from jizuo.designer.drafts import DraftState, require_designer
from jizuo.designer.expression_help import problem_at
from jizuo.platform.actor import Actor
from jizuo.platform.automations import (
    RECORD_TRIGGERS,
    SYSTEM_NAMES,
    TEMPLATE,
    record_attributes,
    trigger_names,
)
from jizuo.platform.catalog import published_of
from jizuo.platform.errors import ValidationFailed, error
from jizuo.platform.expressions import ExpressionError, available_functions, check_expression
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.models import App, Definition, Entity
from jizuo.platform.registry import pack_functions
from jizuo.platform.workflows import KIND as WORKFLOW

KIND = "automation"
TRIGGERS = ("created", "updated", "state_entered", "schedule", "webhook")
ACTION_TYPES = ("create_record", "update_record", "transition", "webhook", "notify", "call")
MAX_COMPLETIONS = 50
ATTRIBUTE = re.compile(r"\brecord\.([A-Za-z_][A-Za-z0-9_]*)?$")


def published_entities(session: Session, actor: Actor) -> dict[str, EntityDefinition]:
    """Every published entity of the workspace, as ``app.entity`` → definition."""
    rows = session.execute(
        select(App.key, Entity)
        .join(Entity, Entity.app_id == App.id)
        .where(App.workspace_id == actor.workspace_id, Entity.published_version.is_not(None))
        .order_by(App.key, Entity.key)
    )
    return {f"{app_key}.{e.key}": published_of(session, e).definition for app_key, e in rows}


def seed_automation(entity: str) -> dict[str, Any]:
    """A new automation: on creation of ``entity``'s records, tell the designers."""
    return {
        "trigger": {"on": "created", "entity": entity},
        "actions": [{"type": "notify", "roles": ["designer"], "text": "{{ record.id }}"}],
    }


def create_automation(
    session: Session, actor: Actor, app_key: str, key: Any, entity: Any
) -> DraftState:
    """A new automation of the app triggered by the records of ``entity`` (``app.entity``)."""
    actor.require_design()
    if not isinstance(entity, str) or entity not in published_entities(session, actor):
        raise ValidationFailed(
            "Choose a published entity.", errors=[error("/entity", "a published entity")]
        )
    return create_definition(session, actor, app_key, KIND, key, seed_automation(entity))


def automation_draft(session: Session, actor: Actor, app_key: str, key: str) -> DraftState:
    """An automation's draft for the designer."""
    return definition_draft(session, actor, app_key, KIND, key)


def new_actions(
    body: dict[str, Any], entities: list[str], functions: list[str], transitions: dict
) -> dict:
    """A valid new action of each type, as the "add action" button adds it."""
    trigger = body.get("trigger", {})
    entity = trigger.get("entity") or (entities[0] if entities else "")
    name = (transitions.get(entity) or ["close"])[0]
    text = "{{ record.id }}" if trigger.get("on") in RECORD_TRIGGERS else "{{ now }}"
    return {
        "create_record": {"type": "create_record", "entity": entity, "values": {}},
        "update_record": {"type": "update_record", "target": "trigger", "values": {}},
        "transition": {"type": "transition", "target": "trigger", "name": name},
        "webhook": {"type": "webhook", "url": "https://example.com/hooks/jizuo", "body": {}},
        "notify": {"type": "notify", "roles": ["designer"], "text": text},
        "call": {"type": "call", "function": functions[0] if functions else "", "args": {}},
    }


def _transitions(session: Session, actor: Actor, entities: list[str]) -> dict[str, list[str]]:
    """Per entity, the transitions of its workflows (drafts and published)."""
    out: dict[str, list[str]] = {}
    rows = session.execute(
        select(App.key, Definition)
        .join(App, App.id == Definition.app_id)
        .where(Definition.workspace_id == actor.workspace_id, Definition.kind == WORKFLOW)
    )
    for app_key, found in rows:
        body = found.draft or {}
        ref = f"{app_key}.{body.get('entity')}"
        if ref in entities:
            names = out.setdefault(ref, [])
            names += [t["key"] for t in body.get("transitions", []) if t.get("key") not in names]
    return out


def form_choices(session: Session, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """What the automation's forms offer: entities and their writable fields, the trigger
    entity's reference fields, transitions, pack functions and a new action of each type."""
    require_designer(actor)
    definitions = published_entities(session, actor)
    entities = list(definitions)
    fields = {
        ref: [k for k, f in d.fields.items() if not f.read_only] for ref, d in definitions.items()
    }
    trigger = definitions.get(body.get("trigger", {}).get("entity", ""))
    references = {}
    if trigger is not None:
        references = {k: f.ref for k, f in trigger.fields.items() if f.ref}
    functions = pack_functions()
    transitions = _transitions(session, actor, entities)
    return {
        "entities": entities,
        "fields": fields,
        "references": references,
        "transitions": transitions,
        "functions": functions,
        "new_actions": new_actions(body, entities, functions, transitions),
        "triggers": TRIGGERS,
        "action_types": ACTION_TYPES,
    }


# -- expressions ---------------------------------------------------------------------------


def _trigger(session: Session, actor: Actor, app_key: str, key: str) -> tuple[dict, Any]:
    body = automation_draft(session, actor, app_key, key).draft or {}
    trigger = body.get("trigger") or {}
    record = None
    if trigger.get("on") in RECORD_TRIGGERS:
        record = published_entities(session, actor).get(trigger.get("entity", ""))
    return trigger, record


def _check_one(source: str, names: set[str], record: EntityDefinition | None) -> dict | None:
    try:
        check_expression(source, names)
    except ExpressionError as exc:
        return problem_at(source, exc)
    if record is not None:
        for name in sorted(record_attributes(source)):
            if name not in record.fields and name not in SYSTEM_NAMES:
                message = f"'{record.key}' has no field '{name}'"
                found = re.search(rf"\brecord\.{re.escape(name)}\b", source)
                start = found.start() + len("record.") if found else None
                end = found.end() if found else None
                return {"message": message, "start": start, "end": end}
    return None


def check_automation_expression(
    session: Session, actor: Actor, app_key: str, key: str, source: Any, template: bool = False
) -> dict[str, Any]:
    """Whether ``source`` (an expression, or with ``template`` a text with ``{{ … }}``) is
    valid for the draft's trigger; when not, the message and where in the text it points."""
    if not isinstance(source, str):
        raise ValidationFailed(
            "Send the expression as text.", errors=[error("/expression", "expected a string")]
        )
    trigger, record = _trigger(session, actor, app_key, key)
    names = trigger_names(trigger)
    problems = []
    if template:
        for match in TEMPLATE.finditer(source):
            part = match.group(1)
            problem = _check_one(part.strip(), names, record)
            if problem is not None:
                shift = match.start(1) + len(part) - len(part.lstrip())
                for end in ("start", "end"):
                    if problem[end] is not None:
                        problem[end] += shift
                problems.append(problem)
    else:
        problem = _check_one(source, names, record)
        problems = [problem] if problem else []
    return {"valid": not problems, "errors": problems[:1]}


def complete_automation_names(
    session: Session, actor: Actor, app_key: str, key: str, prefix: str
) -> list[dict[str, Any]]:
    """Completions of the word before the cursor: after ``record.`` the trigger entity's
    fields, else the names the trigger gives and the functions."""
    trigger, record = _trigger(session, actor, app_key, key)
    attribute = ATTRIBUTE.search(prefix)
    out: list[dict[str, Any]] = []
    if attribute is not None:
        word = attribute.group(1) or ""
        fields = sorted(record.fields) if record is not None else []
        for name in [*fields, *sorted(SYSTEM_NAMES)]:
            if name.startswith(word):
                out.append({"name": name, "kind": "field", "insert": name[len(word) :]})
        return out[:MAX_COMPLETIONS]
    word = (re.search(r"[A-Za-z_][A-Za-z0-9_]*$", prefix) or [""])[0]
    if not word:
        return []
    for name in sorted(trigger_names(trigger)):
        if name.startswith(word):
            out.append({"name": name, "kind": "context", "insert": name[len(word) :]})
    for name in sorted(available_functions()):
        if name.startswith(word):
            out.append({"name": name, "kind": "function", "insert": name[len(word) :] + "("})
    return out[:MAX_COMPLETIONS]
