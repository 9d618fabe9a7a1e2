"""Who may do what with an app's records: the app's permission policy, resolved per actor.

A policy is metadata (``apps.permissions``, checked against ``schemas/app-permissions.json``),
edited by workspace admins in the permission matrix or shipped by a pack::

    {"entities": {
        "ncr": {"inspector": {"actions": ["read", "create", "update"],
                              "transitions": ["submit"],
                              "fields": {"unit_cost": "read", "cost": "hidden"},
                              "scope": "record.created_by == user.id"}},
        "*":   {"supplier": {"actions": []}}}}

For a role, the grant of the entity applies, else the app's ``"*"`` grant, else the built-in
default: designers and members may do everything, roles a workspace or pack defined nothing.
Admins are never restricted. A user with several roles gets the union: an action any role
grants, the most open level of each field, and the rows any granting role's scope admits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from jizuo.platform.actor import ADMIN, DESIGNER, MEMBER, Actor
from jizuo.platform.admin_log import log_admin_event
from jizuo.platform.catalog import check_key, check_title, published_of
from jizuo.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, error
from jizuo.platform.expressions import ExpressionError
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.models import App, Entity, Record, Role
from jizuo.platform.query import entity_is
from jizuo.platform.row_scope import RowScope, compile_scope

ACTIONS = ("read", "create", "update", "delete", "export")
WRITE_ACTIONS = frozenset({"create", "update", "delete"})
FIELD_LEVELS = ("hidden", "read", "write")  # from closed to open
ALL = "*"
BUILTIN_ROLES = (ADMIN, DESIGNER, MEMBER)

_VERBS = {
    "read": "read",
    "create": "create",
    "update": "change",
    "delete": "delete",
    "export": "export",
}


@dataclass(frozen=True)
class Grant:
    """What one role may do with one entity."""

    actions: frozenset[str]
    transitions: frozenset[str] = frozenset()
    fields: dict[str, str] = field(default_factory=dict, hash=False)
    scope: str | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Grant:
        return cls(
            actions=frozenset(raw.get("actions", ())),
            transitions=frozenset(raw.get("transitions", ())),
            fields=dict(raw.get("fields", {})),
            scope=raw.get("scope") or None,
        )


#: What the built-in roles may do where a policy says nothing of them.
FULL_GRANT = Grant(frozenset(ACTIONS), frozenset({ALL}))
BUILTIN_DEFAULTS = {DESIGNER: FULL_GRANT, MEMBER: FULL_GRANT}


@dataclass(frozen=True)
class EntityAccess:
    """What an actor may do with the records of one entity.

    ``scopes[action]`` is None when every row is allowed, else the row scopes of which a
    record must match one.
    """

    entity: str
    actions: frozenset[str]
    transitions: frozenset[str]
    field_levels: dict[str, str] = field(default_factory=dict, hash=False)
    scopes: dict[str, tuple[RowScope, ...] | None] = field(default_factory=dict, hash=False)
    unrestricted: bool = False

    # -- actions -----------------------------------------------------------------

    def allows(self, action: str) -> bool:
        return action in self.actions

    def require(self, action: str) -> None:
        """PermissionDenied unless the actor may do ``action``."""
        if action not in self.actions:
            raise PermissionDenied(f"You may not {_VERBS[action]} '{self.entity}' records.")

    def may_transition(self, name: str) -> bool:
        """Whether the actor may take the workflow transition ``name``."""
        return "update" in self.actions and (ALL in self.transitions or name in self.transitions)

    # -- fields ------------------------------------------------------------------

    @property
    def hidden(self) -> frozenset[str]:
        return frozenset(k for k, level in self.field_levels.items() if level == "hidden")

    def may_write(self, key: str) -> bool:
        return self.field_levels.get(key, "write") == "write"

    def visible(self, data: dict[str, Any]) -> dict[str, Any]:
        """A record's data (or a history diff) without the fields hidden from the actor."""
        hidden = self.hidden
        if not hidden:
            return data
        return {k: v for k, v in data.items() if k not in hidden}

    def write_errors(self, keys: Iterable[str]) -> list[dict[str, str]]:
        """Errors for fields the actor may not write (hidden ones get the same message)."""
        return [
            error(f"/{key}", "you may not change this field")
            for key in sorted(keys)
            if not self.may_write(key)
        ]

    # -- rows --------------------------------------------------------------------

    def scope_clause(self, action: str, dialect: str, user: dict[str, Any]) -> ColumnElement | None:
        """The SQL condition rows must meet for ``action``, or None when all rows qualify."""
        scopes = self.scopes.get(action)
        if scopes is None:
            return None
        if not scopes:
            return false()
        try:
            return or_(*(scope.clause(dialect, user) for scope in scopes))
        except ExpressionError as exc:
            # Fail closed: a scope that cannot be evaluated for this user grants nothing.
            raise PermissionDenied(
                f"Your row scope on '{self.entity}' cannot be applied: {exc}"
            ) from None

    def in_scope(self, action: str, record: dict[str, Any], user: dict[str, Any]) -> bool:
        """Whether one record (as a ``record`` mapping of the expression language) is in scope."""
        scopes = self.scopes.get(action)
        if scopes is None:
            return True
        try:
            return any(scope.matches(record, user) for scope in scopes)
        except ExpressionError as exc:
            raise PermissionDenied(
                f"Your row scope on '{self.entity}' cannot be applied: {exc}"
            ) from None


def entity_access(actor: Actor, app: App, definition: EntityDefinition) -> EntityAccess:
    """Resolve what ``actor`` may do with the records of ``definition`` in ``app``."""
    ref = f"{app.key}.{definition.key}"
    if ADMIN in actor.roles:
        actions = frozenset(ACTIONS) - (WRITE_ACTIONS if actor.read_only else frozenset())
        return EntityAccess(ref, actions, frozenset({ALL}), unrestricted=True)
    grants = role_grants(app.permissions, definition.key, actor.roles)
    actions: set[str] = set()
    transitions: set[str] = set()
    levels: dict[str, str] = {}
    scopes: dict[str, tuple[RowScope, ...] | None] = {}
    for grant in grants:
        actions |= grant.actions
        transitions |= grant.transitions
        if not grant.actions:
            continue
        for key in definition.fields:
            level, current = grant.fields.get(key, "write"), levels.get(key)
            if current is None or FIELD_LEVELS.index(level) > FIELD_LEVELS.index(current):
                levels[key] = level
        for action in grant.actions:
            if action in scopes and scopes[action] is None:
                continue
            if grant.scope is None:
                scopes[action] = None
            else:
                scopes[action] = (*scopes.get(action, ()), _scope(grant.scope, definition))
    if actor.read_only:
        actions -= WRITE_ACTIONS
    closed = {k: v for k, v in levels.items() if v != "write"}
    return EntityAccess(ref, frozenset(actions), frozenset(transitions), closed, scopes)


def readable_records(
    session: Session, actor: Actor, app: App, entity: Entity
) -> tuple[Select, EntityAccess] | None:
    """A SELECT of the ids of an entity's live records the actor may read (row scope applied),
    with the actor's access; None when the actor may read none of them."""
    try:
        access = entity_access(actor, app, published_of(session, entity).definition)
        if not access.allows("read"):
            return None
        dialect = session.get_bind().dialect.name
        scope = access.scope_clause("read", dialect, actor.expression_user())
    except (NotFound, PermissionDenied):
        return None
    query = select(Record.id).where(
        Record.workspace_id == actor.workspace_id,
        entity_is(entity.id),
        Record.deleted_at.is_(None),
    )
    return (query if scope is None else query.where(scope)), access


def role_grants(
    policy: dict[str, Any] | None, entity_key: str, roles: frozenset[str] | set[str]
) -> list[Grant]:
    """The grant each of ``roles`` has on an entity under ``policy`` (roles with none left out)."""
    entities = (policy or {}).get("entities", {})
    own, every = entities.get(entity_key, {}), entities.get(ALL, {})
    grants = []
    for role in sorted(roles):
        raw = own.get(role, every.get(role))
        if raw is not None:
            grants.append(Grant.from_json(raw))
        elif role in BUILTIN_DEFAULTS:
            grants.append(BUILTIN_DEFAULTS[role])
    return grants


def _scope(source: str, definition: EntityDefinition) -> RowScope:
    try:
        return compile_scope(source, definition)
    except ExpressionError as exc:
        # Checked when saved; a later publish may have removed a field it names.
        raise PermissionDenied(
            f"The row scope on '{definition.key}' no longer applies: {exc}"
        ) from None


# -- checking and saving policies -----------------------------------------------------


@lru_cache(maxsize=1)
def _policy_validator() -> jsonschema.Draft202012Validator:
    text = resources.files("jizuo.platform").joinpath("schemas/app-permissions.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


def workspace_roles(session: Session, workspace_id: int) -> list[str]:
    """Every role key of a workspace: the built-in ones, then those it defined."""
    defined = session.scalars(
        select(Role.key).where(Role.workspace_id == workspace_id).order_by(Role.key)
    )
    return [*BUILTIN_ROLES, *defined]


def check_policy(
    policy: Any,
    definitions: dict[str, EntityDefinition | None],
    roles: list[str],
) -> dict[str, Any]:
    """Check a policy against the app's entities (key → published definition or None) and the
    workspace's roles; every problem is reported at once, each with a JSON-pointer path."""
    errors = [
        error("/" + "/".join(str(p) for p in e.absolute_path), e.message)
        for e in _policy_validator().iter_errors(policy)
    ]
    if errors:
        raise ValidationFailed("The permissions are not valid.", errors=errors)
    for entity_key, by_role in policy.get("entities", {}).items():
        if entity_key != ALL and entity_key not in definitions:
            errors.append(error(f"/entities/{entity_key}", "the app has no such entity"))
            continue
        targets = (
            [d for d in definitions.values() if d is not None]
            if entity_key == ALL
            else [definitions[entity_key]]
        )
        for role, grant in by_role.items():
            path = f"/entities/{entity_key}/{role}"
            if role == ADMIN:
                errors.append(error(path, "admins may do everything; their rights are not set"))
            elif role not in roles:
                errors.append(error(path, f"the workspace has no role '{role}'"))
            errors += _grant_errors(path, grant, entity_key, targets)
    if errors:
        raise ValidationFailed("The permissions are not valid.", errors=errors)
    return policy


def _grant_errors(
    path: str, grant: dict[str, Any], entity_key: str, targets: list[EntityDefinition | None]
) -> list[dict[str, str]]:
    errors = []
    if None in targets and (grant.get("fields") or grant.get("scope")):
        errors.append(error(path, f"publish '{entity_key}' before restricting fields or rows"))
        return errors
    for key in grant.get("fields", {}):
        if entity_key != ALL and key not in targets[0].fields:
            errors.append(error(f"{path}/fields/{key}", f"'{entity_key}' has no field '{key}'"))
    if entity_key == ALL and grant.get("fields"):
        errors.append(error(f"{path}/fields", "restrict fields per entity, not for '*'"))
    if grant.get("scope"):
        for definition in targets:
            try:
                compile_scope(grant["scope"], definition)
            except ExpressionError as exc:
                errors.append(error(f"{path}/scope", f"{definition.key}: {exc}"))
    return errors


def app_definitions(session: Session, app: App) -> dict[str, EntityDefinition | None]:
    """The app's entities by key, each with its current published definition (or None)."""
    out: dict[str, EntityDefinition | None] = {}
    for entity in session.scalars(select(Entity).where(Entity.app_id == app.id)):
        out[entity.key] = (
            published_of(session, entity).definition if entity.published_version else None
        )
    return out


def save_app_permissions(session: Session, actor: Actor, app: App, policy: Any) -> App:
    """Check and store an app's policy (workspace admins only); the change is logged."""
    if not actor.has_role(ADMIN) or actor.read_only:
        raise PermissionDenied("Only workspace admins may change permissions.")
    checked = check_policy(
        policy, app_definitions(session, app), workspace_roles(session, actor.workspace_id)
    )
    app.permissions = checked
    log_admin_event(session, actor, "permissions.save", f"app:{app.key}", {"policy": checked})
    session.flush()
    return app


def define_role(
    session: Session,
    actor: Actor,
    key: str,
    title: Any,
    description: str | None = None,
    pack_key: str | None = None,
) -> Role:
    """Add a role to the workspace (admins, or a pack installed by one)."""
    if not actor.has_role(ADMIN) or actor.read_only:
        raise PermissionDenied("Only workspace admins may define roles.")
    check_key(key, "role")
    if key in workspace_roles(session, actor.workspace_id):
        raise Conflict(f"Role '{key}' exists already.", errors=[error("/key", "already in use")])
    role = Role(
        workspace_id=actor.workspace_id,
        key=key,
        title=check_title(title),
        description=description,
        pack_key=pack_key,
    )
    session.add(role)
    log_admin_event(session, actor, "role.define", f"role:{key}", {"title": role.title})
    session.flush()
    return role
