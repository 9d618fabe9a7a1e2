"""The import pages of an entity: upload a file, map its columns, check, import, follow.

Plain forms that work without JavaScript; the progress page reloads itself until the
job is done. Every step goes through the platform's import services with the signed-in
user's actor, so the same permissions and checks apply as on the API.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jizuo.platform.actor import ADMIN
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest, JizuoError, NotFound, PermissionDenied, error
from jizuo.platform.import_files import preview
from jizuo.platform.import_lookups import KEY_KINDS, RECORD_ID
from jizuo.platform.import_runs import (
    JOB,
    ImportLimits,
    dry_run,
    import_file_path,
    importing_records,
    start_import,
    store_import_file,
)
from jizuo.platform.import_values import DATE_ORDERS, DECIMAL_SIGNS
from jizuo.platform.imports import MODES, ImportOptions, importable_fields, suggest_mapping
from jizuo.platform.jobs import FINAL, get_job
from jizuo.platform.records import EntityRecords, RecordStore
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.platform.web import select_locale
from jizuo.runtime.blueprint import runtime

BASE = "/<app_key>/<entity_key>/import"


def _records(app_key: str, entity_key: str) -> EntityRecords:
    return importing_records(get_session(), g.actor, app_key, entity_key)


@runtime.get(BASE)
@access(MEMBER_RULE)
def import_upload(app_key: str, entity_key: str) -> str:
    records = _records(app_key, entity_key)
    return _upload_page(app_key, entity_key, records)


def _upload_page(
    app_key: str, entity_key: str, records: EntityRecords, problem: JizuoError | None = None
) -> Any:
    page = render_template(
        "runtime/import.html",
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        errors=_problems(problem),
        max_mb=ImportLimits.of(current_app).max_bytes // (1024 * 1024),
    )
    return page if problem is None else (page, problem.status)


def _problems(problem: JizuoError | None) -> list[dict[str, str]]:
    if problem is None:
        return []
    return problem.errors or [error("", problem.detail)]


@runtime.post(BASE)
@access(MEMBER_RULE)
def import_store(app_key: str, entity_key: str) -> Any:
    session = get_session()
    records = _records(app_key, entity_key)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise BadRequest(_("Choose a CSV or Excel file."), errors=[error("/file", "")])
        attachment = store_import_file(
            session,
            g.actor,
            ImportLimits.of(current_app),
            upload.filename,
            upload.mimetype,
            upload.stream,
        )
    except JizuoError as exc:
        session.rollback()
        return _upload_page(app_key, entity_key, records, exc)
    session.commit()
    return redirect(
        url_for(
            "runtime.import_mapping",
            app_key=app_key,
            entity_key=entity_key,
            file_id=attachment.id,
        )
    )


def _field_choices(records: EntityRecords) -> list[tuple[str, Any]]:
    fields = importable_fields(records.definition, records.access.may_write)
    return [
        (f.key, f.schema.get("title") or f.key)
        for f in fields
        if f.key not in records.access.hidden
    ]


def _key_choices(records: EntityRecords) -> dict[str, list[tuple[str, Any]]]:
    """Per reference field, the fields of its target its cells may name (the id first)."""
    store = RecordStore(records.session, records.actor)
    out = {}
    for f in records.definition.fields.values():
        if f.kind != "reference":
            continue
        choices: list[tuple[str, Any]] = [(RECORD_ID, _("Record number (id)"))]
        app_key, _dot, entity_key = (f.ref or "").partition(".")
        try:
            target = store.entity(app_key, entity_key)
        except (NotFound, PermissionDenied):
            target = None
        if target is not None:
            for t in target.definition.fields.values():
                if t.kind in KEY_KINDS and t.key not in target.access.hidden:
                    choices.append((t.key, t.schema.get("title") or t.key))
        out[f.key] = choices
    return out


def _form_options(headers: list[str]) -> ImportOptions:
    """The options the mapping form chose: a select per column, a key per reference field."""
    form = request.form
    mapping = {
        header: form.get(f"column-{i}") or None for i, header in enumerate(headers) if header
    }
    keys = {
        name.removeprefix("key-"): value
        for name, value in form.items()
        if name.startswith("key-") and value and value != RECORD_ID
    }
    keys = {k: v for k, v in keys.items() if k in mapping.values()}
    return ImportOptions.from_json(
        {
            "mapping": mapping,
            "reference_keys": keys,
            "mode": form.get("mode") or MODES[0],
            "date_order": form.get("date_order") or DATE_ORDERS[0],
            "decimal_sign": form.get("decimal_sign") or DECIMAL_SIGNS[0],
            "sheet": form.get("sheet") or None,
            "header_row": form.get("header_row") or 1,
        }
    )


def _mapping_page(
    app_key: str,
    entity_key: str,
    file_id: int,
    options: ImportOptions,
    *,
    report: dict[str, Any] | None = None,
    problem: JizuoError | None = None,
) -> Any:
    session = get_session()
    records = _records(app_key, entity_key)
    path, filename = import_file_path(session, g.actor, file_id)
    try:
        table, samples = preview(path, filename, sheet=options.sheet, header_row=options.header_row)
    except JizuoError as exc:
        if options.sheet is None and options.header_row == 1:
            raise
        problem = problem or exc  # a sheet or header row that is not there: say so, start over
        options = ImportOptions(mapping=options.mapping, mode=options.mode)
        table, samples = preview(path, filename)
    suggested = suggest_mapping(
        records.definition, table.headers, select_locale(), records.access.may_write
    )
    chosen = {**suggested, **{h: k for h, k in options.mapping.items() if h in suggested}}
    columns = [
        (i, header, chosen.get(header), [row[i] if i < len(row) else None for row in samples])
        for i, header in enumerate(table.headers)
        if header
    ]
    page = render_template(
        "runtime/import_map.html",
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        file_id=file_id,
        filename=filename,
        sheets=table.sheet_names,
        columns=columns,
        fields=_field_choices(records),
        key_choices=_key_choices(records),
        options=options,
        modes=MODES,
        date_orders=DATE_ORDERS,
        decimal_signs=DECIMAL_SIGNS,
        report=report,
        errors=_problems(problem),
    )
    return page if problem is None else (page, problem.status)


@runtime.get(f"{BASE}/<int:file_id>")
@access(MEMBER_RULE)
def import_mapping(app_key: str, entity_key: str, file_id: int) -> Any:
    raw = {"sheet": request.args.get("sheet") or None}
    if request.args.get("header_row"):
        raw["header_row"] = request.args["header_row"]
    return _mapping_page(app_key, entity_key, file_id, ImportOptions.from_json(raw))


@runtime.post(f"{BASE}/<int:file_id>")
@access(MEMBER_RULE)
def import_run(app_key: str, entity_key: str, file_id: int) -> Any:
    session = get_session()
    records = _records(app_key, entity_key)
    path, filename = import_file_path(session, g.actor, file_id)
    limits = ImportLimits.of(current_app)
    options = ImportOptions()
    try:
        table, _samples = preview(
            path,
            filename,
            sheet=request.form.get("sheet") or None,
            header_row=int(request.form.get("header_row") or 1),
        )
        options = _form_options(table.headers)
        if request.form.get("action") != "import":
            report = dry_run(records, path, filename, options, limits, select_locale())
            session.rollback()
            return _mapping_page(app_key, entity_key, file_id, options, report=report)
        job = start_import(records, file_id, options, limits, select_locale())
        session.commit()  # dispatches the job (without Redis it runs now)
    except (JizuoError, ValueError) as exc:
        session.rollback()
        if isinstance(exc, ValueError):
            exc = BadRequest(_("The header row is a row number."))
        return _mapping_page(app_key, entity_key, file_id, options, problem=exc)
    return redirect(
        url_for("runtime.import_progress", app_key=app_key, entity_key=entity_key, job_id=job.id)
    )


@runtime.get(f"{BASE}/jobs/<job_id>")
@access(MEMBER_RULE)
def import_progress(app_key: str, entity_key: str, job_id: str) -> str:
    session = get_session()
    records = RecordStore(session, g.actor).entity(app_key, entity_key)
    job = get_job(session, job_id, g.actor.workspace_id)
    args = job.args if job is not None and job.kind == JOB else {}
    mine = job is not None and (job.created_by == g.actor.user_id or g.actor.has_role(ADMIN))
    if not mine or (args.get("app_key"), args.get("entity_key")) != (app_key, entity_key):
        raise NotFound(_("No such import."))
    return render_template(
        "runtime/import_job.html",
        app_key=app_key,
        entity_key=entity_key,
        definition=records.definition,
        job=job,
        running=job.status not in FINAL,
        filename=args.get("filename"),
        result=job.result or {},
    )
