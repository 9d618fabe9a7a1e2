"""Apps and entities (draft and publish)."""

from __future__ import annotations

from flask import Response, g, jsonify

from jizuo.platform import catalog, publishing
from jizuo.platform.api import api
from jizuo.platform.api.problems import json_body
from jizuo.platform.api.serialize import app_json, entity_json, job_json
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest
from jizuo.platform.jobs import get_job


@api.get("/apps")
def list_apps() -> Response:
    apps = catalog.list_apps(get_session(), g.actor)
    return jsonify({"items": [app_json(a) for a in apps]})


@api.post("/apps")
def create_app() -> tuple[Response, int]:
    body = json_body()
    session = get_session()
    app = catalog.create_app_definition(session, g.actor, body.get("key"), body.get("title"))
    session.commit()
    return jsonify(app_json(app)), 201


@api.get("/apps/<app_key>")
def get_app(app_key: str) -> Response:
    session = get_session()
    app = catalog.get_app(session, g.actor, app_key)
    entities = catalog.list_entities(session, g.actor, app_key)
    return jsonify({**app_json(app), "entities": [e.key for e in entities]})


def _entity_body(app_key: str, entity_key: str) -> dict:
    session = get_session()
    entity = catalog.get_entity(session, g.actor, app_key, entity_key)
    definition = None
    if entity.published_version:
        definition = catalog.published_of(session, entity).definition.raw
    return entity_json(entity, app_key, definition)


@api.get("/apps/<app_key>/entities")
def list_entities(app_key: str) -> Response:
    entities = catalog.list_entities(get_session(), g.actor, app_key)
    return jsonify({"items": [_entity_body(app_key, e.key) for e in entities]})


@api.post("/apps/<app_key>/entities")
def create_entity(app_key: str) -> tuple[Response, int]:
    session = get_session()
    entity = catalog.create_entity(session, g.actor, app_key, json_body())
    session.commit()
    return jsonify(_entity_body(app_key, entity.key)), 201


@api.get("/apps/<app_key>/entities/<entity_key>")
def get_entity(app_key: str, entity_key: str) -> Response:
    return jsonify(_entity_body(app_key, entity_key))


@api.put("/apps/<app_key>/entities/<entity_key>/draft")
def save_draft(app_key: str, entity_key: str) -> Response:
    session = get_session()
    catalog.save_draft(session, g.actor, app_key, entity_key, json_body())
    session.commit()
    return jsonify(_entity_body(app_key, entity_key))


@api.post("/apps/<app_key>/entities/<entity_key>/publish")
def publish(app_key: str, entity_key: str) -> tuple[Response, int]:
    body = json_body()
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadRequest("'dry_run' must be true or false.")
    session = get_session()
    result = publishing.publish_entity(
        session, g.actor, app_key, entity_key, body.get("migration"), dry_run=dry_run
    )
    session.commit()
    payload = {"version": result.version, "report": result.report.to_dict(), "job": None}
    if result.job_id:
        payload["job"] = job_json(get_job(get_session(), result.job_id, g.actor.workspace_id))
    return jsonify(payload), 200 if dry_run else 201


@api.get("/apps/<app_key>/entities/<entity_key>/versions")
def versions(app_key: str, entity_key: str) -> Response:
    rows = publishing.version_history(get_session(), g.actor, app_key, entity_key)
    return jsonify({"items": [{**r, "published_at": r["published_at"].isoformat()} for r in rows]})
