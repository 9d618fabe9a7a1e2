"""Imports of CSV and XLSX files into an entity: a dry run, or the import as a job."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g, jsonify, request, url_for

from jizuo.platform.actor import ADMIN
from jizuo.platform.api import api
from jizuo.platform.api.job_views import job_body
from jizuo.platform.db import get_session
from jizuo.platform.errors import BadRequest, NotFound, error
from jizuo.platform.import_runs import (
    JOB,
    ImportLimits,
    dry_run,
    import_file_path,
    importing_records,
    start_import,
    store_import_file,
    uploaded_copy,
)
from jizuo.platform.imports import ImportOptions
from jizuo.platform.jobs import get_job
from jizuo.platform.models import Job
from jizuo.platform.records import RecordStore
from jizuo.platform.web import select_locale

IMPORTS = "/apps/<app_key>/entities/<entity_key>/imports"
#: Form fields holding JSON objects.
JSON_FIELDS = ("mapping", "reference_keys")
PLAIN_FIELDS = ("mode", "date_order", "decimal_sign", "sheet", "header_row")


def request_options() -> ImportOptions:
    """The import options of a multipart request: plain fields, mapping and keys as JSON."""
    raw: dict[str, Any] = {k: request.form[k] for k in PLAIN_FIELDS if request.form.get(k)}
    for name in JSON_FIELDS:
        text = request.form.get(name)
        if not text:
            continue
        try:
            raw[name] = json.loads(text)
        except ValueError:
            raise BadRequest(
                f"'{name}' is not JSON.", errors=[error(f"/{name}", "a JSON object")]
            ) from None
    return ImportOptions.from_json(raw)


def _dry_run_wanted() -> bool:
    value = request.form.get("dry_run", "false").strip().lower()
    if value not in ("true", "false", "1", "0", ""):
        raise BadRequest("'dry_run' is true or false.", errors=[error("/dry_run", value)])
    return value in ("true", "1")


def _attachment_id() -> int | None:
    raw = request.form.get("attachment", "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest("'attachment' is the id of an uploaded file.")
    return int(raw)


def import_body(job: Job) -> dict[str, Any]:
    """An import job as the API shows it: the job, plus where to ask for it."""
    args = job.args
    return {
        **job_body(job),
        "file": args.get("filename"),
        "rows": args.get("rows"),
        "mode": args.get("options", {}).get("mode"),
    }


@api.post(IMPORTS)
def create_import(app_key: str, entity_key: str) -> tuple[Response, int]:
    session = get_session()
    records = importing_records(session, g.actor, app_key, entity_key)
    options = request_options()
    limits = ImportLimits.of(current_app)
    upload, attachment_id = request.files.get("file"), _attachment_id()
    if upload is None and attachment_id is None:
        raise BadRequest(
            "Send the file as multipart/form-data in a field named 'file' "
            "(or 'attachment': the id of a file uploaded before).",
            errors=[error("/file", "missing")],
        )
    locale = select_locale()
    if _dry_run_wanted():
        if upload is not None:
            with uploaded_copy(upload.stream, limits) as path:
                report = dry_run(records, path, upload.filename or "", options, limits, locale)
        else:
            path, name = import_file_path(session, g.actor, attachment_id)
            report = dry_run(records, path, name, options, limits, locale)
        return jsonify(report), 200
    if upload is not None:
        attachment_id = store_import_file(
            session, g.actor, limits, upload.filename or "", upload.mimetype, upload.stream
        ).id
    key = request.headers.get("Idempotency-Key")
    if key:
        key = f"import:{g.actor.workspace_id}:{g.actor.user_id}:{key[:100]}"
    job = start_import(records, attachment_id, options, limits, locale, key)
    session.commit()  # dispatches the job (without Redis it runs now)
    session.refresh(job)
    response = jsonify(import_body(job))
    response.headers["Location"] = url_for(
        "api.import_status", app_key=app_key, entity_key=entity_key, job_id=job.id
    )
    return response, 202


@api.get(f"{IMPORTS}/<job_id>")
def import_status(app_key: str, entity_key: str, job_id: str) -> Response:
    session = get_session()
    RecordStore(session, g.actor).entity(app_key, entity_key)  # NotFound for unknown ones
    job = get_job(session, job_id, g.actor.workspace_id)
    args = job.args if job is not None and job.kind == JOB else {}
    mine = job is not None and (job.created_by == g.actor.user_id or g.actor.has_role(ADMIN))
    if not mine or (args.get("app_key"), args.get("entity_key")) != (app_key, entity_key):
        raise NotFound(f"No import '{job_id}' into '{app_key}.{entity_key}'.")
    return jsonify(import_body(job))
