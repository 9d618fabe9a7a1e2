"""The designer's routes in the OpenAPI document (``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

BASE = "/api/v1/designer"
PROBLEMS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
}


def _op(op_id: str, summary: str, ok: str = "200", body: bool = False, **extra: Any) -> dict:
    content = {"application/json": {"schema": {"type": "object"}}}
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": ["designer"],
        "responses": {ok: {"description": summary, "content": content}, **PROBLEMS},
    }
    if body:
        operation["requestBody"] = {"required": True, "content": content}
    operation.update(extra)
    return operation


def _params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


def designer_paths() -> dict[str, Any]:
    """Paths of the designer's API (admins and designers)."""
    entity = f"{BASE}/apps/{{app}}/entities/{{entity}}"
    workflow = f"{BASE}/apps/{{app}}/workflows/{{key}}"
    automation = f"{BASE}/apps/{{app}}/automations/{{key}}"
    edit = "({version, ops}); 412 when the draft changed meanwhile"
    svg = {"200": {"description": "SVG", "content": {"image/svg+xml": {"schema": {}}}}}
    return {
        f"{BASE}/apps": {
            "get": _op("designer_list_apps", "The app launcher: apps with icon, colour, counts"),
            "post": _op(
                "designer_create_app", "Create an app ({key, title, icon, color})", "201", True
            ),
        },  # fmt: skip
        f"{BASE}/apps/{{app}}": {
            "parameters": _params("app"),
            "patch": _op("designer_update_app", "Rename an app, set its icon or colour", body=True),
            "delete": _op(
                "designer_delete_app",
                "Delete an app with everything in it (?confirm=<app key>)",
                parameters=[_query("confirm", {"type": "string"})],
            ),
        },
        f"{BASE}/apps/{{app}}/deletion": {
            "parameters": _params("app"),
            "get": _op("designer_deletion_preview", "What deleting the app would remove"),
        },
        f"{BASE}/apps/{{app}}/export": {
            "parameters": _params("app"),
            "get": _op(
                "designer_export_app",
                "The app as one JSON document (?records=true adds its records)",
                parameters=[_query("records", {"type": "boolean"})],
            ),
        },
        f"{BASE}/imports": {
            "post": _op(
                "designer_import_app",
                "Import an exported app ({document, on_conflict, app_key, dry_run})",
                "201",
                True,
            ),
        },
        f"{entity}/draft": {
            "parameters": _params("app", "entity"),
            "get": _op("designer_entity_draft", "The draft, its version and its problems"),
        },
        f"{entity}/draft/ops": {
            "parameters": _params("app", "entity"),
            "post": _op("designer_entity_ops", f"Apply design operations {edit}", body=True),
        },
        f"{entity}/draft/undo": {
            "parameters": _params("app", "entity"),
            "post": _op("designer_entity_undo", "Undo the last edit ({version})", body=True),
        },
        f"{entity}/draft/redo": {
            "parameters": _params("app", "entity"),
            "post": _op("designer_entity_redo", "Redo the last undone edit ({version})", body=True),
        },
        f"{entity}/draft/revert": {
            "parameters": _params("app", "entity"),
            "post": _op(
                "designer_entity_revert",
                "Make a published version the draft again ({to_version, version})",
                body=True,
            ),
        },
        f"{entity}/publish/preview": {
            "parameters": _params("app", "entity"),
            "post": _op(
                "designer_publish_preview",
                "Difference from the published version and compatibility report ({migration})",
                body=True,
            ),
        },
        f"{entity}/publish": {
            "parameters": _params("app", "entity"),
            "post": _op(
                "designer_publish",
                "Publish the draft with its renames and a migration ({version, migration})",
                "201",
                True,
            ),
        },
        f"{entity}/versions": {
            "parameters": _params("app", "entity"),
            "get": _op("designer_entity_versions", "Published versions: who, when, migration"),
        },
        f"{entity}/expressions/check": {
            "parameters": _params("app", "entity"),
            "post": _op(
                "designer_check_expression",
                "Check an expression against the draft ({expression, table}); where it is wrong",
                body=True,
            ),
        },
        f"{entity}/expressions/complete": {
            "parameters": _params("app", "entity"),
            "get": _op(
                "designer_complete_expression",
                "Field and function names for a prefix (?prefix=, ?table=)",
                parameters=[
                    _query("prefix", {"type": "string"}),
                    _query("table", {"type": "string"}),
                ],
            ),
        },
        f"{BASE}/apps/{{app}}/workflows": {
            "parameters": _params("app"),
            "post": _op("designer_create_workflow", "A new workflow ({key, entity})", "201", True),
        },
        f"{workflow}/draft": {
            "parameters": _params("app", "key"),
            "get": _op("designer_workflow_draft", "The workflow draft, its version and problems"),
        },
        f"{workflow}/draft/ops": {
            "parameters": _params("app", "key"),
            "post": _op("designer_workflow_ops", f"Apply workflow operations {edit}", body=True),
        },
        f"{workflow}/draft/undo": {
            "parameters": _params("app", "key"),
            "post": _op("designer_workflow_undo", "Undo the last edit ({version})", body=True),
        },
        f"{workflow}/draft/redo": {
            "parameters": _params("app", "key"),
            "post": _op("designer_workflow_redo", "Redo the last undone edit", body=True),
        },
        f"{workflow}/diagram": {
            "parameters": _params("app", "key"),
            "get": _op(
                "designer_workflow_diagram",
                "The workflow drawn as SVG (?lang=en|zh)",
                parameters=[_query("lang", {"enum": ["en", "zh"]})],
                responses={**svg, **PROBLEMS},
            ),
        },
        **definition_paths(),
        f"{BASE}/apps/{{app}}/automations": {
            "parameters": _params("app"),
            "post": _op(
                "designer_create_automation",
                "A new automation on the records of an entity ({key, entity: 'app.entity'})",
                "201",
                True,
            ),
        },
        f"{BASE}/apps/{{app}}/reports": {
            "parameters": _params("app"),
            "post": _op(
                "designer_create_report",
                "A new report on the records of an entity ({key, entity: 'app.entity'})",
                "201",
                True,
            ),
        },
        f"{automation}/expressions/check": {
            "parameters": _params("app", "key"),
            "post": _op(
                "designer_check_automation_expression",
                "Check an expression (or a {{ }} template) against the draft's trigger",
                body=True,
            ),
        },
        f"{automation}/expressions/complete": {
            "parameters": _params("app", "key"),
            "get": _op(
                "designer_complete_automation_expression",
                "Names for the text before the cursor (?prefix=; record. gives fields)",
                parameters=[_query("prefix", {"type": "string"})],
            ),
        },
        f"{automation}/dry-run": {
            "parameters": _params("app", "key"),
            "post": _op(
                "designer_automation_dry_run",
                "Test the draft with a record ({record_id} or {payload}): what each action "
                "would do or the error it would hit; nothing is written, sent or notified",
                body=True,
            ),
        },
    }


def definition_paths() -> dict[str, Any]:
    """Automations and reports, edited as whole drafts."""
    paths: dict[str, Any] = {}
    for kinds in ("automations", "reports"):
        one = kinds[:-1]
        base = f"{BASE}/apps/{{app}}/{kinds}/{{key}}"
        paths[f"{base}/draft"] = {
            "parameters": _params("app", "key"),
            "get": _op(f"designer_{one}_draft", f"The {one} draft, its version and problems"),
            "put": _op(
                f"designer_save_{one}_draft",
                f"Save the whole {one} draft ({{version, draft}}); 412 when it changed meanwhile",
                body=True,
            ),
        }
        for step in ("undo", "redo"):
            paths[f"{base}/draft/{step}"] = {
                "parameters": _params("app", "key"),
                "post": _op(f"designer_{one}_{step}", f"{step.title()} ({{version}})", body=True),
            }
        paths[f"{base}/publish"] = {
            "parameters": _params("app", "key"),
            "post": _op(
                f"designer_publish_{one}", f"Publish the {one} draft ({{version}})", "201", True
            ),
        }
    return paths
