"""The pages users work in: an app's entities, a list per entity, a record page.

Views are thin: they ask the record store (with the signed-in user's actor, so their
permissions apply) and hand visible data to the templates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from jizuo.platform import catalog
from jizuo.platform.approvals import assign, decide
from jizuo.platform.auth import user_workspaces
from jizuo.platform.db import get_session
from jizuo.platform.errors import (
    BadRequest,
    JizuoError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    error,
)
from jizuo.platform.models import Assignment, User
from jizuo.platform.query import Filter
from jizuo.platform.record_exports import (
    DEFAULT_INLINE_ROWS,
    DEFAULT_MAX_ROWS,
    ExportRequest,
    export_records,
)
from jizuo.platform.records import RecordStore
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.platform.transitions import apply_transition, available_transitions
from jizuo.platform.web import select_locale
from jizuo.runtime.blueprint import runtime
from jizuo.runtime.forms import layout_keys
from jizuo.runtime.presenting import (
    Count,
    column_filter,
    count,
    default_order,
    display,
    find,
    list_columns,
    list_filters,
    resolve_links,
    search_fields,
    title_of,
    where_used,
)
from jizuo.runtime.reporting import readable_definitions

#: Most records one bulk action takes.
BULK_MAX = 500


@runtime.app_context_processor
def _navigation() -> dict[str, Any]:
    """What the top bar needs on every page: the signed-in user's workspaces (on demand)."""

    def my_workspaces() -> list[Any]:
        if not current_user.is_authenticated:
            return []
        return user_workspaces(get_session(), current_user.id)

    return {"my_workspaces": my_workspaces}


def readable_entities(store: RecordStore, app_key: str) -> list[tuple[str, Any]]:
    """The app's published entities the user may read, as (key, title): its menu."""
    out = []
    for entity in catalog.list_entities(store.session, store.actor, app_key):
        if entity.published_version is None:
            continue
        try:
            records = store.entity(app_key, entity.key)
        except (NotFound, PermissionDenied):
            continue
        if records.access.allows("read"):
            out.append((entity.key, records.definition.raw.get("title", entity.key)))
    return out


@runtime.get("/<app_key>/")
@access(MEMBER_RULE)
def app_home(app_key: str) -> str:
    db = get_session()
    app = catalog.get_app(db, g.actor, app_key)
    entities = readable_entities(RecordStore(db, g.actor), app_key)
    reports, dashboards = readable_definitions(db, g.actor, app)
    return render_template(
        "runtime/app.html", app=app, entities=entities, reports=reports, dashboards=dashboards
    )


def _list_params() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if v.strip() != ""}


@runtime.get("/<app_key>/<entity_key>/")
@access(MEMBER_RULE)
def record_list(app_key: str, entity_key: str) -> str:
    store = RecordStore(get_session(), g.actor)
    records = store.entity(app_key, entity_key)
    params = _list_params()
    filters = list_filters(records, params)
    text = params.get("q")
    order_by = params.get("order_by") or default_order(records)
    cursor, before = params.get("cursor"), params.get("before")
    page_size = current_app.config["DEFAULT_PAGE_SIZE"]
    page = find(records, filters, text, order_by=order_by, limit=page_size, cursor=cursor,
                before=before)  # fmt: skip
    start = 1
    if page.previous_cursor and params.get("start", "").isdigit():
        start = max(int(params["start"]), 1)
    if page.previous_cursor is None and page.next_cursor is None:
        total = Count(len(page.items), "exact")  # all on one page: nothing to count
    else:
        total = count(records, filters, text)
    visible = [(r.id, records.visible(r.data)) for r in page.items]
    links = resolve_links(store, records.definition, [data for _, data in visible])
    columns = list_columns(records)
    rows = [(rid, [display(f, data.get(f.key), links) for f in columns]) for rid, data in visible]
    kept = {k: v for k, v in params.items() if k not in ("cursor", "before", "start")}
    return render_template(
        "runtime/list.html",
        app=records.published.app,
        app_key=app_key,
        entity_key=entity_key,
        menu=readable_entities(store, app_key),
        definition=records.definition,
        columns=[(f, column_filter(f)) for f in columns],
        rows=rows,
        params=params,
        kept=kept,
        order_by=order_by or "",
        text=text or "",
        first=start,
        last=start + len(rows) - 1,
        total=total,
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
        page_size=page_size,
        filtered=bool(filters or text),
        searchable=bool(search_fields(records)),
        # The form pages link here once they exist.
        may_create=records.access.allows("create")
        and "runtime.new_record" in current_app.view_functions,
        may_delete=records.access.allows("delete"),
        may_export=records.access.allows("export"),
    )


def _export(app_key: str, entity_key: str, fmt: str, filters: list, text: str | None,
            order_by: str | None) -> Response:  # fmt: skip
    """The export as a download, or (when large) a job whose page shows its progress."""
    config = current_app.config
    export = ExportRequest(app_key, entity_key, fmt, tuple(filters), text, order_by,
                           select_locale())  # fmt: skip
    db = get_session()
    result = export_records(
        db,
        g.actor,
        export,
        inline_rows=int(config.get("EXPORT_INLINE_ROWS") or DEFAULT_INLINE_ROWS),
        max_rows=int(config.get("EXPORT_MAX_ROWS") or DEFAULT_MAX_ROWS),
    )
    if result.job is not None:
        db.commit()
        flash(_("The export is large: it is written in the background. Download it here when "
                "it is done."))  # fmt: skip
        return redirect(url_for("auth.job_page", job_id=result.job.id))
    return result.download()


@runtime.get("/<app_key>/<entity_key>/export")
@runtime.get("/<app_key>/<entity_key>/export.<any(csv, xlsx):fmt>")
@access(MEMBER_RULE)
def export_list(app_key: str, entity_key: str, fmt: str = "csv") -> Response:
    """The filtered list as CSV or XLSX (the same filters, search and order as the page)."""
    records = RecordStore(get_session(), g.actor).entity(app_key, entity_key)
    records.access.require("export")
    params = _list_params()
    filters = list_filters(records, params)
    order_by = params.get("order_by") or default_order(records)
    return _export(app_key, entity_key, fmt, filters, params.get("q"), order_by)


def _selected_ids() -> list[int]:
    ids = sorted({int(v) for v in request.form.getlist("ids") if v.isdigit()})
    if not ids:
        raise BadRequest(_("Select at least one record."))
    if len(ids) > BULK_MAX:
        raise BadRequest(_("Select at most %(n)s records at a time.", n=BULK_MAX))
    return ids


@runtime.post("/<app_key>/<entity_key>/export")
@access(MEMBER_RULE)
def export_selected(app_key: str, entity_key: str) -> Response:
    """The ticked records as CSV."""
    records = RecordStore(get_session(), g.actor).entity(app_key, entity_key)
    records.access.require("export")
    chosen = Filter("id", "in", ",".join(str(i) for i in _selected_ids()))
    return _export(app_key, entity_key, "csv", [chosen], None, "id")


def _back_to_list(app_key: str, entity_key: str) -> Response:
    """Back to the list with the filters it had (only its own query string is kept)."""
    query = request.form.get("list_query", "")
    target = url_for("runtime.record_list", app_key=app_key, entity_key=entity_key)
    return redirect(f"{target}?{query}" if query and "\\" not in query else target)


@runtime.post("/<app_key>/<entity_key>/delete")
@access(MEMBER_RULE)
def delete_selected(app_key: str, entity_key: str) -> Response:
    """Delete the ticked records; those that cannot go (referenced, out of reach) stay and
    are named, the others are deleted."""
    db = get_session()
    records = RecordStore(db, g.actor).entity(app_key, entity_key)
    records.access.require("delete")
    deleted, refused = 0, []
    for record_id in _selected_ids():
        savepoint = db.begin_nested()
        try:
            records.delete(record_id, reason=request.form.get("reason") or None)
            savepoint.commit()
            deleted += 1
        except JizuoError as exc:
            savepoint.rollback()
            refused.append(f"#{record_id}: {exc.detail}")
    db.commit()
    if deleted:
        flash(_("Deleted %(n)s record(s).", n=deleted))
    for reason in refused:
        flash(_("Not deleted: %(reason)s", reason=reason))
    return _back_to_list(app_key, entity_key)


@runtime.get("/<app_key>/<entity_key>/<int:record_id>")
@access(MEMBER_RULE)
def record_page(app_key: str, entity_key: str, record_id: int) -> str:
    return _record_page(app_key, entity_key, record_id)


def _record_page(
    app_key: str,
    entity_key: str,
    record_id: int,
    problem: JizuoError | None = None,
    form: dict[str, str] | None = None,
) -> str:
    """The record page; ``problem`` is a refused workflow action to show above its forms."""
    db = get_session()
    store = RecordStore(db, g.actor)
    records = store.entity(app_key, entity_key)
    record = records.get(record_id)
    data = records.visible(record.data)
    links = resolve_links(store, records.definition, [data])
    hidden = records.access.hidden
    tabs = [
        (tab_title, [
            (section_title, [
                (f, display(f, data.get(f.key), links))
                for column in columns for key in column
                if key not in hidden and (f := records.definition.fields.get(key)) is not None
            ])
            for section_title, columns in sections
        ])
        for tab_title, sections in layout_keys(records.definition)
    ]  # fmt: skip
    history = records.history(record_id)
    assignments = list(
        db.scalars(
            select(Assignment)
            .where(Assignment.record_id == record.id, Assignment.done_at.is_(None))
            .order_by(Assignment.id)
        )
    )
    user_ids = {e.actor_id for e in history if e.actor_id} | {a.user_id for a in assignments}
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    timeline = [
        (entry, names.get(entry.actor_id), records.visible(entry.diff)) for entry in history
    ]
    if not timeline:
        raise NotFound(f"No record {record_id}.")  # pragma: no cover - every record has history
    workflow = records.workflow()
    options = available_transitions(db, g.actor, app_key, entity_key, record)
    errors = []
    if problem is not None:
        errors = problem.errors or [error("", problem.detail)]
    return render_template(
        "runtime/record.html",
        app=records.published.app,
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        record=record,
        title=title_of(records.definition, record.id, data),
        tabs=tabs,
        timeline=timeline,
        state=workflow.states[workflow.state_of(record)] if workflow else None,
        allowed=[o for o in options if o.allowed],
        blocked=[o for o in options if o.permitted and not o.allowed],
        approvable=[o for o in options if o.may_approve],
        assignments=[(a, names.get(a.user_id)) for a in assignments],
        may_assign=workflow is not None and records.access.allows("update"),
        problem=problem,
        errors=errors,
        form=form or {},
        used_by=where_used(store, record.id),
    )


def _refused(
    app_key: str, entity_key: str, record_id: int, exc: JizuoError, form: dict[str, str]
) -> tuple[str, int]:
    """The record page again, with the reasons an action was refused (nothing was saved)."""
    get_session().rollback()
    if isinstance(exc, NotFound):
        raise exc
    return _record_page(app_key, entity_key, record_id, exc, form), exc.status


def _back(app_key: str, entity_key: str, record_id: int, message: str) -> Response:
    flash(message)
    return redirect(
        url_for("runtime.record_page", app_key=app_key, entity_key=entity_key, record_id=record_id)
    )


@runtime.post("/<app_key>/<entity_key>/<int:record_id>/transitions/<name>")
@access(MEMBER_RULE)
def take_transition(app_key: str, entity_key: str, record_id: int, name: str) -> Any:
    form = request.form
    signature = None
    if form.get("signature_password") or form.get("signature_meaning"):
        signature = {
            "password": form.get("signature_password", ""),
            "meaning": form.get("signature_meaning", ""),
        }
    version = form.get("version", "")
    db = get_session()
    try:
        record = apply_transition(
            db,
            g.actor,
            app_key,
            entity_key,
            record_id,
            name,
            expected_version=int(version) if version.isdigit() else None,
            comment=form.get("comment") or None,
            signature=signature,
        )
        db.commit()
    except JizuoError as exc:
        kept = {"comment": form.get("comment", ""), "transition": name}
        return _refused(app_key, entity_key, record_id, exc, kept)
    return _back(
        app_key,
        entity_key,
        record_id,
        _("Done: the record is now '%(state)s'.", state=record.state),
    )


@runtime.post("/<app_key>/<entity_key>/<int:record_id>/approvals/<transition>")
@access(MEMBER_RULE)
def decide_approval(app_key: str, entity_key: str, record_id: int, transition: str) -> Any:
    db = get_session()
    decision = request.form.get("decision", "")
    try:
        decide(db, g.actor, app_key, entity_key, record_id, transition, decision,
               request.form.get("comment") or None)  # fmt: skip
        db.commit()
    except JizuoError as exc:
        return _refused(
            app_key, entity_key, record_id, exc, {"comment": request.form.get("comment", "")}
        )
    message = _("Approved.") if decision == "approve" else _("Rejected.")
    return _back(app_key, entity_key, record_id, message)


@runtime.post("/<app_key>/<entity_key>/<int:record_id>/assignments")
@access(MEMBER_RULE)
def create_assignment(app_key: str, entity_key: str, record_id: int) -> Any:
    db = get_session()
    form = request.form
    assignee = form.get("assignee", "").strip()
    user, role = (None, assignee[5:]) if assignee.startswith("role:") else (assignee or None, None)
    try:
        due_at = None
        if form.get("due_at"):
            try:
                due_at = datetime.fromisoformat(form["due_at"])
            except ValueError:
                raise ValidationFailed(
                    "The due date is not a date.", errors=[error("/due_at", "not a date")]
                ) from None
        assign(db, g.actor, app_key, entity_key, record_id, user=user, role=role, due_at=due_at)
        db.commit()
    except JizuoError as exc:
        return _refused(app_key, entity_key, record_id, exc, {"assignee": assignee})
    return _back(app_key, entity_key, record_id, _("Assigned."))
