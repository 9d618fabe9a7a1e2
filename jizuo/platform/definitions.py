"""Versioned definitions of an app other than entities: workflows, automations, reports and
dashboards. Like an entity, each has one draft and immutable published versions.

What a body must look like is up to its kind: a module registers a checker per kind
(``definition_checker``), called when a draft is saved and again when it is published
(the entities and roles it names may have changed in between). The checker returns the
body to store, or raises ValidationFailed with every problem at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.catalog import check_key, get_app
from jizuo.platform.errors import BadRequest, NotFound, ValidationFailed, error
from jizuo.platform.models import App, Definition, DefinitionVersion, utcnow

KINDS = ("workflow", "automation", "report", "dashboard")

#: ``checker(session, actor, app, key, body) -> body to store``
Checker = Callable[[Session, Actor, App, str, Any], dict[str, Any]]
_CHECKERS: dict[str, Checker] = {}


def definition_checker(kind: str) -> Callable[[Checker], Checker]:
    """Register the checker of one kind of definition (decorator)."""
    if kind not in KINDS:
        raise ValueError(f"unknown definition kind {kind!r}")

    def register(checker: Checker) -> Checker:
        _CHECKERS[kind] = checker
        return checker

    return register


def _check(session: Session, actor: Actor, app: App, kind: str, key: str, body: Any) -> dict:
    checker = _CHECKERS.get(kind)
    if checker is None:
        raise BadRequest(f"Definitions of kind '{kind}' are not supported yet.")
    if not isinstance(body, dict):
        raise ValidationFailed(
            "A definition is a JSON object.", errors=[error("", "not an object")]
        )
    return checker(session, actor, app, key, body)


def check_definition(
    session: Session, actor: Actor, app: App, kind: str, key: str, body: Any
) -> dict[str, Any]:
    """Check a body with its kind's checker without storing it (a designer's problem list)."""
    return _check(session, actor, app, _kind(kind), key, body)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"No kind of definition '{kind}'.")
    return kind


def get_definition(session: Session, actor: Actor, app_key: str, kind: str, key: str) -> Definition:
    """One definition of an app of the actor's workspace, or NotFound."""
    app = get_app(session, actor, app_key)
    found = session.scalar(
        select(Definition).where(
            Definition.app_id == app.id, Definition.kind == _kind(kind), Definition.key == key
        )
    )
    if found is None:
        raise NotFound(f"No {kind} '{app_key}.{key}'.")
    return found


def list_definitions(session: Session, actor: Actor, app_key: str, kind: str) -> list[Definition]:
    """The definitions of one kind of an app, by key."""
    app = get_app(session, actor, app_key)
    return list(
        session.scalars(
            select(Definition)
            .where(Definition.app_id == app.id, Definition.kind == _kind(kind))
            .order_by(Definition.key)
        )
    )


def save_draft_definition(
    session: Session, actor: Actor, app_key: str, kind: str, key: str, body: Any
) -> Definition:
    """Create a definition or replace its draft (designers and admins), checked first."""
    actor.require_design()
    check_key(key, kind)
    app = get_app(session, actor, app_key)
    checked = _check(session, actor, app, _kind(kind), key, body)
    found = session.scalar(
        select(Definition).where(
            Definition.app_id == app.id, Definition.kind == kind, Definition.key == key
        )
    )
    if found is None:
        found = Definition(workspace_id=actor.workspace_id, app_id=app.id, kind=kind, key=key)
        session.add(found)
    found.draft = checked
    found.draft_updated_at = utcnow()
    found.draft_updated_by = actor.user_id
    found.draft_version = (found.draft_version or 0) + 1
    session.flush()
    return found


def publish_definition(
    session: Session, actor: Actor, app_key: str, kind: str, key: str
) -> DefinitionVersion:
    """Publish the draft as the next version (checked again against the app as it is now)."""
    actor.require_design()
    found = get_definition(session, actor, app_key, kind, key)
    if found.draft is None:
        raise ValidationFailed("There is no draft to publish.", errors=[error("/draft", "empty")])
    app = session.get(App, found.app_id)
    body = _check(session, actor, app, kind, key, found.draft)
    version = DefinitionVersion(
        definition_id=found.id,
        version=(found.published_version or 0) + 1,
        body=body,
        published_by=actor.user_id,
    )
    session.add(version)
    found.published_version = version.version
    found.draft = None
    found.draft_version = (found.draft_version or 0) + 1
    session.flush()
    return version


@dataclass(frozen=True)
class Published:
    """A definition with the body of its current published version."""

    definition: Definition
    app_key: str
    version: int
    body: dict[str, Any]


def published_definitions(
    session: Session, workspace_id: int, kind: str, *, app_id: int | None = None
) -> list[Published]:
    """The enabled, published definitions of one kind in a workspace (optionally one app)."""
    query = (
        select(Definition, App.key, DefinitionVersion.body)
        .join(App, App.id == Definition.app_id)
        .join(
            DefinitionVersion,
            (DefinitionVersion.definition_id == Definition.id)
            & (DefinitionVersion.version == Definition.published_version),
        )
        .where(
            Definition.workspace_id == workspace_id,
            Definition.kind == _kind(kind),
            Definition.enabled.is_(True),
        )
        .order_by(Definition.id)
    )
    if app_id is not None:
        query = query.where(Definition.app_id == app_id)
    return [
        Published(definition, app_key, definition.published_version, body)
        for definition, app_key, body in session.execute(query)
    ]


def definition_versions(
    session: Session, actor: Actor, app_key: str, kind: str, key: str
) -> list[dict[str, Any]]:
    """Every published version: number, when, by whom (newest first)."""
    found = get_definition(session, actor, app_key, kind, key)
    rows = session.execute(
        select(
            DefinitionVersion.version,
            DefinitionVersion.published_at,
            DefinitionVersion.published_by,
        )
        .where(DefinitionVersion.definition_id == found.id)
        .order_by(DefinitionVersion.version.desc())
    )
    return [dict(r._mapping) for r in rows]


def published_body(session: Session, definition: Definition) -> dict[str, Any] | None:
    """The body of a definition's current published version (None if never published)."""
    if definition.published_version is None:
        return None
    return session.scalar(
        select(DefinitionVersion.body).where(
            DefinitionVersion.definition_id == definition.id,
            DefinitionVersion.version == definition.published_version,
        )
    )


def set_enabled(
    session: Session, actor: Actor, app_key: str, kind: str, key: str, enabled: bool
) -> Definition:
    """Switch a definition on or off (an automation paused, say) without a new version."""
    actor.require_design()
    found = get_definition(session, actor, app_key, kind, key)
    found.enabled = bool(enabled)
    session.flush()
    return found
