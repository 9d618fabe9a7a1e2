"""Running an import: the uploaded file stored, a dry run, and the real run as a job.

The file is read a batch of rows at a time (``JIZUO_IMPORT_BATCH_ROWS``, 500), never
whole. A dry run converts and checks every row and writes nothing. The real run is the
job ``platform.import_records`` on the ``low`` queue, acting as the importer:

* **all or nothing** (the default): first every row is checked as in a dry run, with only
  the progress committed; if any row is refused nothing is written and the job's result
  lists why. Otherwise the rows are written in batches inside one transaction, committed
  at the end together with a receipt keyed by the job id, so a retried job finds the
  receipt and writes nothing twice. While that transaction is open the progress bar moves
  on PostgreSQL (reported through a second connection); SQLite has one writer at a time,
  so there the bar waits at half way until the write commits;
* **valid rows only**: each batch's valid rows are written and committed with the
  progress and a receipt for the batch; a retry skips the batches that have one.

Every record written has a history entry with the reason ``import <file> (job <id>)``.
Limits: ``JIZUO_IMPORT_MAX_BYTES`` (100 MB) and ``JIZUO_IMPORT_MAX_ROWS`` (1 000 000).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.attachments import attachment_path, get_attachment, store_attachment
from jizuo.platform.auth import member_actor
from jizuo.platform.db import new_session
from jizuo.platform.errors import PermissionDenied, ValidationFailed
from jizuo.platform.import_files import FileTooLarge, Table, open_table
from jizuo.platform.imports import (
    VALID_ROWS,
    FileUniques,
    ImportOptions,
    ImportPlan,
    ImportReport,
    convert_rows,
    plan_import,
    store_errors,
)
from jizuo.platform.jobs import JobContext, enqueue
from jizuo.platform.models import ActionReceipt, Attachment, Job
from jizuo.platform.records import EntityRecords, RecordStore
from jizuo.platform.registry import job

JOB = "platform.import_records"
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_BATCH_ROWS = 500
#: Characters kept out of a file name shown in history entries and pages.
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class ImportLimits:
    """How big an import may be and how many rows it handles at a time."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    batch_rows: int = DEFAULT_BATCH_ROWS
    max_errors: int = 200

    @classmethod
    def of(cls, app: Flask) -> ImportLimits:
        """The limits set by ``JIZUO_IMPORT_MAX_BYTES``, ``…_MAX_ROWS``, ``…_BATCH_ROWS``."""
        config = app.config
        return cls(
            max_bytes=int(config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES),
            max_rows=int(config.get("IMPORT_MAX_ROWS") or DEFAULT_MAX_ROWS),
            batch_rows=max(1, int(config.get("IMPORT_BATCH_ROWS") or DEFAULT_BATCH_ROWS)),
        )


def display_name(filename: str) -> str:
    """A file's name as its user gave it (Chinese included), without any path or control
    characters; the bytes are stored under a random key, so the name is only shown."""
    name = _UNSHOWN.sub("", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:200] or "file"


def store_import_file(
    session: Session,
    actor: Actor,
    limits: ImportLimits,
    filename: str,
    content_type: str,
    stream: BinaryIO,
) -> Attachment:
    """Keep an uploaded file for an import (an attachment of the importer) once it is known
    to be a readable CSV or XLSX table; 413 when it is too large, 422 when unreadable."""
    storage = current_app.config["STORAGE_DIR"]
    try:
        attachment = store_attachment(
            session, actor, storage, filename, content_type, stream, limits.max_bytes
        )
    except ValidationFailed as exc:
        if any(e.get("code") == "maxSize" for e in exc.errors):
            raise FileTooLarge(
                f"An import file may have at most {limits.max_bytes} bytes.", errors=exc.errors
            ) from None
        raise
    attachment.filename = display_name(filename)
    path = attachment_path(storage, attachment)
    try:
        open_table(path, attachment.filename).close()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


@contextmanager
def uploaded_copy(stream: BinaryIO, limits: ImportLimits) -> Iterator[Path]:
    """A temporary copy of an upload (for a dry run, which keeps nothing), removed after."""
    handle = tempfile.NamedTemporaryFile(prefix="jizuo-import-", delete=False)  # noqa: SIM115
    try:
        with handle:
            size = 0
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > limits.max_bytes:
                    raise FileTooLarge(f"An import file may have at most {limits.max_bytes} bytes.")
                handle.write(chunk)
        yield Path(handle.name)
    finally:
        os.unlink(handle.name)


def import_file_path(session: Session, actor: Actor, attachment_id: int) -> tuple[Path, str]:
    """Where a stored import file is and its name; NotFound unless the actor may read it."""
    attachment = get_attachment(session, actor, attachment_id)
    return attachment_path(current_app.config["STORAGE_DIR"], attachment), attachment.filename


def importing_records(
    session: Session, actor: Actor, app_key: str, entity_key: str
) -> EntityRecords:
    """The entity's records, if the actor may create them (else PermissionDenied)."""
    actor.require_write()
    records = RecordStore(session, actor).entity(app_key, entity_key)
    records.access.require("create")
    return records


def _open(path: Path, filename: str, options: ImportOptions) -> Table:
    return open_table(path, filename, sheet=options.sheet, header_row=options.header_row)


def batches(table: Table, limits: ImportLimits) -> Iterator[list[tuple[int, list[Any]]]]:
    """The table's rows in batches; FileTooLarge past ``max_rows``."""
    batch: list[tuple[int, list[Any]]] = []
    seen = 0
    for row in table.rows():
        seen += 1
        if seen > limits.max_rows:
            raise FileTooLarge(f"An import may have at most {limits.max_rows} rows.")
        batch.append(row)
        if len(batch) >= limits.batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch


def check_batch(
    plan: ImportPlan, batch: list[tuple[int, list[Any]]], uniques: FileUniques | None = None
) -> list[list[dict[str, Any]]]:
    """Each row's report entries: conversion, look-ups, every check of the record store and,
    given ``uniques``, values the file repeats. Writes nothing."""
    converted, problems = convert_rows(plan, batch)
    clean = [i for i, entries in enumerate(problems) if not entries]
    store = plan.records.check_many([converted[i] for i in clean]) if clean else []
    for i, errors in zip(clean, store, strict=True):
        row = batch[i][0]
        problems[i] += store_errors(plan, row, errors)
        if uniques is not None and not problems[i]:
            problems[i] += uniques.errors(row, converted[i])
    return problems


def dry_run(
    records: EntityRecords,
    path: Path,
    filename: str,
    options: ImportOptions,
    limits: ImportLimits,
    locale: str = "en",
) -> dict[str, Any]:
    """Convert and check every row of the file as the import would; write nothing."""
    with _open(path, filename, options) as table:
        plan = plan_import(records, table.headers, options, locale)
        report = ImportReport(limits.max_errors)
        uniques = FileUniques(plan)
        for batch in batches(table, limits):
            for entries in check_batch(plan, batch, uniques):
                report.add_row(entries)
    return {**report.to_json(), "dry_run": True, "headers": table.headers, **_chosen(plan)}


def _chosen(plan: ImportPlan) -> dict[str, Any]:
    return {"mapping": plan.mapping, "options": plan.options.to_json()}


def start_import(
    records: EntityRecords,
    attachment_id: int,
    options: ImportOptions,
    limits: ImportLimits,
    locale: str = "en",
    idempotency_key: str | None = None,
) -> Job:
    """Check the mapping and the size now, then enqueue the import job (dispatched when the
    caller commits). The job gets the full mapping, so it imports what was checked."""
    session, actor = records.session, records.actor
    path, filename = import_file_path(session, actor, attachment_id)
    with _open(path, filename, options) as table:
        plan = plan_import(records, table.headers, options, locale)
        rows = 0
        for rows, _row in enumerate(table.rows(), start=1):
            if rows > limits.max_rows:
                raise FileTooLarge(f"An import may have at most {limits.max_rows} rows.")
    chosen = dataclasses.replace(options, mapping=plan.mapping)
    args = {
        "workspace_id": actor.workspace_id,
        "user_id": actor.user_id,
        "read_only": actor.read_only,
        "app_keys": sorted(actor.app_keys) if actor.app_keys is not None else None,
        "app_key": records.published.app.key,
        "entity_key": records.definition.key,
        "attachment_id": attachment_id,
        "filename": filename,
        "rows": rows,
        "options": chosen.to_json(),
    }
    return enqueue(
        session,
        JOB,
        args,
        workspace_id=actor.workspace_id,
        created_by=actor.user_id,
        idempotency_key=idempotency_key,
        queue="low",
    )


# -- the job ------------------------------------------------------------------------------


def _importer(session: Session, args: dict[str, Any]) -> Actor:
    actor = member_actor(session, args["user_id"], args["workspace_id"])
    if actor is None:
        raise PermissionDenied("The importer is no longer a member of this workspace.")
    app_keys = args.get("app_keys")
    return dataclasses.replace(
        actor,
        read_only=bool(args.get("read_only")),
        app_keys=frozenset(app_keys) if app_keys is not None else None,
    )


def _receipt(session: Session, key: str) -> dict[str, Any] | None:
    found = session.scalar(select(ActionReceipt.result).where(ActionReceipt.key == key))
    return None if found is None else dict(found)


@job(JOB)
def import_records(ctx: JobContext, **args: Any) -> dict[str, Any]:
    """Import a stored file into an entity as its importer (see the module's text)."""
    session = ctx.session
    done = _receipt(session, f"import:{ctx.job.id}")
    if done is not None:
        return done  # a run before this one committed everything
    actor = _importer(session, args)
    records = importing_records(session, actor, args["app_key"], args["entity_key"])
    path, _stored_name = import_file_path(session, actor, args["attachment_id"])
    options = ImportOptions.from_json(args["options"])
    run = _Run(ctx, records, path, args["filename"], options, ImportLimits.of(current_app))
    run.total = max(1, int(args.get("rows") or 1))
    if options.mode == VALID_ROWS:
        return run.valid_rows()
    return run.all_or_nothing()


class _Run:
    """One run of the import job."""

    def __init__(
        self,
        ctx: JobContext,
        records: EntityRecords,
        path: Path,
        filename: str,
        options: ImportOptions,
        limits: ImportLimits,
    ):
        self.ctx, self.session, self.records = ctx, ctx.session, records
        self.path, self.filename, self.options, self.limits = path, filename, options, limits
        self.total = 1
        self.reason = f"import {filename} (job {ctx.job.id})"

    def _plan(self, table: Table) -> ImportPlan:
        return plan_import(self.records, table.headers, self.options)

    def all_or_nothing(self) -> dict[str, Any]:
        report = ImportReport(self.limits.max_errors)
        with _open(self.path, self.filename, self.options) as table:
            plan = self._plan(table)
            uniques = FileUniques(plan)
            for batch in batches(table, self.limits):
                for entries in check_batch(plan, batch, uniques):
                    report.add_row(entries)
                self.ctx.progress(report.rows, 2 * self.total, f"{report.rows} rows checked")
        if report.invalid:
            return {**report.to_json(), "outcome": "refused"}

        written = ImportReport(self.limits.max_errors)
        with _open(self.path, self.filename, self.options) as table:
            plan = self._plan(table)
            for batch in batches(table, self.limits):
                self._write(plan, batch, written)
                done = self.total + written.rows
                self._progress_aside(done, 2 * self.total, f"{written.rows} rows written")
        if written.invalid:
            # Something changed since the check (a unique value taken meanwhile): nothing stays.
            self.session.rollback()
            return {**written.to_json(), "written": 0, "outcome": "refused"}
        result = {**written.to_json(), "outcome": "imported"}
        key = f"import:{self.ctx.job.id}"
        self.session.add(
            ActionReceipt(key=key, workspace_id=self.records.actor.workspace_id, result=result)
        )
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()  # a duplicate run committed first: its records stand
            return _receipt(self.session, key) or result
        return result

    def valid_rows(self) -> dict[str, Any]:
        report = ImportReport(self.limits.max_errors)
        with _open(self.path, self.filename, self.options) as table:
            plan = self._plan(table)
            for index, batch in enumerate(batches(table, self.limits)):
                key = f"import:{self.ctx.job.id}:{index}"
                part = _receipt(self.session, key)
                if part is None:
                    part = ImportReport(self.limits.max_errors)
                    self._write(plan, batch, part)
                    part = part.to_json()
                    self.session.add(
                        ActionReceipt(
                            key=key, workspace_id=self.records.actor.workspace_id, result=part
                        )
                    )
                    try:
                        self.session.flush()
                    except IntegrityError:
                        self.session.rollback()
                        part = _receipt(self.session, key) or part
                report.merge(part)
                self.ctx.progress(report.rows, self.total, f"{report.written} rows imported")
        return {**report.to_json(), "outcome": "imported"}

    def _write(self, plan: ImportPlan, batch: list[tuple[int, Any]], report: ImportReport) -> None:
        """Write a batch's valid rows; count them, and the others with their errors."""
        converted, problems = convert_rows(plan, batch)
        clean = [i for i, entries in enumerate(problems) if not entries]
        ids, errors = self.records.create_valid([converted[i] for i in clean], reason=self.reason)
        for i, row_errors in zip(clean, errors, strict=True):
            problems[i] += store_errors(plan, batch[i][0], row_errors)
        for entries in problems:
            report.add_row(entries)
        report.written += sum(1 for record_id in ids if record_id is not None)

    def _progress_aside(self, done: int, total: int, message: str) -> None:
        """Progress others see while the import's transaction is still open: through a second
        connection, except on SQLite, whose one write lock that transaction holds."""
        if self.session.get_bind().dialect.name == "sqlite":
            return
        side = new_session(current_app._get_current_object(), write=True)
        try:
            side.execute(
                update(Job)
                .where(Job.id == self.ctx.job.id)
                .values(progress=round(100.0 * done / total, 1), message=message)
            )
            side.commit()
        finally:
            side.close()
