"""The permission matrix: what each role may do with each entity of an app.

A cell shows the grant in force — the entity's own, else the app's ``*`` grant, else the
built-in default — so an admin sees the effect, not only what was typed. Every save sends
the app's whole policy through ``save_app_permissions``, which checks it (fields, row
scopes, roles) and logs it; a refused policy changes nothing and the form keeps the input.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from jizuo.platform import catalog
from jizuo.platform.actor import ADMIN
from jizuo.platform.db import get_session
from jizuo.platform.errors import NotFound, ValidationFailed
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.models import App
from jizuo.platform.permissions import (
    ACTIONS,
    ALL,
    BUILTIN_DEFAULTS,
    FIELD_LEVELS,
    Grant,
    app_definitions,
    save_app_permissions,
    workspace_roles,
)
from jizuo.platform.security import ADMIN_RULE, access
from jizuo.platform.web.admin_users import NO_STORE, parse_json_field, problems
from jizuo.platform.web.blueprints import admin

Page = tuple[str, int, dict[str, str]]


@dataclass(frozen=True)
class Cell:
    """The grant in force for one role on one entity, and where it comes from."""

    role: str
    grant: Grant | None
    source: str  # explicit, star (the app's "*" grant), default (built-in) or none

    @property
    def actions(self) -> list[str]:
        return [a for a in ACTIONS if self.grant and a in self.grant.actions]


def effective(policy: dict[str, Any] | None, entity_key: str, role: str) -> Cell:
    """What ``role`` may do with ``entity_key`` (or ``*``) under ``policy``."""
    entities = (policy or {}).get("entities", {})
    if role in entities.get(entity_key, {}):
        return Cell(role, Grant.from_json(entities[entity_key][role]), "explicit")
    if entity_key != ALL and role in entities.get(ALL, {}):
        return Cell(role, Grant.from_json(entities[ALL][role]), "star")
    if role in BUILTIN_DEFAULTS:
        return Cell(role, BUILTIN_DEFAULTS[role], "default")
    return Cell(role, None, "none")


def _matrix_roles() -> list[str]:
    return [r for r in workspace_roles(get_session(), g.actor.workspace_id) if r != ADMIN]


def _app(app_key: str) -> tuple[App, dict[str, EntityDefinition | None]]:
    db = get_session()
    app = catalog.get_app(db, g.actor, app_key)
    return app, dict(sorted(app_definitions(db, app).items()))


def _target(app_key: str, entity_key: str, role: str) -> tuple[App, EntityDefinition | None]:
    """The app and the entity's published definition; NotFound for an unknown cell."""
    app, definitions = _app(app_key)
    if entity_key != ALL and entity_key not in definitions:
        raise NotFound(f"No entity '{app_key}.{entity_key}'.")
    if role not in _matrix_roles():
        raise NotFound(f"No role '{role}' to set rights for.")
    return app, definitions.get(entity_key)


@admin.get("/permissions")
@access(ADMIN_RULE)
def permissions() -> str:
    return render_template("admin/permissions.html", apps=catalog.list_apps(get_session(), g.actor))


@admin.get("/permissions/<app_key>")
@access(ADMIN_RULE)
def permission_matrix(app_key: str) -> Page:
    app, definitions = _app(app_key)
    roles = _matrix_roles()
    rows = [
        (key, definitions.get(key), [effective(app.permissions, key, r) for r in roles])
        for key in [ALL, *definitions]
    ]
    body = render_template("admin/matrix.html", app=app, roles=roles, rows=rows)
    return body, 200, NO_STORE


def _grant_from_form(form: MultiDict, field_keys: list[str]) -> dict[str, Any]:
    chosen = form.getlist("actions")
    grant: dict[str, Any] = {"actions": [a for a in ACTIONS if a in chosen]}
    names = [t.strip() for t in form.get("transitions", "").split(",") if t.strip()]
    if names:
        grant["transitions"] = list(dict.fromkeys(names))
    levels = {k: form.get(f"field.{k}", "write") for k in field_keys}
    if any(level != "write" for level in levels.values()):
        grant["fields"] = {k: level for k, level in levels.items() if level != "write"}
    if form.get("scope", "").strip():
        grant["scope"] = form["scope"].strip()
    return grant


def _grant_page(
    app: App,
    entity_key: str,
    role: str,
    definition: EntityDefinition | None,
    *,
    grant: dict[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
) -> Page:
    cell = effective(app.permissions, entity_key, role)
    if grant is None:
        current = cell.grant or Grant(frozenset())
        grant = {
            "actions": list(current.actions),
            "transitions": sorted(current.transitions),
            "fields": dict(current.fields),
            "scope": current.scope or "",
        }
    errors = errors or []
    scope_errors = [e for e in errors if e["path"].endswith("/scope")]
    fields = list(definition.fields.values()) if definition and entity_key != ALL else []
    body = render_template(
        "admin/grant.html",
        app=app,
        entity_key=entity_key,
        role=role,
        definition=definition,
        fields=fields,
        levels=list(reversed(FIELD_LEVELS)),
        actions=ACTIONS,
        grant=grant,
        source=cell.source,
        errors=errors,
        scope_errors=scope_errors,
    )
    return body, status, NO_STORE


@admin.get("/permissions/<app_key>/<entity_key>/<role>")
@access(ADMIN_RULE)
def grant(app_key: str, entity_key: str, role: str) -> Page:
    app, definition = _target(app_key, entity_key, role)
    return _grant_page(app, entity_key, role, definition)


def _save(app: App, policy: dict[str, Any]) -> None:
    save_app_permissions(get_session(), g.actor, app, policy)
    get_session().commit()
    flash(_("The permissions were saved."))


@admin.post("/permissions/<app_key>/<entity_key>/<role>")
@access(ADMIN_RULE)
def save_grant(app_key: str, entity_key: str, role: str) -> Page | Response:
    app, definition = _target(app_key, entity_key, role)
    keys = list(definition.fields) if definition and entity_key != ALL else []
    new_grant = _grant_from_form(request.form, keys)
    policy = copy.deepcopy(app.permissions or {})
    policy.setdefault("entities", {}).setdefault(entity_key, {})[role] = new_grant
    try:
        _save(app, policy)
    except ValidationFailed as exc:
        get_session().rollback()
        shown = {**new_grant, "scope": request.form.get("scope", "")}
        return _grant_page(
            app, entity_key, role, definition, grant=shown, errors=problems(exc), status=422
        )
    return redirect(f"/admin/permissions/{app_key}")


@admin.post("/permissions/<app_key>/<entity_key>/<role>/reset")
@access(ADMIN_RULE)
def reset_grant(app_key: str, entity_key: str, role: str) -> Page | Response:
    """Remove the explicit grant, so the ``*`` grant or the built-in default applies again."""
    app, definition = _target(app_key, entity_key, role)
    policy = copy.deepcopy(app.permissions or {})
    by_role = policy.get("entities", {}).get(entity_key, {})
    if role in by_role:
        del by_role[role]
        if not by_role:
            del policy["entities"][entity_key]
        try:
            _save(app, policy)
        except ValidationFailed as exc:
            get_session().rollback()
            return _grant_page(app, entity_key, role, definition, errors=problems(exc), status=422)
    return redirect(f"/admin/permissions/{app_key}")


def _policy_page(
    app: App, text: str, errors: list[dict[str, str]] | None = None, status: int = 200
) -> Page:
    body = render_template("admin/policy.html", app=app, text=text, errors=errors or [])
    return body, status, NO_STORE


@admin.get("/permissions/<app_key>/policy")
@access(ADMIN_RULE)
def policy_json(app_key: str) -> Page:
    app, _definitions = _app(app_key)
    text = json.dumps(app.permissions or {"entities": {}}, indent=2, ensure_ascii=False)
    return _policy_page(app, text)


@admin.post("/permissions/<app_key>/policy")
@access(ADMIN_RULE)
def save_policy_json(app_key: str) -> Page | Response:
    app, _definitions = _app(app_key)
    text = request.form.get("policy", "")
    try:
        _save(app, parse_json_field(text, "", {}))
    except ValidationFailed as exc:
        get_session().rollback()
        return _policy_page(app, text, problems(exc), 422)
    return redirect(f"/admin/permissions/{app_key}")
