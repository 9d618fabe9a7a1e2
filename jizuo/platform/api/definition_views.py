"""Workflows, automations, reports and dashboards of an app: draft, publish, versions."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify

from jizuo.platform.api import api
from jizuo.platform.api.problems import json_body
from jizuo.platform.api.serialize import iso_time
from jizuo.platform.db import get_session
from jizuo.platform.definitions import (
    definition_versions,
    get_definition,
    list_definitions,
    publish_definition,
    published_body,
    save_draft_definition,
    set_enabled,
)
from jizuo.platform.errors import BadRequest
from jizuo.platform.models import Definition

KINDS = "<any(workflows, automations, reports, dashboards):kinds>"
BASE = f"/apps/<app_key>/{KINDS}"


def _json(found: Definition, app_key: str, body: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "key": found.key,
        "kind": found.kind,
        "app": app_key,
        "published_version": found.published_version,
        "enabled": found.enabled,
        "definition": body,
        "draft": found.draft,
        "draft_updated_at": iso_time(found.draft_updated_at),
    }


@api.get(BASE)
def list_kind(app_key: str, kinds: str) -> Response:
    found = list_definitions(get_session(), g.actor, app_key, kinds[:-1])
    return jsonify({"items": [_json(d, app_key, None) for d in found]})


@api.get(f"{BASE}/<key>")
@api.get(f"{BASE}/<key>/definition")  # for reports, the bare URL runs the report
def get_kind(app_key: str, kinds: str, key: str) -> Response:
    session = get_session()
    found = get_definition(session, g.actor, app_key, kinds[:-1], key)
    return jsonify(_json(found, app_key, published_body(session, found)))


@api.put(f"{BASE}/<key>/draft")
def save_kind_draft(app_key: str, kinds: str, key: str) -> Response:
    session = get_session()
    found = save_draft_definition(session, g.actor, app_key, kinds[:-1], key, json_body())
    session.commit()
    return jsonify(_json(found, app_key, published_body(session, found)))


@api.post(f"{BASE}/<key>/publish")
def publish_kind(app_key: str, kinds: str, key: str) -> tuple[Response, int]:
    session = get_session()
    version = publish_definition(session, g.actor, app_key, kinds[:-1], key)
    session.commit()
    return jsonify({"key": key, "version": version.version, "definition": version.body}), 201


@api.get(f"{BASE}/<key>/versions")
def kind_versions(app_key: str, kinds: str, key: str) -> Response:
    rows = definition_versions(get_session(), g.actor, app_key, kinds[:-1], key)
    items = [{**r, "published_at": iso_time(r["published_at"])} for r in rows]
    return jsonify({"items": items})


@api.post(f"{BASE}/<key>/enabled")
def enable_kind(app_key: str, kinds: str, key: str) -> Response:
    body = json_body()
    if not isinstance(body.get("enabled"), bool):
        raise BadRequest('Send {"enabled": true} or {"enabled": false}.')
    session = get_session()
    found = set_enabled(session, g.actor, app_key, kinds[:-1], key, body["enabled"])
    session.commit()
    return jsonify(_json(found, app_key, published_body(session, found)))
