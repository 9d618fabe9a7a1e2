"""Exports of a filtered record list to CSV or XLSX, as far as the viewer's permissions reach.

The rows come from the record store with the viewer's actor: its row scopes apply, hidden
fields are left out (and may not be filtered or sorted on), and the export right is
required. References are shown by the referenced record's name, users by theirs, child
tables by their number of rows.

Small exports are written at once; above ``inline_rows`` records (counted with a cap, never
a full count) the export becomes a job on the ``low`` queue whose file is stored as an
attachment only its requester (and admins) may download.
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from flask import Response, current_app
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.attachments import store_attachment
from jizuo.platform.auth import member_actor
from jizuo.platform.columns import Column, translated
from jizuo.platform.errors import BadRequest, NotFound, PermissionDenied
from jizuo.platform.exports import write_csv, write_xlsx
from jizuo.platform.i18n import N_
from jizuo.platform.jobs import JobContext, PermanentJobError, enqueue
from jizuo.platform.metadata import EntityDefinition, Field
from jizuo.platform.models import Job, Membership, Record, User
from jizuo.platform.query import Filter, encode_cursor, filter_clause
from jizuo.platform.records import EntityRecords, RecordStore
from jizuo.platform.registry import job

JOB_KIND = "platform.export_records"
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DEFAULT_INLINE_ROWS = 5_000
DEFAULT_MAX_ROWS = 1_000_000
BATCH = 500
#: Kept in memory up to this size, then in a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
#: Fields the search text (``q``) looks in.
SEARCHABLE = frozenset(
    {"text", "long_text", "email", "url", "phone", "auto_number", "single_select"}
)
STATE, CREATED = N_("State"), N_("Created")
_TYPES = {"integer": "integer", "decimal": "number", "measurement": "number", "date": "date",
          "datetime": "datetime", "boolean": "boolean", "child_table": "integer"}  # fmt: skip


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the filters, search text and order of a list view, in a format."""

    app_key: str
    entity_key: str
    fmt: str
    filters: tuple[Filter, ...] = ()
    text: str | None = None
    order_by: str | None = None
    locale: str = "en"

    def as_args(self) -> dict[str, Any]:
        """The request as a job's JSON arguments."""
        return {
            "app_key": self.app_key,
            "entity_key": self.entity_key,
            "fmt": self.fmt,
            "filters": [[f.name, f.op, f.value] for f in self.filters],
            "text": self.text,
            "order_by": self.order_by,
            "locale": self.locale,
        }

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> ExportRequest:
        filters = tuple(Filter(*f) for f in args.get("filters") or [])
        return cls(**{**args, "filters": filters})

    @property
    def filename(self) -> str:
        return f"{self.app_key}-{self.entity_key}.{self.fmt}"


@dataclass
class ExportResult:
    """A file written now (``file`` at its start) or a job that will write it (``job``)."""

    filename: str
    mimetype: str
    file: IO[bytes] | None = None
    rows: int = 0
    job: Job | None = None

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        """The file's bytes in pieces, closing it at the end (a streamed response body)."""
        with self.file:
            while chunk := self.file.read(size):
                yield chunk

    def download(self) -> Response:
        """The file as a download (streamed)."""
        disposition = f'attachment; filename="{self.filename}"'
        return Response(
            self.chunks(), mimetype=self.mimetype, headers={"Content-Disposition": disposition}
        )


# -- what is exported -----------------------------------------------------------------------


def export_fields(records: EntityRecords) -> list[Field]:
    """The fields the viewer may see, in layout order (those the layout leaves out last)."""
    definition, hidden = records.definition, records.access.hidden
    ordered: list[str] = []
    for tab in definition.raw.get("layout", {}).get("tabs", []):
        for section in tab.get("sections", []):
            for column in section.get("columns", []):
                ordered += [k for k in column if k not in ordered]
    ordered += [k for k in definition.fields if k not in ordered]
    return [definition.fields[k] for k in ordered if k in definition.fields and k not in hidden]


def export_columns(records: EntityRecords, locale: str) -> list[Column]:
    """The columns of an export: id, state, creation time, then every visible field."""
    columns = [
        Column("id", "id", "integer"),
        Column("state", translated(STATE, locale)),
        Column("created_at", translated(CREATED, locale), "datetime"),
    ]
    for f in export_fields(records):
        kind = _TYPES.get(f.kind, "text")
        if f.kind == "computed":
            kind = "number" if f.sql_type == "number" else "text"
        columns.append(
            Column(f.key, f.schema.get("title") or f.key, kind, f.schema.get("x-precision"))
        )
    return columns


def search_clause(records: EntityRecords, text: str | None) -> ColumnElement | None:
    """Records with ``text`` in any visible top-level text field (None: no search)."""
    text = (text or "").strip()
    if not text:
        return None
    hidden = records.access.hidden
    fields = [
        f
        for f in records.definition.fields.values()
        if f.kind in SEARCHABLE and f.key not in hidden
    ]
    if not fields:
        return false()
    dialect, definition = records.dialect, records.definition
    return or_(
        *(filter_clause(dialect, definition, Filter(f.key, "contains", text)) for f in fields)
    )


class RecordRows:
    """The rows of an export, read a batch at a time with the viewer's permissions."""

    def __init__(self, records: EntityRecords, request: ExportRequest):
        records.access.require("export")
        self.records = records
        self.request = request
        self.fields = export_fields(records)
        self.where = search_clause(records, request.text)
        self._targets: dict[str, EntityRecords | None] = {}
        self.query(1)  # unknown or hidden fields in filters and order are refused now

    def query(self, limit: int, cursor: str | None = None) -> tuple[Any, Any]:
        request = self.request
        query, ordering = self.records.list_query(
            list(request.filters), order_by=request.order_by, limit=limit, cursor=cursor
        )
        return (query if self.where is None else query.where(self.where)), ordering

    def count(self, cap: int | None = None) -> int:
        """How many records match (at most ``cap + 1``, to tell whether there are more)."""
        query, _ = self.query(1)
        ids = query.with_only_columns(Record.id).order_by(None).limit(None)
        if cap is not None:
            ids = ids.limit(cap + 1)
        return self.records.session.scalar(select(func.count()).select_from(ids.subquery()))

    def batches(self, cap: int) -> Iterator[list[dict[str, Any]]]:
        """Rows of at most ``cap`` records, a batch at a time."""
        cursor, sent = None, 0
        while sent < cap:
            limit = min(BATCH, cap - sent)
            query, ordering = self.query(limit, cursor)
            found = list(self.records.session.scalars(query))
            batch = found[:limit]
            if batch:
                yield self._rows(batch)
            sent += len(batch)
            if len(found) <= limit:
                return
            last = batch[-1]
            cursor = encode_cursor(ordering.value_of(last), last.id)

    def _rows(self, batch: list[Record]) -> list[dict[str, Any]]:
        visible = [(record, self.records.visible(record.data)) for record in batch]
        names = self._reference_names([data for _, data in visible])
        users = self._user_names([data for _, data in visible])
        rows = []
        for record, data in visible:
            row: dict[str, Any] = {
                "id": record.id,
                "state": record.state,
                "created_at": record.created_at,
            }
            for f in self.fields:
                value = data.get(f.key)
                if f.kind == "reference" and isinstance(value, int):
                    value = names.get((f.ref, value), f"#{value}")
                elif f.kind == "user" and isinstance(value, int):
                    value = users.get(value, f"#{value}")
                elif f.kind == "child_table":
                    value = len(value) if isinstance(value, list) else None
                row[f.key] = value
            rows.append(row)
        return rows

    def _target(self, ref: str) -> EntityRecords | None:
        if ref not in self._targets:
            app_key, _, entity_key = ref.partition(".")
            try:
                store = RecordStore(self.records.session, self.records.actor)
                self._targets[ref] = store.entity(app_key, entity_key)
            except (NotFound, PermissionDenied):
                self._targets[ref] = None  # the viewer sees the id only
        return self._targets[ref]

    def _reference_names(self, rows: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
        wanted: dict[str, set[int]] = defaultdict(set)
        for f in self.fields:
            if f.kind == "reference":
                wanted[f.ref] |= {d[f.key] for d in rows if isinstance(d.get(f.key), int)}
        names = {}
        for ref, ids in wanted.items():
            target = self._target(ref)
            if target is None or not ids:
                continue
            for record in target.get_many(ids).values():
                names[(ref, record.id)] = record_title(
                    target.definition, record.id, target.visible(record.data)
                )
        return names

    def _user_names(self, rows: list[dict[str, Any]]) -> dict[int, str]:
        ids = {
            d[f.key]
            for f in self.fields
            if f.kind == "user"
            for d in rows
            if isinstance(d.get(f.key), int)
        }
        if not ids:
            return {}
        found = self.records.session.execute(
            select(User.id, User.display_name, User.username)
            .join(Membership, Membership.user_id == User.id)
            .where(User.id.in_(ids), Membership.workspace_id == self.records.actor.workspace_id)
        )
        return {uid: display or username for uid, display, username in found}


def record_title(definition: EntityDefinition, record_id: int, data: dict[str, Any]) -> str:
    """What a record is called: its title field, else '#id'."""
    title_field = definition.raw.get("title_field")
    value = data.get(title_field) if title_field else None
    return str(value) if value not in (None, "") else f"#{record_id}"


# -- writing ---------------------------------------------------------------------------------


def write_records(rows: RecordRows, stream: IO[bytes], cap: int, progress: Any = None) -> int:
    """Write up to ``cap`` records of ``rows`` in the request's format; rows written.

    ``progress(done)`` is called after each batch (a job reports it)."""
    request = rows.request
    if request.fmt not in FORMATS:
        raise BadRequest(f"Export as one of: {', '.join(FORMATS)}.")

    def flat() -> Iterator[dict[str, Any]]:
        done = 0
        for batch in rows.batches(cap):
            yield from batch
            done += len(batch)
            if progress is not None:
                progress(done)

    columns = export_columns(rows.records, request.locale)
    if request.fmt == "csv":
        return write_csv(columns, flat(), stream, locale=request.locale)
    title = request.entity_key
    return write_xlsx(columns, flat(), stream, locale=request.locale, sheet_title=title)


def export_records(
    session: Session,
    actor: Actor,
    request: ExportRequest,
    *,
    inline_rows: int = DEFAULT_INLINE_ROWS,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ExportResult:
    """Export a filtered list: written now when it has at most ``inline_rows`` records, else
    enqueued as a job (in ``session``'s transaction; the caller commits)."""
    if request.fmt not in FORMATS:
        raise BadRequest(f"Export as one of: {', '.join(FORMATS)}.")
    records = RecordStore(session, actor).entity(request.app_key, request.entity_key)
    rows = RecordRows(records, request)
    mimetype = FORMATS[request.fmt]
    if rows.count(cap=inline_rows) > inline_rows:
        actor.require_write()  # the file is stored, as an attachment of the requester
        row = enqueue(
            session,
            JOB_KIND,
            {**request.as_args(), "max_rows": max_rows},
            workspace_id=actor.workspace_id,
            created_by=actor.user_id,
            queue="low",
        )
        return ExportResult(request.filename, mimetype, job=row)
    file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    written = write_records(rows, file, inline_rows)
    file.seek(0)
    return ExportResult(request.filename, mimetype, file=file, rows=written)


@job(JOB_KIND)
def export_records_job(ctx: JobContext, max_rows: int = DEFAULT_MAX_ROWS, **args: Any) -> dict:
    """Write a large export with progress and store it for its requester to download."""
    session, row = ctx.session, ctx.job
    actor = member_actor(session, row.created_by, row.workspace_id) if row.created_by else None
    if actor is None:
        raise PermanentJobError("The user who asked for this export is no longer a member.")
    request = ExportRequest.from_args(args)
    records = RecordStore(session, actor).entity(request.app_key, request.entity_key)
    rows = RecordRows(records, request)
    total = min(rows.count(), max_rows)
    ctx.progress(0, total, f"0 of {total} records")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as file:
        written = write_records(
            rows,
            file,
            max_rows,
            lambda done: ctx.progress(done, total, f"{done} of {total} records"),
        )
        file.seek(0)
        attachment = store_attachment(
            session,
            actor,
            current_app.config["STORAGE_DIR"],
            request.filename,
            FORMATS[request.fmt],
            file,
            sys.maxsize,
        )
    return {
        "rows": written,
        "truncated": written < rows.count(cap=written),
        "attachment_id": attachment.id,
        "filename": attachment.filename,
        "size": attachment.size,
        "download": f"/api/v1/attachments/{attachment.id}/content",
    }
