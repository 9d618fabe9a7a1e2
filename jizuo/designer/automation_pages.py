"""The automation designer's page: trigger, condition and actions as forms whose every
change ``static/designer/automation.js`` saves as the whole draft through the designer's
API (with the draft's version); the editor part the page reloads after a change of
structure or an undo; "test with record…"; publishing and switching on and off."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from jizuo.designer import automation_drafts, definition_drafts
from jizuo.designer.automation_drafts import KIND
from jizuo.designer.pages import attempt, designer, refusal
from jizuo.platform import catalog
from jizuo.platform.automation_dry_run import dry_run_automation
from jizuo.platform.db import get_session
from jizuo.platform.definitions import get_definition
from jizuo.platform.errors import JizuoError, NotFound, PermissionDenied
from jizuo.platform.records import RecordStore
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.runtime.presenting import title_of

AUTOMATION = "/apps/<app_key>/automations/<key>"
#: How many of the trigger entity's latest records the record picker offers.
PICKER_SIZE = 20


def trigger_labels() -> dict[str, str]:
    return {
        "created": _("A record is created"),
        "updated": _("A record is changed"),
        "state_entered": _("A record enters a state"),
        "schedule": _("On a schedule"),
        "webhook": _("An inbound webhook is called"),
    }


def action_labels() -> dict[str, str]:
    return {
        "create_record": _("Create a record"),
        "update_record": _("Update a record"),
        "transition": _("Take a transition"),
        "webhook": _("Call a webhook"),
        "notify": _("Notify people"),
        "call": _("Call a pack function"),
    }


def messages() -> dict[str, str]:
    """The texts the page's script shows."""
    return {
        "saving": _("Saving…"),
        "saved": _("Saved"),
        "failed": _("Not saved:"),
        "stale": _(
            "Not saved: %(who)s changed this draft at %(when)s. Reload the page and make "
            "your change again."
        ),
        "someone": _("someone else"),
        "reload": _("Reload"),
        "expression_ok": _("Valid expression"),
        "testing": _("Testing…"),
        "no_problems": _("No problems."),
    }


def value_text(value: Any) -> str:
    """A ``values`` entry as its input shows it: texts are expressions, other JSON literal."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return {True: "True", False: "False", None: "None"}[value]
    return json.dumps(value, ensure_ascii=False)


def _recent_records(body: dict[str, Any]) -> list[tuple[int, str]]:
    """The trigger entity's latest records the designer may read, for the record picker."""
    trigger = body.get("trigger", {})
    if trigger.get("on") not in automation_drafts.RECORD_TRIGGERS:
        return []
    app_key, _dot, entity_key = trigger.get("entity", "").partition(".")
    try:
        records = RecordStore(get_session(), g.actor).entity(app_key, entity_key)
        page = records.list(order_by="-id", limit=PICKER_SIZE)
    except (NotFound, PermissionDenied):
        return []
    return [(r.id, title_of(records.definition, r.id, r.data)) for r in page.items]


def editor_context(app_key: str, key: str) -> dict[str, Any]:
    """What the editor part renders: the draft, its state and the forms' choices."""
    session = get_session()
    state = automation_drafts.automation_draft(session, g.actor, app_key, key)
    body = state.draft or {}
    return {
        "app": catalog.get_app(session, g.actor, app_key),
        "key": key,
        "state": state,
        "body": body,
        "choices": automation_drafts.form_choices(session, g.actor, body),
        "triggers": trigger_labels(),
        "action_labels": action_labels(),
        "value_text": value_text,
        "recent": _recent_records(body),
    }


@designer.get(AUTOMATION)
@access(MEMBER_RULE)
def automation_designer(app_key: str, key: str) -> str:
    found = get_definition(get_session(), g.actor, app_key, KIND, key)
    return render_template(
        "designer/automation.html",
        definition=found,
        messages=messages(),
        **editor_context(app_key, key),
    )


@designer.get(f"{AUTOMATION}/editor")
@access(MEMBER_RULE)
def automation_editor(app_key: str, key: str) -> str:
    return render_template("designer/_automation_editor.html", **editor_context(app_key, key))


@designer.post("/apps/<app_key>/automations")
@access(MEMBER_RULE)
def create_automation(app_key: str) -> Response:
    key = request.form.get("key", "").strip()
    entity = request.form.get("entity", "")
    if attempt(automation_drafts.create_automation, app_key, key, entity) is None:
        return redirect(url_for("designer.app_page", app_key=app_key))
    return redirect(url_for("designer.automation_designer", app_key=app_key, key=key))


@designer.post(f"{AUTOMATION}/publish")
@access(MEMBER_RULE)
def publish_automation(app_key: str, key: str) -> Response:
    version = request.form.get("version", type=int)
    number = attempt(definition_drafts.publish_draft, app_key, KIND, key, version)
    if number is not None:
        flash(_("Published as version %(v)s.", v=number))
    return redirect(url_for("designer.automation_designer", app_key=app_key, key=key))


@designer.post(f"{AUTOMATION}/enabled")
@access(MEMBER_RULE)
def switch_automation(app_key: str, key: str) -> Response:
    enabled = request.form.get("enabled") == "true"
    if attempt(definition_drafts.switch, app_key, KIND, key, enabled):
        flash(_("Switched on.") if enabled else _("Switched off."))
    return redirect(url_for("designer.automation_designer", app_key=app_key, key=key))


@designer.post(f"{AUTOMATION}/dry-run")
@access(MEMBER_RULE)
def automation_dry_run(app_key: str, key: str) -> tuple[str, int]:
    """The "test with record…" panel's answer, as HTML; nothing is ever written."""
    session = get_session()
    record_id = request.form.get("record_id", "").strip() or None
    payload = None
    if request.form.get("payload", "").strip():
        try:
            payload = json.loads(request.form["payload"])
        except json.JSONDecodeError as exc:
            return render_template("designer/_dry_run.html", refusal=str(exc)), 422
    try:
        result = dry_run_automation(session, g.actor, app_key, key, record_id, payload=payload)
    except JizuoError as exc:
        return render_template("designer/_dry_run.html", refusal=refusal(exc)), exc.status
    finally:
        session.rollback()
    return render_template(
        "designer/_dry_run.html", result=result, action_labels=action_labels()
    ), 200
