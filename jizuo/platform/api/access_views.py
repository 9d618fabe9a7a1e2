"""Roles, app permission policies, and what the caller may do with an entity."""

from __future__ import annotations

from flask import Response, g, jsonify
from sqlalchemy import select

from jizuo.platform import catalog
from jizuo.platform.api import api
from jizuo.platform.api.problems import json_body
from jizuo.platform.db import get_session
from jizuo.platform.errors import PermissionDenied
from jizuo.platform.models import Role
from jizuo.platform.permissions import (
    BUILTIN_ROLES,
    define_role,
    save_app_permissions,
)
from jizuo.platform.records import RecordStore


def _require_admin() -> None:
    if not g.actor.has_role("admin"):
        raise PermissionDenied("Only workspace admins may see or change permissions.")


@api.get("/roles")
def list_roles() -> Response:
    defined = get_session().scalars(
        select(Role).where(Role.workspace_id == g.actor.workspace_id).order_by(Role.key)
    )
    items = [{"key": key, "builtin": True} for key in BUILTIN_ROLES]
    items += [
        {"key": r.key, "builtin": False, "title": r.title, "description": r.description}
        for r in defined
    ]
    return jsonify({"items": items})


@api.post("/roles")
def create_role() -> tuple[Response, int]:
    body = json_body()
    session = get_session()
    role = define_role(
        session, g.actor, body.get("key"), body.get("title"), body.get("description")
    )
    session.commit()
    return jsonify({"key": role.key, "title": role.title, "description": role.description}), 201


@api.get("/apps/<app_key>/permissions")
def get_permissions(app_key: str) -> Response:
    _require_admin()
    app = catalog.get_app(get_session(), g.actor, app_key)
    return jsonify(app.permissions or {"entities": {}})


@api.put("/apps/<app_key>/permissions")
def put_permissions(app_key: str) -> Response:
    session = get_session()
    app = catalog.get_app(session, g.actor, app_key)
    save_app_permissions(session, g.actor, app, json_body())
    session.commit()
    return jsonify(app.permissions)


@api.get("/apps/<app_key>/entities/<entity_key>/access")
def my_access(app_key: str, entity_key: str) -> Response:
    """What the caller may do: clients hide what would be refused anyway."""
    access = RecordStore(get_session(), g.actor).entity(app_key, entity_key).access
    return jsonify(
        {
            "actions": sorted(access.actions),
            "transitions": sorted(access.transitions),
            "fields": access.field_levels,
            "row_scoped": sorted(a for a, s in access.scopes.items() if s is not None),
        }
    )
