"""The designer's pages (``/design``) for admins and designers: the app launcher, an app's
page (rename, look, entities, workflows, export, deletion) and the import of app files.

Views are thin: they parse the posted form, call the same services as the designer's API
and render; a refusal is shown on the page it came from, with the input kept.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from jizuo.designer import apps, automation_drafts, transfer, workflow_drafts
from jizuo.designer.drafts import require_designer
from jizuo.platform import catalog
from jizuo.platform.db import get_session
from jizuo.platform.errors import JizuoError, StaleVersion
from jizuo.platform.models import Definition
from jizuo.platform.security import MEMBER_RULE, PUBLIC, access
from jizuo.platform.workflows import KIND as WORKFLOW

#: An app file larger than this is refused before it is parsed.
MAX_IMPORT_BYTES = 20 * 1024 * 1024


class DesignerBlueprint(Blueprint):
    """The designer's pages and their scripts (``/design/designer-static``, public)."""

    @access(PUBLIC)
    def send_static_file(self, filename: str) -> Response:
        return super().send_static_file(filename)


designer = DesignerBlueprint(
    "designer",
    __name__,
    url_prefix="/design",
    template_folder="templates",
    static_folder="static",
    static_url_path="/designer-static",
)


@designer.before_request
def _designers_only() -> None:
    if request.endpoint != "designer.static":
        require_designer(g.actor)


def refusal(exc: JizuoError) -> str:
    """A service's refusal as the page shows it."""
    if isinstance(exc, StaleVersion):
        who = exc.extra.get("updated_by") or _("someone else")
        return _(
            "Not saved: %(who)s changed this draft at %(when)s. Reload the page and make "
            "your change again.",
            who=who,
            when=exc.extra.get("updated_at") or "",
        )
    details = "; ".join(f"{e.get('path') or '/'}: {e.get('message')}" for e in exc.errors[:5])
    return f"{exc.detail} {details}".strip()


def attempt(action: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service and commit; on a refusal roll back, flash why and return None."""
    session = get_session()
    try:
        result = action(session, g.actor, *args, **kwargs)
    except JizuoError as exc:
        session.rollback()
        flash(refusal(exc))
        return None
    session.commit()
    return result if result is not None else True


def title_from_form(prefix: str = "title") -> dict[str, str]:
    """An en/zh title from ``title_en`` and ``title_zh`` (empty languages left out)."""
    title = {}
    for lang in ("en", "zh"):
        text = request.form.get(f"{prefix}_{lang}", "").strip()
        if text:
            title[lang] = text
    return title


def _look() -> dict[str, Any]:
    icon = request.form.get("icon", "").strip() or None
    color = request.form.get("color", "").strip() or None
    return {"icon": icon, "color": color}


def app_workflows(app_key: str, kind: str = WORKFLOW) -> list[Definition]:
    """The app's workflows (or definitions of another kind), drafts and published, by key."""
    app = catalog.get_app(get_session(), g.actor, app_key)
    return list(
        get_session().scalars(
            select(Definition)
            .where(Definition.app_id == app.id, Definition.kind == kind)
            .order_by(Definition.key)
        )
    )


# -- the launcher and an app's page ------------------------------------------------------


@designer.get("/")
@access(MEMBER_RULE)
def index() -> str:
    return render_template("designer/index.html", apps=apps.launcher(get_session(), g.actor))


@designer.post("/apps")
@access(MEMBER_RULE)
def create_app() -> Response | str:
    key = request.form.get("key", "").strip()
    body = {"key": key, "title": title_from_form(), **_look()}
    if attempt(apps.create_app, body) is None:
        return index()
    return redirect(url_for("designer.app_page", app_key=key))


@designer.get("/apps/<app_key>")
@access(MEMBER_RULE)
def app_page(app_key: str) -> str:
    session = get_session()
    app = catalog.get_app(session, g.actor, app_key)
    entities = catalog.list_entities(session, g.actor, app_key)
    return render_template(
        "designer/app.html",
        app=app,
        entities=entities,
        workflows=app_workflows(app_key),
        automations=app_workflows(app_key, "automation"),
        reports=app_workflows(app_key, "report"),
        # The app's own entities first: an automation is usually about them.
        published_entities=sorted(
            automation_drafts.published_entities(session, g.actor),
            key=lambda ref: (not ref.startswith(f"{app_key}."), ref),
        ),
    )


@designer.post("/apps/<app_key>")
@access(MEMBER_RULE)
def update_app(app_key: str) -> Response:
    if attempt(apps.update_app, app_key, {"title": title_from_form(), **_look()}):
        flash(_("Saved."))
    return redirect(url_for("designer.app_page", app_key=app_key))


@designer.post("/apps/<app_key>/entities")
@access(MEMBER_RULE)
def create_entity(app_key: str) -> Response:
    key = request.form.get("key", "").strip()
    definition = {
        "key": key,
        "title": title_from_form(),
        "schema": {"type": "object", "properties": {}},
        "layout": {"tabs": [{"sections": [{"columns": [[]]}]}]},
    }
    if attempt(catalog.create_entity, app_key, definition) is None:
        return redirect(url_for("designer.app_page", app_key=app_key))
    return redirect(url_for("designer.form_designer", app_key=app_key, entity_key=key))


@designer.post("/apps/<app_key>/workflows")
@access(MEMBER_RULE)
def create_workflow(app_key: str) -> Response:
    key = request.form.get("key", "").strip()
    entity = request.form.get("entity", "")
    if attempt(workflow_drafts.create_workflow, app_key, key, entity) is None:
        return redirect(url_for("designer.app_page", app_key=app_key))
    return redirect(url_for("designer.workflow_designer", app_key=app_key, key=key))


@designer.get("/apps/<app_key>/delete")
@access(MEMBER_RULE)
def delete_page(app_key: str) -> str:
    preview = apps.deletion_preview(get_session(), g.actor, app_key)
    app = catalog.get_app(get_session(), g.actor, app_key)
    return render_template("designer/delete.html", app=app, preview=preview)


@designer.post("/apps/<app_key>/delete")
@access(MEMBER_RULE)
def delete_app(app_key: str) -> Response:
    if attempt(apps.delete_app, app_key, request.form.get("confirm", "").strip()) is None:
        return redirect(url_for("designer.delete_page", app_key=app_key))
    flash(_("App %(key)s was deleted.", key=app_key))
    return redirect(url_for("designer.index"))


# -- importing an app file ---------------------------------------------------------------


def _posted_document() -> tuple[Any, str]:
    """The app file: uploaded, or carried over from the conflict report as text."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        text = upload.read(MAX_IMPORT_BYTES + 1).decode("utf-8", errors="replace")
    else:
        text = request.form.get("document", "")
    if len(text) > MAX_IMPORT_BYTES:
        raise ValueError(_("The file is too large."))
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise ValueError(_("The file is not JSON: %(error)s", error=str(exc))) from None


@designer.get("/import")
@access(MEMBER_RULE)
def import_page() -> str:
    return render_template("designer/import.html", report=None)


@designer.post("/import")
@access(MEMBER_RULE)
def import_app() -> Response | str:
    try:
        document, text = _posted_document()
    except ValueError as exc:
        flash(str(exc))
        return render_template("designer/import.html", report=None), 422
    app_key = request.form.get("app_key", "").strip() or None
    if request.form.get("step") != "import":
        session = get_session()
        try:
            report = transfer.import_app(session, g.actor, document, app_key=app_key, dry_run=True)
        except JizuoError as exc:
            session.rollback()
            flash(refusal(exc))
            return render_template("designer/import.html", report=None), exc.status
        session.rollback()
        return render_template(
            "designer/import.html", report=report, document=text, app_key=app_key or ""
        )
    on_conflict = request.form.get("on_conflict") or None
    result = attempt(transfer.import_app, document, on_conflict=on_conflict, app_key=app_key)
    if result is None:
        return render_template(
            "designer/import.html",
            report={"conflicts": [], "app": app_key or ""},
            document=text,
            app_key=app_key or "",
        ), 422
    count = result.get("imported_records") or 0
    flash(_("Imported app %(key)s with %(count)s records.", key=result["app"], count=count))
    return redirect(url_for("designer.app_page", app_key=result["app"]))


def init_app(app: Any) -> None:
    """Register the designer's pages (the form and workflow designers add their routes)."""
    from jizuo.designer import (  # noqa: F401 - add the routes
        automation_pages,
        form_pages,
        report_pages,
        workflow_pages,
    )

    app.register_blueprint(designer)
