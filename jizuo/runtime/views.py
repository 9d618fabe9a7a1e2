"""The pages users work in: an app's entities, a list per entity, a record page.

Views are thin: they ask the record store (with the signed-in user's actor, so their
permissions apply) and hand visible data to the templates.
"""

from __future__ import annotations

from flask import current_app, g, render_template, request
from sqlalchemy import select

from jizuo.platform import catalog
from jizuo.platform.db import get_session
from jizuo.platform.errors import NotFound, PermissionDenied
from jizuo.platform.models import User
from jizuo.platform.query import parse_filters
from jizuo.platform.records import RecordStore
from jizuo.platform.security import MEMBER_RULE, access
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
    names = dict(
        db.execute(
            select(User.id, User.display_name).where(
                User.id.in_({e.actor_id for e in history if e.actor_id})
            )
        ).all()
    )
    timeline = [
        (entry, names.get(entry.actor_id), records.visible(entry.diff)) for entry in history
    ]
    if not timeline:
        raise NotFound(f"No record {record_id}.")  # pragma: no cover - every record has history
    return render_template(
        "runtime/record.html",
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        record=record,
        title=title_of(records.definition, record.id, data),
        fields=fields,
        timeline=timeline,
    )
