"""The pages users work in: an app's entities, a list per entity, a record page.

Views are thin: they ask the record store (with the signed-in user's actor, so their
permissions apply) and hand visible data to the templates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from jizuo.platform import catalog
from jizuo.platform.approvals import assign, decide
from jizuo.platform.db import get_session
from jizuo.platform.errors import JizuoError, NotFound, PermissionDenied, ValidationFailed, error
from jizuo.platform.models import Assignment, User
from jizuo.platform.query import parse_filters
from jizuo.platform.records import RecordStore
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.platform.transitions import apply_transition, available_transitions
from jizuo.runtime.blueprint import runtime
from jizuo.runtime.presenting import display, form_fields, list_columns, resolve_links, title_of

LIST_PARAMS = {"cursor", "order_by", "limit"}


@runtime.get("/<app_key>/")
@access(MEMBER_RULE)
def app_home(app_key: str) -> str:
    db = get_session()
    app = catalog.get_app(db, g.actor, app_key)
    store = RecordStore(db, g.actor)
    entities = []
    for entity in catalog.list_entities(db, g.actor, app_key):
        if entity.published_version is None:
            continue
        try:
            records = store.entity(app_key, entity.key)
        except PermissionDenied:
            continue
        if records.access.allows("read"):
            entities.append((entity.key, records.definition.raw.get("title", entity.key)))
    return render_template("runtime/app.html", app=app, entities=entities)


@runtime.get("/<app_key>/<entity_key>/")
@access(MEMBER_RULE)
def record_list(app_key: str, entity_key: str) -> str:
    store = RecordStore(get_session(), g.actor)
    records = store.entity(app_key, entity_key)
    params = {k: v for k, v in request.args.items() if v != ""}
    page = records.list(
        parse_filters(params, LIST_PARAMS),
        order_by=params.get("order_by"),
        limit=current_app.config["DEFAULT_PAGE_SIZE"],
        cursor=params.get("cursor"),
    )
    visible = [(r.id, records.visible(r.data)) for r in page.items]
    links = resolve_links(store, records.definition, [data for _, data in visible])
    columns = list_columns(records)
    rows = [(rid, [display(f, data.get(f.key), links) for f in columns]) for rid, data in visible]
    return render_template(
        "runtime/list.html",
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        columns=columns,
        rows=rows,
        next_cursor=page.next_cursor,
        may_create=records.access.allows("create"),
    )


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
    fields = [
        (f, display(f, data.get(f.key), links))
        for f in form_fields(records.definition, records.access.hidden)
    ]
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
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        record=record,
        title=title_of(records.definition, record.id, data),
        fields=fields,
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
