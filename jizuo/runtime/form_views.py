"""Record forms: create and edit a record through a form rendered from its metadata, and the
reference look-up their type-ahead uses.

The form works without a script (plain posts, the server evaluates the rules when it
renders); ``static/runtime/form.js`` adds live rules through the evaluate API, reference
type-ahead and child-row buttons. Everything goes through the record store with the
signed-in user's actor, so permissions, validation and versions apply as on the API.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from jizuo.platform.attachments import store_attachment
from jizuo.platform.db import get_session
from jizuo.platform.errors import (
    BadRequest,
    JizuoError,
    NotFound,
    PermissionDenied,
    StaleVersion,
    error,
)
from jizuo.platform.i18n import datetime_text
from jizuo.platform.metadata import Field
from jizuo.platform.models import Attachment, Membership, Record, User
from jizuo.platform.query import Filter
from jizuo.platform.records import EntityRecords, RecordStore
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.runtime.blueprint import runtime
from jizuo.runtime.forms import (
    build_form,
    form_values,
    parse_form,
    posted_values,
    rule_state,
    submitted,
)
from jizuo.runtime.presenting import resolve_links, title_of

LOOKUP_LIMIT = 20
MAX_QUERY = 100


def _records(app_key: str, entity_key: str) -> tuple[RecordStore, EntityRecords]:
    store = RecordStore(get_session(), g.actor)
    return store, store.entity(app_key, entity_key)


def _members() -> list[tuple[str, str]]:
    """The workspace's members for user pickers, by name."""
    rows = get_session().execute(
        select(User.id, User.display_name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == g.actor.workspace_id, User.is_active.is_(True))
        .order_by(User.display_name, User.id)
    )
    return [(str(uid), name) for uid, name in rows]


def _writable(records: EntityRecords) -> set[str]:
    """Top-level fields the user may fill in a form."""
    return {
        k
        for k, f in records.definition.fields.items()
        if not f.read_only and records.access.may_write(k)
    }


def _attachment_names(data: dict[str, Any], records: EntityRecords) -> dict[str, str]:
    ids = set()
    for f in records.definition.fields.values():
        if f.kind == "attachment" and data.get(f.key) is not None:
            value = data[f.key]
            ids.update(
                v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)
            )
    if not ids:
        return {}
    rows = get_session().execute(
        select(Attachment.id, Attachment.filename).where(
            Attachment.workspace_id == g.actor.workspace_id, Attachment.id.in_(sorted(ids))
        )
    )
    return {str(i): name for i, name in rows}


def _render(
    store: RecordStore,
    records: EntityRecords,
    app_key: str,
    entity_key: str,
    values: dict[str, Any],
    data: dict[str, Any],
    *,
    record: Record | None = None,
    version: Any = None,
    errors: list[dict[str, Any]] = (),
    stale: dict[str, Any] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The form page; ``values`` are the widgets' text, ``data`` the typed values the
    rules and reference labels are worked out from."""
    definition = records.definition
    data = records.visible(data)
    for f in definition.fields.values():
        if f.kind == "attachment" and f.key in data:  # files stored by a refused post are kept
            values[f.key] = form_values(definition, {f.key: data[f.key]}).get(f.key)
    rules = rule_state(definition, records.validator, records.access, data, records.user)
    form = build_form(
        definition, records.access, values, rules=rules, errors=errors, members=_members()
    )
    links = resolve_links(store, definition, [data])
    labels = {}
    for f in definition.fields.values():
        if f.kind == "reference" and isinstance(data.get(f.key), int):
            link = links.get((f.ref, data[f.key]))
            labels[f.key] = link.label if link else f"#{data[f.key]}"
    page = render_template(
        "runtime/form.html",
        app=records.published.app,
        app_key=app_key,
        entity_key=entity_key,
        definition=definition,
        form=form,
        record=record,
        title=title_of(definition, record.id, data) if record else None,
        version=version if version is not None else (record.version if record else None),
        reference_labels=labels,
        attachment_names=_attachment_names(data, records),
        stale=stale,
    )
    return page, status


def _store_uploads(records: EntityRecords, data: dict[str, Any], before: dict[str, Any]) -> None:
    """Files chosen in the form's attachment inputs, stored; their ids put into ``data``."""
    for key, f in records.definition.fields.items():
        if f.kind != "attachment" or key not in _writable(records):
            continue
        if key not in request.form and f"{key}.file" not in request.files:
            continue
        kept = [int(v) for v in request.form.getlist(key) if v.isdigit()]
        new = []
        for upload in request.files.getlist(f"{key}.file"):
            if not upload or not upload.filename:
                continue
            attachment = store_attachment(
                get_session(),
                g.actor,
                current_app.config["STORAGE_DIR"],
                upload.filename,
                upload.mimetype,
                upload.stream,
                current_app.config["MAX_ATTACHMENT_BYTES"],
            )
            new.append(attachment.id)
        if f.schema.get("type") == "array":
            ids = kept + new
            value: Any = ids or None
        else:
            value = new[-1] if new else (kept[0] if kept else None)
        if value != before.get(key):
            data[key] = value


def _keep_uploads(records: EntityRecords, data: dict[str, Any], before: dict[str, Any]) -> None:
    """Store the chosen files in a transaction of their own, so that a form refused for
    another reason still holds them (as kept files) and the user need not choose them again."""
    _store_uploads(records, data, before)
    get_session().commit()


def _drop_invisible(records: EntityRecords, data: dict[str, Any], base: dict[str, Any]) -> None:
    """Leave out values of fields whose ``visible_if`` is false: the form did not show them."""
    merged = {**base, **{k: v for k, v in data.items() if v is not None}}
    for k, v in data.items():
        if v is None:
            merged.pop(k, None)
    names = records.validator.names(merged, records.user)
    for key in records.validator.hidden_fields(names):
        data.pop(key, None)


def _refused_form(
    exc: JizuoError,
    store: RecordStore,
    records: EntityRecords,
    app_key: str,
    entity_key: str,
    data: dict[str, Any],
    **kwargs: Any,
) -> tuple[str, int]:
    get_session().rollback()
    if isinstance(exc, NotFound):
        raise exc
    errors = exc.errors or [error("", exc.detail)]
    values = posted_values(records.definition, request.form)
    return _render(store, records, app_key, entity_key, values, data, errors=errors,
                   status=exc.status, **kwargs)  # fmt: skip


@runtime.route("/<app_key>/<entity_key>/new", methods=["GET", "POST"])
@access(MEMBER_RULE)
def new_record(app_key: str, entity_key: str) -> Any:
    store, records = _records(app_key, entity_key)
    records.access.require("create")
    definition = records.definition
    if request.method == "GET":
        data = records.validator.apply_defaults({})
        return _render(store, records, app_key, entity_key, form_values(definition, data), data)

    keys = _writable(records) & submitted(definition, request.form, request.files)
    data, errors = parse_form(definition, request.form, keys)
    data = {k: v for k, v in data.items() if v is not None}
    try:
        _keep_uploads(records, data, {})
    except JizuoError as exc:
        return _refused_form(exc, store, records, app_key, entity_key, data)
    if errors:
        values = posted_values(definition, request.form)
        return _render(store, records, app_key, entity_key, values, data, errors=errors,
                       status=422)  # fmt: skip
    try:
        _drop_invisible(records, data, records.validator.apply_defaults({}))
        record = records.create({k: v for k, v in data.items() if v is not None})
        get_session().commit()
    except JizuoError as exc:
        return _refused_form(exc, store, records, app_key, entity_key, data)
    return redirect(
        url_for("runtime.record_page", app_key=app_key, entity_key=entity_key, record_id=record.id)
    )


def _unchanged(f: Field, posted: Any, before_text: Any, typed: Any, before: Any) -> bool:
    if f.kind in ("child_table", "object"):
        return typed == _writable_part(f, before)
    return posted == before_text


def _writable_part(f: Field, value: Any) -> Any:
    """A stored child table or group without its computed parts, to compare with a post."""
    if f.kind == "child_table" and isinstance(value, list):
        rows = [
            {c: v for c, v in row.items() if c in f.children and not f.children[c].read_only}
            for row in value
            if isinstance(row, dict)
        ]
        return rows or None
    if f.kind == "object" and isinstance(value, dict):
        return {
            c: v for c, v in value.items() if c in f.children and not f.children[c].read_only
        } or None
    return value


@runtime.route("/<app_key>/<entity_key>/<int:record_id>/edit", methods=["GET", "POST"])
@access(MEMBER_RULE)
def edit_record(app_key: str, entity_key: str, record_id: int) -> Any:
    store, records = _records(app_key, entity_key)
    record = records.get(record_id, action="update")
    definition = records.definition
    before = records.visible(copy.deepcopy(record.data))
    before_text = form_values(definition, before)
    if request.method == "GET":
        return _render(store, records, app_key, entity_key, before_text, before, record=record)

    version_text = request.form.get("version", "")
    keys = _writable(records) & submitted(definition, request.form, request.files)
    parsed, errors = parse_form(definition, request.form, keys)
    posted = posted_values(definition, request.form)
    patch = {
        k: v
        for k, v in parsed.items()
        if not _unchanged(definition.fields[k], posted.get(k), before_text.get(k), v, before.get(k))
    }
    try:
        _keep_uploads(records, patch, before)
    except JizuoError as exc:
        return _refused_form(exc, store, records, app_key, entity_key, before, record=record,
                             version=version_text)  # fmt: skip
    merged = {**before, **{k: v for k, v in patch.items() if v is not None}}
    if errors or not version_text.isdigit():
        if not version_text.isdigit():
            errors.append(error("", _("The form lost the record's version; reload it.")))
        return _render(store, records, app_key, entity_key, posted, merged, record=record,
                       version=version_text, errors=errors, status=422)  # fmt: skip
    try:
        _drop_invisible(records, patch, before)
        records.update(record_id, patch, int(version_text))
        get_session().commit()
    except StaleVersion as exc:
        get_session().rollback()
        who = None
        if exc.extra.get("updated_by"):
            who = get_session().scalar(
                select(User.display_name).where(User.id == exc.extra["updated_by"])
            )
        stale = {"who": who, "when": datetime_text(exc.extra.get("updated_at", ""))}
        return _render(store, records, app_key, entity_key, posted, merged, record=record,
                       version=version_text, stale=stale, status=412)  # fmt: skip
    except JizuoError as exc:
        return _refused_form(exc, store, records, app_key, entity_key, merged, record=record,
                             version=version_text)  # fmt: skip
    return redirect(
        url_for("runtime.record_page", app_key=app_key, entity_key=entity_key, record_id=record_id)
    )


@runtime.get("/<app_key>/<entity_key>/lookup")
@access(MEMBER_RULE)
def lookup(app_key: str, entity_key: str) -> Response:
    """Records a reference field may point to, matching ``q`` (by title, or by number),
    among those the user may read: ``{"items": [{"id", "label"}]}``."""
    store, records = _records(app_key, entity_key)
    records.access.require("read")
    name = request.args.get("field", "")
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    f = records.definition.field_at(name)
    if f is None or f.kind != "reference" or name.split(".")[0] in records.access.hidden:
        raise BadRequest(
            f"'{name}' is no reference field of '{entity_key}'.",
            errors=[error("field", "expected a reference field")],
        )
    target_app, _dot, target_entity = f.ref.partition(".")
    try:
        target = store.entity(target_app, target_entity)
        target.access.require("read")
    except (NotFound, PermissionDenied):
        return jsonify({"items": []})
    filters = []
    title = target.definition.raw.get("title_field")
    if query.isdigit():
        filters.append(Filter("id", "eq", query))
    elif query:
        title_field = target.definition.fields.get(title) if title else None
        if title_field is None or title in target.access.hidden or title_field.sql_type != "text":
            return jsonify({"items": []})
        filters.append(Filter(title, "contains", query))
    page = target.list(filters, limit=LOOKUP_LIMIT)
    items = [
        {"id": r.id, "label": title_of(target.definition, r.id, target.visible(r.data))}
        for r in page.items
    ]
    return jsonify({"items": items})


@runtime.app_template_global()
def may_edit(app_key: str, entity_key: str, record: Record) -> bool:
    """Whether the signed-in user may change ``record`` (the record page's Edit link)."""
    try:
        RecordStore(get_session(), g.actor).entity(app_key, entity_key).get(
            record.id, action="update"
        )
    except (NotFound, PermissionDenied):
        return False
    return True
