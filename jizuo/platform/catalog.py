"""Workspaces, apps and entities: the metadata records live under.

Every look-up is scoped to the actor's workspace; something in another workspace
is answered exactly like something missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.errors import Conflict, NotFound, ValidationFailed, error
from jizuo.platform.metadata import EntityDefinition, validate_definition
from jizuo.platform.models import App, Entity, EntityVersion, Record, Workspace, utcnow
from jizuo.platform.validation import RecordValidator

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not re.match(KEY_PATTERN, key):
        raise ValidationFailed(
            f"Invalid {what} key.",
            errors=[error("/key", "use lower-case letters, digits and _, starting with a letter")],
        )
    return key


def check_title(title: Any) -> dict[str, str]:
    if isinstance(title, str) and title.strip():
        return {"en": title}
    if (
        isinstance(title, dict)
        and title
        and set(title) <= {"en", "zh"}
        and all(isinstance(v, str) and v.strip() for v in title.values())
    ):
        return title
    raise ValidationFailed(
        "Invalid title.", errors=[error("/title", 'give a text or {"en": ..., "zh": ...}')]
    )


def create_workspace(session: Session, key: str, title: Any) -> Workspace:
    """A new tenant."""
    check_key(key, "workspace")
    if session.scalar(select(Workspace).where(Workspace.key == key)):
        raise Conflict(f"Workspace '{key}' exists already.")
    workspace = Workspace(key=key, title=check_title(title))
    session.add(workspace)
    session.flush()
    return workspace


def create_app_definition(
    session: Session, actor: Actor, key: Any, title: Any, pack: tuple[str, str] | None = None
) -> App:
    """Add an app to the actor's workspace."""
    actor.require_design()
    check_key(key, "app")
    if session.scalar(select(App).where(App.workspace_id == actor.workspace_id, App.key == key)):
        raise Conflict(f"App '{key}' exists already.", errors=[error("/key", "already in use")])
    app = App(workspace_id=actor.workspace_id, key=key, title=check_title(title))
    if pack:
        app.pack_key, app.pack_version = pack
    session.add(app)
    session.flush()
    return app


def list_apps(session: Session, actor: Actor) -> list[App]:
    """The apps of the actor's workspace (those a token is limited to, for a token)."""
    apps = session.scalars(
        select(App).where(App.workspace_id == actor.workspace_id).order_by(App.key)
    )
    return [app for app in apps if actor.may_use_app(app.key)]


def get_app(session: Session, actor: Actor, key: str) -> App:
    """One app of the actor's workspace, or NotFound (also for an app a token may not use)."""
    app = None
    if actor.may_use_app(key):
        app = session.scalar(
            select(App).where(App.workspace_id == actor.workspace_id, App.key == key)
        )
    if app is None:
        raise NotFound(f"No app '{key}'.")
    return app


def list_entities(session: Session, actor: Actor, app_key: str) -> list[Entity]:
    """The entities of an app."""
    app = get_app(session, actor, app_key)
    return list(session.scalars(select(Entity).where(Entity.app_id == app.id).order_by(Entity.key)))


def get_entity(session: Session, actor: Actor, app_key: str, entity_key: str) -> Entity:
    """One entity of an app of the actor's workspace, or NotFound."""
    return get_app_entity(session, actor, app_key, entity_key)[1]


def get_app_entity(
    session: Session, actor: Actor, app_key: str, entity_key: str
) -> tuple[App, Entity]:
    """An entity and its app, in the actor's workspace, in one query; or NotFound."""
    row = None
    if actor.may_use_app(app_key):
        row = session.execute(
            select(App, Entity)
            .join(Entity, App.id == Entity.app_id)
            .where(
                App.workspace_id == actor.workspace_id,
                App.key == app_key,
                Entity.key == entity_key,
            )
        ).first()
    if row is None:
        raise NotFound(f"No entity '{app_key}.{entity_key}'.")
    return row[0], row[1]


def create_entity(session: Session, actor: Actor, app_key: str, definition: Any) -> Entity:
    """Add an entity to an app, its definition saved as the draft (publish to use it)."""
    actor.require_design()
    app = get_app(session, actor, app_key)
    checked = validate_definition(definition)
    exists = session.scalar(
        select(Entity).where(Entity.app_id == app.id, Entity.key == checked.key)
    )
    if exists:
        raise Conflict(f"Entity '{app_key}.{checked.key}' exists already.")
    entity = Entity(
        workspace_id=actor.workspace_id,
        app_id=app.id,
        key=checked.key,
        draft=definition,
        draft_updated_at=utcnow(),
        draft_updated_by=actor.user_id,
        draft_version=1,
    )
    session.add(entity)
    session.flush()
    return entity


def save_draft(
    session: Session, actor: Actor, app_key: str, entity_key: str, definition: Any
) -> Entity:
    """Replace an entity's draft; the key cannot change (it names the records' entity)."""
    actor.require_design()
    entity = get_entity(session, actor, app_key, entity_key)
    checked = validate_definition(definition)
    if checked.key != entity.key:
        raise ValidationFailed(
            "The entity key cannot change.", errors=[error("/key", f"must stay '{entity.key}'")]
        )
    entity.draft = definition
    entity.draft_updated_at = utcnow()
    entity.draft_updated_by = actor.user_id
    entity.draft_version = (entity.draft_version or 0) + 1
    return entity


@dataclass(frozen=True)
class PublishedEntity:
    """An entity with its current published definition, ready to validate records."""

    entity: Entity
    version: int
    definition: EntityDefinition
    validator: RecordValidator
    app: App | None = None


@lru_cache(maxsize=512)
def _compile(definition_json: str) -> tuple[EntityDefinition, RecordValidator]:
    # Keyed by the definition's text, not its id: ids repeat across databases.
    definition = validate_definition(json.loads(definition_json))
    return definition, RecordValidator(definition)


def compile_definition(raw: dict[str, Any]) -> tuple[EntityDefinition, RecordValidator]:
    """The checked definition and its validator, built once per distinct definition."""
    return _compile(json.dumps(raw, sort_keys=True))


def published_entity(
    session: Session, actor: Actor, app_key: str, entity_key: str
) -> PublishedEntity:
    """The current published version of an entity; NotFound when never published."""
    app, entity = get_app_entity(session, actor, app_key, entity_key)
    published = published_of(session, entity)
    return PublishedEntity(
        entity, published.version, published.definition, published.validator, app
    )


#: Compiled published versions by (entity id, version, entity creation time): versions
#: are immutable, and the creation time tells apart entities of different databases
#: that happen to share an id.
_VERSIONS: dict[tuple[int, int, Any], tuple[EntityDefinition, RecordValidator]] = {}
_VERSIONS_MAX = 512


def published_of(session: Session, entity: Entity, version: int | None = None) -> PublishedEntity:
    """The published definition of an entity (its current one unless ``version`` is given)."""
    version = version or entity.published_version
    if version is None:
        raise NotFound(f"Entity '{entity.key}' has not been published yet.")
    key = (entity.id, version, entity.created_at)
    compiled = _VERSIONS.get(key)
    if compiled is None:
        raw = session.scalar(
            select(EntityVersion.definition).where(
                EntityVersion.entity_id == entity.id, EntityVersion.version == version
            )
        )
        compiled = compile_definition(raw)
        if len(_VERSIONS) >= _VERSIONS_MAX:
            _VERSIONS.pop(next(iter(_VERSIONS)))
        _VERSIONS[key] = compiled
    definition, validator = compiled
    return PublishedEntity(entity, version, definition, validator)


def entity_by_ref(session: Session, actor: Actor, ref: str) -> Entity:
    """The entity an ``x-ref: "app.entity"`` names, in the actor's workspace."""
    app_key, _, entity_key = ref.partition(".")
    return get_entity(session, actor, app_key, entity_key)


def count_records(session: Session, entity: Entity) -> int:
    """How many live records an entity has."""
    return session.scalar(
        select(func.count())
        .select_from(Record)
        .where(
            Record.workspace_id == entity.workspace_id,
            Record.entity_id == entity.id,
            Record.deleted_at.is_(None),
        )
    )
