"""How record values are shown: which fields, in which order, with references resolved.

Only fields the viewer may see are ever handed to a template: views pass record data
through ``EntityRecords.visible`` first, and the field lists here skip hidden fields.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from jizuo.platform.attachments import readable_attachments
from jizuo.platform.errors import BadRequest, NotFound, PermissionDenied
from jizuo.platform.i18n import date_text, datetime_text, number
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.models import App, Attachment, Entity, Membership, Record, RecordLink, User
from jizuo.platform.query import Filter, encode_cursor, parse_filters
from jizuo.platform.record_exports import search_clause
from jizuo.platform.records import EntityRecords, Page, RecordStore
from jizuo.platform.web import localized

MAX_DEFAULT_COLUMNS = 6


@dataclass(frozen=True)
class Link:
    """A reference shown as a link to the referenced record."""

    href: str
    label: str


def list_columns(records: EntityRecords) -> list[Field]:
    """The list view's columns: the definition's ``list.columns``, else the title field and
    the first scalar fields; hidden fields never."""
    definition, hidden = records.definition, records.access.hidden
    named = definition.raw.get("list", {}).get("columns")
    if named:
        keys = named
    else:
        title = definition.raw.get("title_field")
        scalar = [
            f.key
            for f in form_fields(definition, hidden)
            if f.sql_type not in ("array", "object") and f.key != title
        ]
        keys = ([title] if title else []) + scalar
    fields = [definition.fields[k] for k in keys if k in definition.fields and k not in hidden]
    return fields if named else fields[:MAX_DEFAULT_COLUMNS]


def form_fields(definition: EntityDefinition, hidden: frozenset[str]) -> list[Field]:
    """Every visible top-level field, in layout order (fields the layout leaves out last)."""
    ordered: list[str] = []
    for tab in definition.raw.get("layout", {}).get("tabs", []):
        for section in tab.get("sections", []):
            for column in section.get("columns", []):
                ordered += [k for k in column if k not in ordered]
    ordered += [k for k in definition.fields if k not in ordered]
    return [definition.fields[k] for k in ordered if k in definition.fields and k not in hidden]


def title_of(definition: EntityDefinition, record_id: int, data: dict[str, Any]) -> str:
    """What a record is called: its title field, else '#id'."""
    title_field = definition.raw.get("title_field")
    value = data.get(title_field) if title_field else None
    return str(value) if value not in (None, "") else f"#{record_id}"


#: Keys of ``resolve_links`` for files and people (references use the target entity).
ATTACHMENT, USER = "#attachment", "#user"


def _link_kind(f: Field) -> str:
    return {"attachment": ATTACHMENT, "user": USER}.get(f.kind, f.ref or "")


def _attachment_links(store: RecordStore, ids: set[int]) -> dict[tuple[str, int], Link]:
    readable = readable_attachments(store.session, store.actor, ids)
    if not readable:
        return {}
    rows = store.session.execute(
        select(Attachment.id, Attachment.filename).where(Attachment.id.in_(sorted(readable)))
    )
    return {(ATTACHMENT, i): Link(f"/api/v1/attachments/{i}/content", name) for i, name in rows}


def _user_names(store: RecordStore, ids: set[int]) -> dict[tuple[str, int], Link]:
    rows = store.session.execute(
        select(User.id, User.display_name)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id.in_(sorted(ids)), Membership.workspace_id == store.actor.workspace_id)
    )
    return {(USER, i): Link("", name) for i, name in rows}


def resolve_links(
    store: RecordStore, definition: EntityDefinition, rows: list[dict[str, Any]]
) -> dict[tuple[str, int], Link]:
    """Links for every reference, file and user value on a page: one query per referenced
    entity, one for the files and one for the people.

    A target the viewer may not read is left out (the page then shows its id only)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for f in definition.fields.values():
        if f.kind in ("reference", "attachment", "user"):
            bucket = wanted[_link_kind(f)]
            for data in rows:
                value = data.get(f.key)
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, int) and not isinstance(v, bool):
                        bucket.add(v)
    links: dict[tuple[str, int], Link] = {}
    files = wanted.pop(ATTACHMENT, set())
    people = wanted.pop(USER, set())
    if files:
        links.update(_attachment_links(store, files))
    if people:
        links.update(_user_names(store, people))
    for ref, ids in wanted.items():
        app_key, _, entity_key = ref.partition(".")
        try:
            target = store.entity(app_key, entity_key)
        except (NotFound, PermissionDenied):
            continue
        for record in target.get_many(ids).values():
            label = title_of(target.definition, record.id, target.visible(record.data))
            links[(ref, record.id)] = Link(f"/apps/{app_key}/{entity_key}/{record.id}", label)
    return links


#: Records shown per referencing field on a record page's "where used".
WHERE_USED_LIMIT = 20


@dataclass(frozen=True)
class UsedBy:
    """Records of one entity whose field ``field_title`` refers to the record on show."""

    entity_title: Any
    field_title: Any
    links: list[Link]
    more: bool


def where_used(store: RecordStore, record_id: int) -> list[UsedBy]:
    """The records that refer to ``record_id`` (from ``record_links``), per entity and
    field, as far as the viewer may read them and the referring field."""
    session, actor = store.session, store.actor
    pairs = session.execute(
        select(Entity.id, App.key, Entity.key, RecordLink.field)
        .join(Record, Record.id == RecordLink.source_id)
        .join(Entity, Entity.id == Record.entity_id)
        .join(App, App.id == Entity.app_id)
        .where(
            RecordLink.target_id == record_id,
            RecordLink.workspace_id == actor.workspace_id,
            Record.deleted_at.is_(None),
        )
        .distinct()
        .order_by(App.key, Entity.key, RecordLink.field)
    ).all()
    used: list[UsedBy] = []
    for entity_id, app_key, entity_key, path in pairs:
        try:
            source = store.entity(app_key, entity_key)
        except (NotFound, PermissionDenied):
            continue
        f = source.definition.field_at(path)
        if f is None or path.split(".")[0] in source.access.hidden:
            continue
        if not source.access.allows("read"):
            continue
        ids = session.scalars(
            select(RecordLink.source_id)
            .join(Record, Record.id == RecordLink.source_id)
            .where(
                RecordLink.target_id == record_id,
                RecordLink.field == path,
                RecordLink.workspace_id == actor.workspace_id,
                Record.entity_id == entity_id,
            )
            .distinct()
            .order_by(RecordLink.source_id.desc())
            .limit(10 * WHERE_USED_LIMIT)
        ).all()
        readable = source.get_many(set(ids))
        if not readable:
            continue
        shown = sorted(readable, reverse=True)[:WHERE_USED_LIMIT]
        links = [
            Link(
                f"/apps/{app_key}/{entity_key}/{rid}",
                title_of(source.definition, rid, source.visible(readable[rid].data)),
            )
            for rid in shown
        ]
        more = len(readable) > WHERE_USED_LIMIT or len(ids) == 10 * WHERE_USED_LIMIT
        title = source.definition.raw.get("title") or entity_key
        used.append(UsedBy(title, f.schema.get("title") or f.key, links, more))
    return used


def display(field: Field, value: Any, links: dict[tuple[str, int], Link]) -> Any:
    """A value ready for a template: a Link, a list of texts, or text."""
    if value is None:
        return ""
    values = value if isinstance(value, list) else [value]
    if field.kind in ("reference", "attachment", "user"):
        kind = _link_kind(field)
        found = [links.get((kind, v), f"#{v}") for v in values]
        return found if isinstance(value, list) else found[0]
    if field.kind in ("single_select", "multi_select"):
        labels = dict(option_labels(field, values))
        return ", ".join(localized(labels[str(v)]) for v in values)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        if field.kind == "child_table":
            return f"{len(value)} ×"
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if field.kind in ("date", "datetime") and isinstance(value, str):
        return date_text(value) if field.kind == "date" else datetime_text(value)
    if isinstance(value, int | float):
        value = number(value, field.schema.get("x-precision"))
    unit = field.schema.get("x-unit")
    return f"{value} {unit}" if unit else str(value)


# -- list views: filters, search, pages and their counts -------------------------------

#: Query parameters of a list page that are not filters.
LIST_PARAMS = frozenset({"cursor", "before", "order_by", "limit", "q", "start"})
#: Fields the search box looks in (text the user typed or picked).
SEARCHABLE = frozenset(
    {"text", "long_text", "email", "url", "phone", "auto_number", "single_select"}
)
#: A list's count is exact up to this many records; beyond it, estimated.
COUNT_CAP = 1000


@dataclass(frozen=True)
class ColumnFilter:
    """The filter input(s) of a list column: ``kind`` is text, range, date or select;
    ``params`` the query parameters (record-store filter operators) it fills in."""

    field: Field
    kind: str
    params: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


def column_filter(field: Field) -> ColumnFilter | None:
    """The filter a column offers, from its field type (None: not filterable here)."""
    key, kind = field.key, field.kind
    if kind in ("text", "long_text", "email", "url", "phone", "auto_number"):
        return ColumnFilter(field, "text", (f"{key}__contains",))
    if kind in ("integer", "decimal", "measurement", "computed") and field.sql_type == "number":
        return ColumnFilter(field, "range", (f"{key}__gte", f"{key}__lte"))
    if kind in ("date", "datetime"):
        return ColumnFilter(field, "date", (f"{key}__gte", f"{key}__lte"))
    if kind == "single_select":
        return ColumnFilter(field, "select", (key,), option_labels(field, field.schema["enum"]))
    if kind == "multi_select":
        values = field.schema.get("items", {}).get("enum", [])
        return ColumnFilter(field, "select", (f"{key}__contains",), option_labels(field, values))
    if kind == "boolean":
        return ColumnFilter(field, "select", (key,), (("true", "✓"), ("false", "✗")))
    return None


def option_labels(field: Field, values: list[Any]) -> tuple[tuple[str, Any], ...]:
    """Options of a select as (value, label); labels from ``x-enum-labels`` (localizable)."""
    labels = field.schema.get("x-enum-labels", {})
    if field.kind == "multi_select":
        labels = field.schema.get("items", {}).get("x-enum-labels", labels)
    return tuple((str(v), labels.get(str(v), str(v))) for v in values)


def default_order(records: EntityRecords) -> str | None:
    """The definition's ``list.order_by`` (unless the viewer may not see that field)."""
    order_by = records.definition.raw.get("list", {}).get("order_by")
    if order_by and order_by.lstrip("-") in records.access.hidden:
        return None
    return order_by


def list_filters(records: EntityRecords, params: dict[str, str]) -> list[Filter]:
    """The record-store filters of a list page's query parameters.

    A date typed into the 'to' box of a date-time column means up to the end of that day."""
    filters = []
    for flt in parse_filters(params, set(LIST_PARAMS)):
        f = records.definition.fields.get(flt.name)
        if f is not None and f.kind == "datetime" and flt.op == "lte" and len(flt.value) == 10:
            try:
                next_day = date.fromisoformat(flt.value) + timedelta(days=1)
            except ValueError:
                raise BadRequest(f"Filter '{flt.name}' needs a date.") from None
            flt = Filter(flt.name, "lt", next_day.isoformat())
        filters.append(flt)
    return filters


def search_fields(records: EntityRecords) -> list[Field]:
    """The visible top-level text fields the search box looks in."""
    return [
        f for f in form_fields(records.definition, records.access.hidden) if f.kind in SEARCHABLE
    ]


def find(
    records: EntityRecords,
    filters: list[Filter],
    text: str | None = None,
    *,
    order_by: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    before: str | None = None,
) -> Page:
    """A page of records matching every filter and the search text (``EntityRecords.list``
    plus the search, an OR over the text fields): the page after ``cursor``, or the page
    before ``before``, with the cursors of the pages either side."""
    query, ordering = records.list_query(
        filters, order_by=order_by, limit=limit, cursor=None if before else cursor, before=before
    )
    clause = search_clause(records, text)
    if clause is not None:
        query = query.where(clause)
    rows = list(records.session.scalars(query))
    items = rows[:limit]
    more = len(rows) > limit
    if before:
        items.reverse()
    if not items:
        return Page([], None)

    def at(record: Record) -> str:
        return encode_cursor(ordering.value_of(record), record.id)

    following = bool(before) or more
    preceding = more if before else bool(cursor)
    return Page(
        items,
        at(items[-1]) if following else None,
        at(items[0]) if preceding else None,
    )


@dataclass(frozen=True)
class Count:
    """How many records a list has: ``exact``, an estimate (``about``) or more than ``value``."""

    value: int
    how: str  # "exact", "about" or "more"


def count(records: EntityRecords, filters: list[Filter], text: str | None) -> Count:
    """Count a list cheaply: exactly up to ``COUNT_CAP`` (reading at most one more id), beyond
    that PostgreSQL's planner estimate, or 'more than COUNT_CAP' where there is none."""
    query, _ = records.list_query(filters, limit=COUNT_CAP)
    clause = search_clause(records, text)
    if clause is not None:
        query = query.where(clause)
    ids = query.with_only_columns(Record.id).order_by(None)
    capped = records.session.scalar(
        select(func.count()).select_from(ids.limit(COUNT_CAP + 1).subquery())
    )
    if capped <= COUNT_CAP:
        return Count(capped, "exact")
    if records.dialect == "postgresql":
        estimate = planner_rows(records.session, ids.limit(None))
        if estimate > COUNT_CAP:
            return Count(round_estimate(estimate), "about")
    return Count(COUNT_CAP, "more")


def planner_rows(session: Any, query: Any) -> int:
    """PostgreSQL's estimate of the rows a query returns (``EXPLAIN``, nothing is run)."""
    compiled = query.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    plan = session.connection().exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params
    )
    raw = plan.scalar()
    document = json.loads(raw) if isinstance(raw, str) else raw
    return int(document[0]["Plan"]["Plan Rows"])


def round_estimate(n: int) -> int:
    """An estimate rounded to two significant digits (it is not more precise than that)."""
    digits = len(str(n)) - 2
    return n if digits <= 0 else round(n, -digits)
