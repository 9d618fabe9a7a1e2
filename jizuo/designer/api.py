"""The designer's API under ``/api/v1/designer``, for admins and designers.

The drag-and-drop pages call it: every edit is a list of operations on a draft, sent with
the draft's version and saved at once (the autosave); the answer is the new draft, its
version and what would still stop it from being published.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import gettext as _

from jizuo.designer import (
    apps,
    automation_drafts,
    definition_drafts,
    entity_drafts,
    expression_help,
    publish_preview,
    report_drafts,
    transfer,
    workflow_drafts,
)
from jizuo.designer.drafts import require_designer
from jizuo.platform.api.problems import json_body
from jizuo.platform.api.serialize import job_json
from jizuo.platform.automation_dry_run import dry_run_automation
from jizuo.platform.catalog import get_entity
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest
from jizuo.platform.jobs import get_job
from jizuo.platform.security import MEMBER_RULE, access

designer_api = Blueprint("designer_api", __name__, url_prefix="/api/v1/designer")

ENTITY = "/apps/<app_key>/entities/<entity_key>"
WORKFLOW = "/apps/<app_key>/workflows/<key>"
AUTOMATION = "/apps/<app_key>/automations/<key>"
#: Definitions edited as whole bodies: the automation and report designers.
WHOLE_KINDS = ("automations", "reports")


def _whole(method: str, suffix: str) -> Any:
    """Register a view for automations and reports alike (``kinds`` says which)."""

    def register(view: Any) -> Any:
        for kinds in WHOLE_KINDS:
            bound = functools.wraps(view)(functools.partial(view, kinds=kinds))
            designer_api.add_url_rule(
                f"/apps/<app_key>/{kinds}/<key>{suffix}",
                endpoint=f"{view.__name__}_{kinds}",
                view_func=bound,
                methods=[method],
            )
        return view

    return register


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


# -- automations and reports: whole drafts --------------------------------------------------


@_whole("GET", "/draft")
@access(MEMBER_RULE)
def definition_draft(app_key: str, kinds: str, key: str) -> Response:
    state = definition_drafts.definition_draft(get_session(), g.actor, app_key, kinds[:-1], key)
    return jsonify(state.to_dict())


@_whole("PUT", "/draft")
@access(MEMBER_RULE)
def replace_definition_draft(app_key: str, kinds: str, key: str) -> tuple[Response, int]:
    body = json_body()
    state = definition_drafts.replace_draft(
        get_session(), g.actor, app_key, kinds[:-1], key, body.get("draft"), body.get("version")
    )
    return _committed(state.to_dict())


@_whole("POST", "/draft/undo")
@access(MEMBER_RULE)
def undo_definition_draft(app_key: str, kinds: str, key: str) -> tuple[Response, int]:
    version = json_body().get("version")
    state = definition_drafts.walk_draft(
        get_session(), g.actor, app_key, kinds[:-1], key, version, undo=True
    )
    return _committed(state.to_dict())


@_whole("POST", "/draft/redo")
@access(MEMBER_RULE)
def redo_definition_draft(app_key: str, kinds: str, key: str) -> tuple[Response, int]:
    version = json_body().get("version")
    state = definition_drafts.walk_draft(
        get_session(), g.actor, app_key, kinds[:-1], key, version, undo=False
    )
    return _committed(state.to_dict())


@_whole("POST", "/publish")
@access(MEMBER_RULE)
def publish_definition_draft(app_key: str, kinds: str, key: str) -> tuple[Response, int]:
    session = get_session()
    version = json_body().get("version")
    number = definition_drafts.publish_draft(session, g.actor, app_key, kinds[:-1], key, version)
    state = definition_drafts.definition_draft(session, g.actor, app_key, kinds[:-1], key)
    return _committed({"published_version": number, **state.to_dict()}, 201)


@designer_api.post("/apps/<app_key>/automations")
@access(MEMBER_RULE)
def create_automation(app_key: str) -> tuple[Response, int]:
    body = json_body()
    state = automation_drafts.create_automation(
        get_session(), g.actor, app_key, body.get("key"), body.get("entity")
    )
    return _committed(state.to_dict(), 201)


@designer_api.post("/apps/<app_key>/reports")
@access(MEMBER_RULE)
def create_report(app_key: str) -> tuple[Response, int]:
    body = json_body()
    state = report_drafts.create_report(
        get_session(), g.actor, app_key, body.get("key"), body.get("entity")
    )
    return _committed(state.to_dict(), 201)


@designer_api.post(f"{AUTOMATION}/expressions/check")
@access(MEMBER_RULE)
def check_automation_expression(app_key: str, key: str) -> Response:
    body = json_body()
    template = body.get("template", False)
    if not isinstance(template, bool):
        raise BadRequest("'template' must be true or false.")
    result = automation_drafts.check_automation_expression(
        get_session(), g.actor, app_key, key, body.get("expression"), template
    )
    return jsonify(result)


@designer_api.get(f"{AUTOMATION}/expressions/complete")
@access(MEMBER_RULE)
def complete_automation_expression(app_key: str, key: str) -> Response:
    items = automation_drafts.complete_automation_names(
        get_session(), g.actor, app_key, key, request.args.get("prefix", "")[:2000]
    )
    return jsonify({"items": items})


@designer_api.post(f"{AUTOMATION}/dry-run")
@access(MEMBER_RULE)
def automation_dry_run(app_key: str, key: str) -> Response:
    body = json_body()
    session = get_session()
    try:
        result = dry_run_automation(
            session, g.actor, app_key, key, body.get("record_id"), payload=body.get("payload")
        )
    finally:
        session.rollback()  # a test run never writes, whatever happens
    return jsonify(result)


def init_app(app: Any) -> None:
    """Register the designer's API and describe it in the OpenAPI document."""
    from jizuo.designer.openapi import designer_paths
    from jizuo.platform.api.openapi import register_paths

    app.register_blueprint(designer_api)
    register_paths(app, designer_paths)
