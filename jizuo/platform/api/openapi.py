"""``/api/v1/openapi.json``: an OpenAPI 3.1 document generated from the published entities.

Each published entity's schema is a component; its record routes are paths. Titles
given as ``{"en", "zh"}`` maps become plain strings (JSON Schema wants a string),
with the map kept under ``x-title``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

import jizuo
from jizuo.platform.actor import Actor
from jizuo.platform.api import api
from jizuo.platform.api.report_views import EXPORTS
from jizuo.platform.catalog import published_of
from jizuo.platform.db import get_session
from jizuo.platform.models import App, Entity

I18N_KEYWORDS = ("title", "description")


def _plain_schema(schema: Any) -> Any:
    """A copy of an entity schema that is valid JSON Schema for OpenAPI tools."""
    if isinstance(schema, list):
        return [_plain_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in I18N_KEYWORDS and isinstance(value, dict):
            out[key] = value.get("en") or next(iter(value.values()))
            out[f"x-{key}"] = copy.deepcopy(value)
        elif key in ("properties", "$defs"):
            out[key] = {name: _plain_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = _plain_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROBLEM_RESPONSES = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
}


def _record_envelope(data_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "version", "data"],
        "properties": {
            "id": {"type": "integer"},
            "entity": {"type": "string"},
            "version": {"type": "integer"},
            "entity_version": {"type": "integer"},
            "state": {"type": ["string", "null"]},
            "data": _ref(data_ref),
            "created_at": {"type": "string", "format": "date-time"},
            "created_by": {"type": ["integer", "null"]},
            "updated_at": {"type": "string", "format": "date-time"},
            "updated_by": {"type": ["integer", "null"]},
        },
    }


def _entity_paths(name: str, base: str) -> dict[str, Any]:
    record = f"{name}.record"
    record_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    if_match = {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}}
    listing = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref(record)},
            "next_cursor": {"type": ["string", "null"]},
        },
    }
    list_params = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "order_by", "in": "query", "schema": {"type": "string"}},
    ]
    op_id = name.replace(".", "_")
    return {
        f"{base}/records": {
            "get": {
                "operationId": f"list_{op_id}",
                "summary": f"List {name} records (filters: field=value, field__gte=…)",
                "parameters": list_params,
                "responses": {"200": _json(listing, "A page of records"), **PROBLEM_RESPONSES},
            },
            "post": {
                "operationId": f"create_{op_id}",
                "requestBody": {"required": True, **_json(_ref(name), "The record's data")},
                "responses": {
                    "201": _json(_ref(record), "Created"),
                    "422": {"$ref": "#/components/responses/Invalid"},
                    **PROBLEM_RESPONSES,
                },
            },
        },
        **{f"{base}/records.{fmt}": _export_path(op_id, fmt) for fmt in ("csv", "xlsx")},
        f"{base}/records/{{id}}": {
            "parameters": [record_id],
            "get": {
                "operationId": f"get_{op_id}",
                "responses": {"200": _json(_ref(record), "The record"), **PROBLEM_RESPONSES},
            },
            "patch": {
                "operationId": f"update_{op_id}",
                "parameters": [if_match],
                "requestBody": {
                    "required": True,
                    "content": {"application/merge-patch+json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": _json(_ref(record), "The updated record"),
                    "412": {"$ref": "#/components/responses/Stale"},
                    "422": {"$ref": "#/components/responses/Invalid"},
                    **PROBLEM_RESPONSES,
                },
            },
            "delete": {
                "operationId": f"delete_{op_id}",
                "responses": {"204": {"description": "Deleted"}, **PROBLEM_RESPONSES},
            },
        },
    }


EXPORT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _export_path(op_id: str, fmt: str) -> dict[str, Any]:
    """The list as a file, with the list's filters, ``order_by``, search ``q`` and ``lang``."""
    query = [
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("order_by", "q", "lang")
    ]
    file = {"type": "string", "contentMediaType": EXPORT_TYPES[fmt]}
    return {
        "get": {
            "operationId": f"export_{op_id}_{fmt}",
            "summary": f"The filtered list as {fmt.upper()} (filters as for the list); "
            "a large export answers 202 with the job writing it",
            "parameters": query,
            "responses": {
                "200": {
                    "description": "The file",
                    "content": {EXPORT_TYPES[fmt]: {"schema": file}},
                },
                "202": _json({"type": "object"}, "The export job (Location: the job)"),
                **PROBLEM_RESPONSES,
            },
        }
    }


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _op(op_id: str, summary: str, ok: str = "200", body: bool = False, **extra: Any) -> dict:
    """An operation of the platform's own routes (their bodies are plain JSON objects)."""
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "responses": {ok: _json({"type": "object"}, summary), **PROBLEM_RESPONSES},
    }
    if body:
        operation["requestBody"] = {"required": True, **_json({"type": "object"}, "JSON body")}
    operation.update(extra)
    return operation


def _path_params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


KINDS = ("workflows", "automations", "reports", "dashboards")


def _kinds_params(*names: str, kinds: tuple[str, ...] = KINDS) -> list[dict[str, Any]]:
    kind = {"name": "kinds", "in": "path", "required": True, "schema": {"enum": list(kinds)}}
    return [*_path_params(*names), kind]


def report_paths() -> dict[str, Any]:
    """A report's rows as JSON, and as a file per export format."""
    params = [
        *_path_params("app", "key"),
        {"name": "lang", "in": "query", "schema": {"enum": ["en", "zh"]}},
        {
            "name": "filters",
            "in": "query",
            "style": "form",
            "explode": True,
            "description": "Extra filters as in record lists: field=value, field__gte=…, "
            "supplier.name=… (paths of the report)",
            "schema": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    ]
    base = "/api/v1/apps/{app}/reports/{key}"
    rows = _json(_ref("ReportResult"), "Columns, rows and totals over what the caller may see")
    paths: dict[str, Any] = {
        base: {
            "parameters": params,
            "get": {
                "operationId": "run_report",
                "summary": "Run a published report",
                "responses": {"200": rows, **PROBLEM_RESPONSES},
            },
        }
    }
    for name, export in EXPORTS.items():
        media_type = export.media_type.split(";")[0]
        paths[f"{base}.{name}"] = {
            "parameters": params,
            "get": {
                "operationId": f"export_report_{name}",
                "summary": f"A published report as {name.upper()} (needs the export right)",
                "responses": {
                    "200": {
                        "description": f"The report as {name.upper()}",
                        "content": {media_type: {"schema": {"type": "string"}}},
                    },
                    **PROBLEM_RESPONSES,
                },
            },
        }
    return paths


REPORT_RESULT = {
    "type": "object",
    "required": ["app", "report", "version", "columns", "rows"],
    "properties": {
        "app": {"type": "string"},
        "report": {"type": "string"},
        "version": {"type": "integer"},
        "title": {"type": "object", "additionalProperties": {"type": "string"}},
        "columns": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "title", "type", "role"],
                "properties": {
                    "key": {"type": "string"},
                    "title": {"type": "object", "additionalProperties": {"type": "string"}},
                    "type": {"enum": ["integer", "number", "text", "boolean", "date", "datetime"]},
                    "role": {"enum": ["group", "pivot", "measure", "share"]},
                    "measure": {"type": "string"},
                    "pivot_value": {},
                },
            },
        },
        "rows": {"type": "array", "items": {"type": "object"}},
        "totals": {"type": ["object", "null"]},
        "has_other": {"type": "boolean"},
        "chart": {"type": ["object", "null"]},
    },
}


def platform_paths() -> dict[str, Any]:
    """The routes every workspace has: apps, entities and their publishing, jobs, files."""
    base = "/api/v1/apps/{app}/entities/{entity}"
    upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string"}}}
            }
        },
    }
    text = {"type": "string"}
    import_upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "attachment": {"type": "integer"},
                        "mapping": {**text, "description": "JSON: column → field key or null"},
                        "reference_keys": {**text, "description": "JSON: field → key field"},
                        "mode": {"enum": ["all_or_nothing", "valid_rows"]},
                        "date_order": {"enum": ["day_first", "month_first"]},
                        "decimal_sign": {"enum": ["auto", ".", ","]},
                        "sheet": text,
                        "header_row": {"type": "integer", "minimum": 1},
                        "dry_run": {"type": "boolean"},
                    },
                }
            }
        },
    }
    return {
        "/api/v1/apps": {
            "get": _op("list_apps", "The apps of the workspace"),
            "post": _op("create_app", "Add an app ({key, title})", "201", body=True),
        },
        "/api/v1/apps/{app}": {
            "parameters": _path_params("app"),
            "get": _op("get_app", "An app and its entities"),
        },
        "/api/v1/apps/{app}/entities": {
            "parameters": _path_params("app"),
            "get": _op("list_entities", "The entities of an app"),
            "post": _op("create_entity", "Add an entity (its definition as draft)", "201", True),
        },
        base: {
            "parameters": _path_params("app", "entity"),
            "get": _op("get_entity", "An entity: published definition and draft"),
        },
        f"{base}/draft": {
            "parameters": _path_params("app", "entity"),
            "put": _op("save_draft", "Replace the draft definition", body=True),
        },
        f"{base}/publish": {
            "parameters": _path_params("app", "entity"),
            "post": _op("publish", "Publish the draft ({migration, dry_run})", "201", True),
        },
        f"{base}/versions": {
            "parameters": _path_params("app", "entity"),
            "get": _op("list_versions", "Published versions, newest first"),
        },
        f"{base}/access": {
            "parameters": _path_params("app", "entity"),
            "get": _op("my_access", "What the caller may do: actions, transitions, field levels"),
        },
        f"{base}/evaluate": {
            "parameters": _path_params("app", "entity"),
            "post": _op(
                "evaluate_rules",
                "Rules of a draft record ({data, record_id?}): visible, required, readonly, "
                "computed values and spec marks, as the server evaluates them",
                body=True,
            ),
        },
        f"{base}/imports": {
            "parameters": _path_params("app", "entity"),
            "post": _op(
                "import_records",
                "Import a CSV or XLSX file (multipart: file or attachment, mapping, "
                "reference_keys, mode, date_order, decimal_sign, sheet, header_row, dry_run): "
                "the dry run's report, or 202 and the import job",
                "202",
                requestBody=import_upload,
                responses={
                    "200": _json({"type": "object"}, "The dry run's report"),
                    "202": _json({"type": "object"}, "The import job"),
                    **PROBLEM_RESPONSES,
                    "403": _problem_response("The caller may not create these records"),
                    "413": _problem_response("The file has too many bytes or rows"),
                    "422": {"$ref": "#/components/responses/Invalid"},
                },
            ),
        },
        f"{base}/imports/{{id}}": {
            "parameters": _path_params("app", "entity", "id"),
            "get": _op("get_import", "An import job: progress, counts and the refused rows"),
        },
        "/api/v1/apps/{app}/permissions": {
            "parameters": _path_params("app"),
            "get": _op("get_permissions", "The app's permission policy (admins)"),
            "put": _op(
                "put_permissions", "Replace the app's permission policy (admins)", body=True
            ),
        },
        "/api/v1/apps/{app}/{kinds}": {
            "parameters": _kinds_params("app"),
            "get": _op("list_definitions", "Workflows, automations, reports or dashboards"),
        },
        "/api/v1/apps/{app}/{kinds}/{key}": {
            "parameters": _kinds_params(
                "app", "key", kinds=("workflows", "automations", "dashboards")
            ),
            "get": _op("get_definition", "A definition: published body and draft"),
        },
        "/api/v1/apps/{app}/{kinds}/{key}/definition": {
            "parameters": _kinds_params("app", "key"),
            "get": _op(
                "get_definition_body",
                "A definition: published body and draft (for reports, the bare URL runs them)",
            ),
        },
        "/api/v1/apps/{app}/{kinds}/{key}/draft": {
            "parameters": _kinds_params("app", "key"),
            "put": _op("save_definition_draft", "Create or replace the draft", body=True),
        },
        "/api/v1/apps/{app}/{kinds}/{key}/publish": {
            "parameters": _kinds_params("app", "key"),
            "post": _op("publish_definition", "Publish the draft as a new version", "201"),
        },
        "/api/v1/apps/{app}/{kinds}/{key}/versions": {
            "parameters": _kinds_params("app", "key"),
            "get": _op("list_definition_versions", "Published versions, newest first"),
        },
        "/api/v1/apps/{app}/{kinds}/{key}/enabled": {
            "parameters": _kinds_params("app", "key"),
            "post": _op("enable_definition", "Switch on or off ({enabled})", body=True),
        },
        "/api/v1/apps/{app}/automations/{key}/webhook": {
            "parameters": _path_params("app", "key"),
            "get": _op("get_automation_webhook", "Where the automation's inbound webhook is"),
            "post": _op(
                "issue_automation_webhook", "A new webhook URL and HMAC secret, shown once", "201"
            ),
        },
        "/api/v1/notifications": {
            "get": _op("list_notifications", "The caller's notifications (?unread=true, limit)"),
        },
        "/api/v1/notifications/read": {
            "post": _op("read_notifications", "Mark notifications read ({ids}, or all)", body=True),
        },
        "/api/v1/openapi.json": {
            "get": _op("openapi", "This document, for the caller's workspace"),
        },
        "/api/v1/roles": {
            "get": _op("list_roles", "The workspace's roles, built-in and defined"),
            "post": _op("create_role", "Define a role ({key, title, description})", "201", True),
        },
        "/api/v1/jobs": {
            "get": _op(
                "list_jobs",
                "The workspace's recent background jobs, newest first",
                parameters=[
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"enum": ["queued", "started", "retrying", "finished", "failed"]},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                ],
            ),
        },
        "/api/v1/jobs/{id}": {
            "parameters": _path_params("id"),
            "get": _op("get_job", "Status and progress of a background job"),
        },
        "/api/v1/jobs/{id}/retry": {
            "parameters": _path_params("id"),
            "post": _op("retry_job", "Run a failed job again (admins, or its creator)", "202"),
        },
        "/api/v1/attachments": {
            "post": _op("upload_attachment", "Upload a file", "201", requestBody=upload),
        },
        "/api/v1/attachments/{id}": {
            "parameters": _path_params("id"),
            "get": _op("get_attachment", "An attachment's metadata"),
        },
        "/api/v1/attachments/{id}/content": {
            "parameters": _path_params("id"),
            "get": _op("download_attachment", "An attachment's bytes"),
        },
        f"{base}/records/{{id}}/transitions": {
            "parameters": _path_params("app", "entity", "id"),
            "get": _op(
                "list_transitions",
                "The record's state and the transitions leaving it: allowed now, or why not",
            ),
        },
        f"{base}/records/{{id}}/transitions/{{name}}": {
            "parameters": _path_params("app", "entity", "id", "name"),
            "post": _op(
                "take_transition",
                "Take a transition ({values, comment, signature}; If-Match optional)",
                body=True,
            ),
        },
        f"{base}/records/{{id}}/approvals/{{transition}}": {
            "parameters": _path_params("app", "entity", "id", "transition"),
            "post": _op(
                "decide_approval",
                "Approve or reject a transition ({decision, comment})",
                "201",
                True,
            ),
        },
        f"{base}/records/{{id}}/assignments": {
            "parameters": _path_params("app", "entity", "id"),
            "post": _op(
                "create_assignment", "Assign the record ({user} or {role}, due_at)", "201", True
            ),
        },
        **report_paths(),
        "/api/v1/tasks": {
            "get": _op("my_tasks", "Approvals the caller may give and assignments to them"),
        },
        "/api/v1/assignments/overdue": {
            "get": _op("overdue_assignments", "Open assignments past their due time"),
        },
    }


def register_paths(app: Flask, paths: Callable[[], dict[str, Any]]) -> None:
    """Let a part built on the platform (the designer) describe its own routes."""
    app.extensions["jizuo"].setdefault("openapi_paths", []).append(paths)


def build_openapi(session: Session, actor: Actor) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the actor's workspace."""
    schemas: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string"},
                            "message": {"type": "string"},
                            "code": {"type": "string"},
                        },
                    },
                },
            },
        }
    }
    schemas["ReportResult"] = REPORT_RESULT
    paths: dict[str, Any] = platform_paths()
    for more in current_app.extensions["jizuo"].get("openapi_paths", []):
        paths.update(more())
    rows = session.execute(
        select(App.key, Entity)
        .join(Entity, Entity.app_id == App.id)
        .where(App.workspace_id == actor.workspace_id, Entity.published_version.is_not(None))
        .order_by(App.key, Entity.key)
    )
    for app_key, entity in rows:
        name = f"{app_key}.{entity.key}"
        definition = published_of(session, entity).definition
        schemas[name] = _plain_schema({"title": definition.raw["title"], **definition.schema})
        schemas[f"{name}.record"] = _record_envelope(name)
        paths.update(_entity_paths(name, f"/api/v1/apps/{app_key}/entities/{entity.key}"))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jizuo API", "version": jizuo.__version__},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "BadRequest": _problem_response("Malformed request"),
                "Unauthorized": _problem_response("Missing or invalid token"),
                "NotFound": _problem_response("No such resource in this workspace"),
                "Stale": _problem_response("The record changed since the given version"),
                "Invalid": _problem_response("The data violates the schema or rules"),
            },
        },
    }


@api.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(build_openapi(get_session(), g.actor))
