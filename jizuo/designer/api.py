"""The designer's API under ``/api/v1/designer``, for admins and designers.

The drag-and-drop pages call it: every edit is a list of operations on a draft, sent with
the draft's version and saved at once (the autosave); the answer is the new draft, its
version and what would still stop it from being published.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import gettext as _

from jizuo.designer import (
    apps,
    entity_drafts,
    expression_help,
    publish_preview,
    transfer,
    workflow_drafts,
)
from jizuo.designer.drafts import require_designer
from jizuo.platform.api.problems import json_body
from jizuo.platform.api.serialize import job_json
from jizuo.platform.catalog import get_entity
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest
from jizuo.platform.jobs import get_job
from jizuo.platform.security import MEMBER_RULE, access

designer_api = Blueprint("designer_api", __name__, url_prefix="/api/v1/designer")

ENTITY = "/apps/<app_key>/entities/<entity_key>"
WORKFLOW = "/apps/<app_key>/workflows/<key>"


@designer_api.before_request
def _designers_only() -> None:
    # The gate has authenticated the caller (every route here is for members); the designer
    # is for the designer and admin roles only.
    require_designer(g.actor)


def _flag(name: str) -> bool:
    raw = request.args.get(name, "false")
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"'{name}' must be true or false.")
    return raw in ("true", "1")


def _committed(payload: dict[str, Any], status: int = 200) -> tuple[Response, int]:
    get_session().commit()
    return jsonify(payload), status


# -- apps --------------------------------------------------------------------------------


@designer_api.get("/apps")
@access(MEMBER_RULE)
def list_apps() -> Response:
    return jsonify({"items": apps.launcher(get_session(), g.actor)})


@designer_api.post("/apps")
@access(MEMBER_RULE)
def create_app() -> tuple[Response, int]:
    created = apps.create_app(get_session(), g.actor, json_body())
    return _committed(apps.app_summary(get_session(), created), 201)


@designer_api.patch("/apps/<app_key>")
@access(MEMBER_RULE)
def update_app(app_key: str) -> tuple[Response, int]:
    changed = apps.update_app(get_session(), g.actor, app_key, json_body())
    return _committed(apps.app_summary(get_session(), changed))


@designer_api.get("/apps/<app_key>/deletion")
@access(MEMBER_RULE)
def deletion_preview(app_key: str) -> Response:
    return jsonify(apps.deletion_preview(get_session(), g.actor, app_key))


@designer_api.delete("/apps/<app_key>")
@access(MEMBER_RULE)
def delete_app(app_key: str) -> tuple[Response, int]:
    confirm = request.args.get("confirm")
    return _committed(apps.delete_app(get_session(), g.actor, app_key, confirm))


@designer_api.get("/apps/<app_key>/export")
@access(MEMBER_RULE)
def export_app(app_key: str) -> Response:
    document = transfer.export_app(get_session(), g.actor, app_key, records=_flag("records"))
    response = jsonify(document)
    response.headers["Content-Disposition"] = f'attachment; filename="{app_key}.jizuo-app.json"'
    return response


@designer_api.post("/imports")
@access(MEMBER_RULE)
def import_app() -> tuple[Response, int]:
    body = json_body()
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadRequest("'dry_run' must be true or false.")
    result = transfer.import_app(
        get_session(),
        g.actor,
        body.get("document"),
        on_conflict=body.get("on_conflict"),
        app_key=body.get("app_key"),
        dry_run=dry_run,
    )
    if dry_run:
        get_session().rollback()
        return jsonify(result), 200
    return _committed(result, 201)


# -- the form designer -------------------------------------------------------------------


@designer_api.get(f"{ENTITY}/draft")
@access(MEMBER_RULE)
def entity_draft(app_key: str, entity_key: str) -> Response:
    state = entity_drafts.entity_draft(get_session(), g.actor, app_key, entity_key)
    return jsonify(state.to_dict())


@designer_api.post(f"{ENTITY}/draft/ops")
@access(MEMBER_RULE)
def entity_ops(app_key: str, entity_key: str) -> tuple[Response, int]:
    body = json_body()
    state = entity_drafts.design_entity(
        get_session(), g.actor, app_key, entity_key, body.get("ops"), body.get("version")
    )
    return _committed(state.to_dict())


@designer_api.post(f"{ENTITY}/draft/undo")
@access(MEMBER_RULE)
def entity_undo(app_key: str, entity_key: str) -> tuple[Response, int]:
    version = json_body().get("version")
    state = entity_drafts.undo_entity(get_session(), g.actor, app_key, entity_key, version)
    return _committed(state.to_dict())


@designer_api.post(f"{ENTITY}/draft/redo")
@access(MEMBER_RULE)
def entity_redo(app_key: str, entity_key: str) -> tuple[Response, int]:
    version = json_body().get("version")
    state = entity_drafts.redo_entity(get_session(), g.actor, app_key, entity_key, version)
    return _committed(state.to_dict())


@designer_api.post(f"{ENTITY}/draft/revert")
@access(MEMBER_RULE)
def entity_revert(app_key: str, entity_key: str) -> tuple[Response, int]:
    body = json_body()
    state = entity_drafts.revert_entity(
        get_session(), g.actor, app_key, entity_key, body.get("to_version"), body.get("version")
    )
    return _committed(state.to_dict())


@designer_api.post(f"{ENTITY}/publish/preview")
@access(MEMBER_RULE)
def entity_publish_preview(app_key: str, entity_key: str) -> Response:
    migration = json_body().get("migration")
    session = get_session()
    preview = publish_preview.preview_publish(session, g.actor, app_key, entity_key, migration)
    session.rollback()
    return jsonify(preview)


@designer_api.post(f"{ENTITY}/publish")
@access(MEMBER_RULE)
def entity_publish(app_key: str, entity_key: str) -> tuple[Response, int]:
    body = json_body()
    session = get_session()
    result = publish_preview.publish_draft(
        session, g.actor, app_key, entity_key, body.get("migration"), body.get("version")
    )
    session.commit()
    payload: dict[str, Any] = {
        "version": result.version,
        "report": result.report.to_dict(),
        "job": None,
        "draft_version": get_entity(session, g.actor, app_key, entity_key).draft_version,
    }
    if result.job_id:
        payload["job"] = job_json(get_job(session, result.job_id, g.actor.workspace_id))
    return jsonify(payload), 201


@designer_api.get(f"{ENTITY}/versions")
@access(MEMBER_RULE)
def entity_versions(app_key: str, entity_key: str) -> Response:
    rows = publish_preview.version_history(get_session(), g.actor, app_key, entity_key)
    return jsonify({"items": rows})


@designer_api.post(f"{ENTITY}/expressions/check")
@access(MEMBER_RULE)
def check_expression(app_key: str, entity_key: str) -> Response:
    body = json_body()
    draft = entity_drafts.entity_draft(get_session(), g.actor, app_key, entity_key).draft
    result = expression_help.check_draft_expression(
        draft, body.get("expression"), body.get("table")
    )
    return jsonify(result)


@designer_api.get(f"{ENTITY}/expressions/complete")
@access(MEMBER_RULE)
def complete_expression(app_key: str, entity_key: str) -> Response:
    draft = entity_drafts.entity_draft(get_session(), g.actor, app_key, entity_key).draft
    items = expression_help.complete_names(
        draft, request.args.get("prefix", ""), request.args.get("table")
    )
    return jsonify({"items": items})


# -- the workflow designer ---------------------------------------------------------------


def _diagram_labels() -> dict[str, str]:
    return {
        "diagram": _("Workflow diagram"),
        "unreachable": _("cannot be reached"),
        "dead_end": _("no way out"),
        "initial": _("initial state"),
    }


def _language() -> str:
    lang = request.args.get("lang", "en")
    if lang not in ("en", "zh"):
        raise BadRequest("'lang' is en or zh.")
    return lang


@designer_api.post("/apps/<app_key>/workflows")
@access(MEMBER_RULE)
def create_workflow(app_key: str) -> tuple[Response, int]:
    body = json_body()
    state = workflow_drafts.create_workflow(
        get_session(), g.actor, app_key, body.get("key"), body.get("entity")
    )
    return _committed(state.to_dict(), 201)


@designer_api.get(f"{WORKFLOW}/draft")
@access(MEMBER_RULE)
def workflow_draft(app_key: str, key: str) -> Response:
    state = workflow_drafts.workflow_draft(get_session(), g.actor, app_key, key)
    return jsonify(state.to_dict())


@designer_api.post(f"{WORKFLOW}/draft/ops")
@access(MEMBER_RULE)
def workflow_ops(app_key: str, key: str) -> tuple[Response, int]:
    body = json_body()
    state = workflow_drafts.design_workflow(
        get_session(), g.actor, app_key, key, body.get("ops"), body.get("version")
    )
    return _committed(state.to_dict())


@designer_api.post(f"{WORKFLOW}/draft/undo")
@access(MEMBER_RULE)
def workflow_undo(app_key: str, key: str) -> tuple[Response, int]:
    version = json_body().get("version")
    state = workflow_drafts.undo_workflow(get_session(), g.actor, app_key, key, version)
    return _committed(state.to_dict())


@designer_api.post(f"{WORKFLOW}/draft/redo")
@access(MEMBER_RULE)
def workflow_redo(app_key: str, key: str) -> tuple[Response, int]:
    version = json_body().get("version")
    state = workflow_drafts.redo_workflow(get_session(), g.actor, app_key, key, version)
    return _committed(state.to_dict())


@designer_api.get(f"{WORKFLOW}/diagram")
@access(MEMBER_RULE)
def workflow_diagram(app_key: str, key: str) -> Response:
    svg = workflow_drafts.workflow_svg(
        get_session(), g.actor, app_key, key, _language(), _diagram_labels()
    )
    return Response(svg, mimetype="image/svg+xml")


def init_app(app: Any) -> None:
    """Register the designer's API and describe it in the OpenAPI document."""
    from jizuo.designer.openapi import designer_paths
    from jizuo.platform.api.openapi import register_paths

    app.register_blueprint(designer_api)
    register_paths(app, designer_paths)
