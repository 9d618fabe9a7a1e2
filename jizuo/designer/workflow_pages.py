"""The workflow designer's page: the diagram (SVG laid out by ``workflow_diagram``), the
problems the kernel's checker finds, and forms for states and transitions that post
operations to the same service as the designer's API (with the draft's version)."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from jizuo.designer import workflow_drafts
from jizuo.designer.pages import attempt, designer
from jizuo.designer.workflow_design import CATEGORIES
from jizuo.platform import catalog
from jizuo.platform.db import get_session
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.platform.web import select_locale

WORKFLOW = "/apps/<app_key>/workflows/<key>"


def diagram_labels() -> dict[str, str]:
    return {
        "diagram": _("Workflow diagram"),
        "unreachable": _("cannot be reached"),
        "dead_end": _("no way out"),
        "initial": _("initial state"),
    }


@designer.get(WORKFLOW)
@access(MEMBER_RULE)
def workflow_designer(app_key: str, key: str) -> str:
    session = get_session()
    state = workflow_drafts.workflow_draft(session, g.actor, app_key, key)
    # Our own SVG: every text in it is escaped by the diagram's renderer, and it has no script.
    svg = workflow_drafts.workflow_svg(
        session, g.actor, app_key, key, select_locale(), diagram_labels()
    )
    return render_template(
        "designer/workflow.html",
        app=catalog.get_app(session, g.actor, app_key),
        key=key,
        state=state,
        body=state.draft,
        svg=Markup(svg),
        categories=CATEGORIES,
    )


def _list(name: str) -> list[str]:
    return [part.strip() for part in request.form.get(name, "").split(",") if part.strip()]


def _text(name: str) -> Any:
    title = {}
    for lang in ("en", "zh"):
        text = request.form.get(f"{name}_{lang}", "").strip()
        if text:
            title[lang] = text
    return title or None


def _transition_ops(transition: str) -> list[dict[str, Any]]:
    """``set_transition`` operations for the properties the transition form posts."""
    ops: list[dict[str, Any]] = []

    def set_(prop: str, value: Any) -> None:
        ops.append(
            {"op": "set_transition", "transition": transition, "property": prop, "value": value}
        )

    set_("roles", _list("roles") or None)
    set_("guard", request.form.get("guard", "").strip() or None)
    set_("required_fields", _list("required_fields") or None)
    set_("signature", _list("signature") or None)
    set_("comment_required", request.form.get("comment_required") == "on")
    role = request.form.get("approval_role", "").strip()
    if role:
        approvals: dict[str, Any] = {"role": role, "mode": request.form.get("approval_mode", "any")}
        if approvals["mode"] == "count":
            approvals["count"] = int(request.form.get("approval_count") or 1)
        set_("approvals", approvals)
    else:
        set_("approvals", None)
    return ops


def posted_ops() -> list[dict[str, Any]]:
    """The operations one of the page's forms stands for."""
    action = request.form.get("action")
    if action == "add_state":
        op: dict[str, Any] = {
            "op": "add_state",
            "title": _text("title"),
            "category": request.form.get("category", "active"),
        }
        if request.form.get("from"):
            op["from"] = request.form["from"]
        return [op]
    if action == "add_transition":
        return [
            {
                "op": "add_transition",
                "title": _text("title"),
                "from": request.form.getlist("from"),
                "to": request.form.get("to"),
            }
        ]
    if action == "set_transition":
        return _transition_ops(request.form.get("transition", ""))
    if action in ("remove_state", "set_initial"):
        return [{"op": action, "state": request.form.get("state")}]
    if action == "remove_transition":
        return [{"op": action, "transition": request.form.get("transition")}]
    if action == "ops":
        return json.loads(request.form.get("ops", "[]"))
    return []


@designer.post(f"{WORKFLOW}/ops")
@access(MEMBER_RULE)
def workflow_ops(app_key: str, key: str) -> Response:
    version = request.form.get("version", type=int)
    action = request.form.get("action")
    if action == "undo":
        attempt(workflow_drafts.undo_workflow, app_key, key, version)
    elif action == "redo":
        attempt(workflow_drafts.redo_workflow, app_key, key, version)
    else:
        try:
            ops = posted_ops()
        except (ValueError, TypeError):
            ops = None
        if ops is None:
            flash(_("The change could not be read."))
        elif attempt(workflow_drafts.design_workflow, app_key, key, ops, version):
            flash(_("Saved."))
    return redirect(url_for("designer.workflow_designer", app_key=app_key, key=key))
