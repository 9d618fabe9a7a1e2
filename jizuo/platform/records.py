"""The record store: create, read, list, update and delete records of published entities.

Callable without HTTP (views, jobs, imports, tests all use it). It never commits:
the caller owns the transaction, so a failed check leaves nothing written.

    store = RecordStore(session, actor)
    ncr = store.entity("qms", "ncr").create({"lot_no": "L-1", ...})
    session.commit()

Writers outside a request should use ``new_session(write=True)``: on SQLite its
transactions take the write lock when they begin, so concurrent writers queue.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from jizuo.platform.actor import Actor
from jizuo.platform.audit import Change, append_history, creation_diff, diff_data
from jizuo.platform.catalog import PublishedEntity, published_entity
from jizuo.platform.counters import reserve_numbers
from jizuo.platform.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
    error,
)
from jizuo.platform.events import CREATED, DELETED, UPDATED, RecordEvent, emit
from jizuo.platform.expressions import ExpressionError
from jizuo.platform.models import AttachmentLink, Record, RecordHistory, RecordLink, utcnow
from jizuo.platform.permissions import EntityAccess, entity_access
from jizuo.platform.query import (
    Filter,
    Ordering,
    after_cursor,
    before_cursor,
    decode_cursor,
    encode_cursor,
    entity_is,
    filter_clause,
    order_clauses,
    resolve_ordering,
    reversed_order_clauses,
)
from jizuo.platform.record_checks import id_values, reference_errors, unique_errors
from jizuo.platform.record_migrations import pending_migrations, upgrade_data
from jizuo.platform.row_scope import record_names, stored_record_names
from jizuo.platform.workflows import Workflow, workflow_of

#: Filter operators an index on the field can answer.
INDEXABLE_OPERATORS = ("eq", "in", "gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Page:
    """One page of a listing and the cursor of the next (None on the last page)."""

    items: list[Record]
    next_cursor: str | None
    previous_cursor: str | None = None  # set by listings that page backwards too


class RecordStore:
    """Records of the actor's workspace, as far as the actor's permissions reach.

    Every query adds the workspace, the entity and the actor's row scope; every write checks
    the action, the fields the actor may write and that the record stays in scope. Callers
    show record data through ``EntityRecords.visible`` so hidden fields never leave.
    """

    def __init__(self, session: Session, actor: Actor):
        self.session = session
        self.actor = actor

    def entity(self, app_key: str, entity_key: str) -> EntityRecords:
        """The records of one published entity."""
        return EntityRecords(self, published_entity(self.session, self.actor, app_key, entity_key))


class EntityRecords:
    """Records of one entity, validated against its current published version."""

    def __init__(self, store: RecordStore, published: PublishedEntity):
        self.session = store.session
        self.actor = store.actor
        self.published = published
        self.definition = published.definition
        self.validator = published.validator
        self.entity_id = published.entity.id
        self.access: EntityAccess = entity_access(self.actor, published.app, self.definition)
        self.user = self.actor.expression_user()
        self.dialect = self.session.get_bind().dialect.name
        self._workflow: tuple[Workflow | None] | None = None

    def workflow(self) -> Workflow | None:
        """The entity's published workflow (None without one), looked up once."""
        if self._workflow is None:
            found = workflow_of(
                self.session, self.actor.workspace_id, self.published.app.id, self.definition.key
            )
            self._workflow = (found,)
        return self._workflow[0]

    # -- what the actor may see ----------------------------------------------------

    def visible(self, data: dict[str, Any]) -> dict[str, Any]:
        """Record data or a history diff without the fields hidden from the actor."""
        return self.access.visible(data)

    def record_names(self, record: Record | None, data: dict[str, Any]) -> dict[str, Any]:
        """The ``record`` variable of row scopes for ``data`` as it would be stored: a new
        record (``record`` None) or a change to ``record``, made by the actor now."""
        now = utcnow()
        if record is None:
            system = dict(version=1, created_at=now, created_by=self.actor.user_id)
        else:
            system = dict(
                id=record.id,
                state=record.state,
                version=record.version,
                entity_version=record.entity_version,
                created_at=record.created_at,
                created_by=record.created_by,
            )
        return record_names(
            self.definition, data, updated_at=now, updated_by=self.actor.user_id, **system
        )

    def _require_in_scope(self, action: str, record: Record | None, data: dict) -> None:
        if self.access.in_scope(action, self.record_names(record, data), self.user):
            return
        if record is None:
            raise PermissionDenied(
                f"Your role may not create a '{self.definition.key}' record with these values: "
                "it would be outside the records you may create."
            )
        raise PermissionDenied(
            f"This change would move record {record.id} outside the "
            f"'{self.definition.key}' records your role may change."
        )

    # -- reading -----------------------------------------------------------------

    def _live(self, action: str = "read", *, steer_off_listing_index: bool = False) -> Any:
        workspace = Record.workspace_id + 0 if steer_off_listing_index else Record.workspace_id
        query = select(Record).where(
            workspace == self.actor.workspace_id,
            entity_is(self.entity_id),
            Record.deleted_at.is_(None),
        )
        scope = self.access.scope_clause(action, self.dialect, self.user)
        return query if scope is None else query.where(scope)

    def get(self, record_id: Any, *, for_update: bool = False, action: str = "read") -> Record:
        """One live record the actor may read; NotFound if missing, deleted, out of the actor's
        row scope, of another entity or workspace. PermissionDenied if readable but ``action``
        is not allowed on it."""
        self.access.require("read")
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise NotFound(f"No record '{record_id}'.")
        query = self._live().where(Record.id == record_id)
        if for_update:
            query = query.with_for_update()
        record = self.session.scalar(query)
        if record is None:
            raise NotFound(f"No record {record_id} in '{self.definition.key}'.")
        if action != "read":
            self.access.require(action)
            names = stored_record_names(self.definition, record)
            if not self.access.in_scope(action, names, self.user):
                raise PermissionDenied(
                    f"Your role may read record {record_id} of '{self.definition.key}' "
                    f"but not {action} it."
                )
        return record

    def get_many(self, record_ids: set[int]) -> dict[int, Record]:
        """The live records among ``record_ids`` the actor may read, by id, in one query
        (references shown on a page resolve this way, never one query per row)."""
        wanted = sorted(i for i in record_ids if isinstance(i, int) and not isinstance(i, bool))
        if not wanted or not self.access.allows("read"):
            return {}
        query = self._live().where(Record.id.in_(wanted))
        return {record.id: record for record in self.session.scalars(query)}

    def list(
        self,
        filters: list[Filter] = (),
        *,
        order_by: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """A page of records matching all filters, in order, after ``cursor``."""
        query, ordering = self.list_query(filters, order_by=order_by, limit=limit, cursor=cursor)
        rows = list(self.session.scalars(query))
        items = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(ordering.value_of(last), last.id)
        return Page(items, next_cursor)

    def list_query(
        self,
        filters: list[Filter] = (),
        *,
        order_by: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        before: str | None = None,
    ) -> tuple[Any, Ordering]:
        """The SELECT behind ``list`` (one row more than ``limit``, to see if a page follows).

        ``before`` (a cursor) reads the rows before it instead, nearest first: the caller
        reverses them to show the previous page."""
        self.access.require("read")
        self._refuse_hidden([flt.name for flt in filters] + [(order_by or "").lstrip("-")])
        dialect = self.dialect
        ordering = resolve_ordering(dialect, self.definition, order_by)
        # Without ANALYZE statistics SQLite picks the (workspace, entity, id) index and
        # reads every record of the entity; writing the workspace test as an expression
        # (`workspace_id + 0`) rules that index out, so the field's own index is used.
        steer = dialect == "sqlite" and self._uses_field_index(filters)
        query = self._live(steer_off_listing_index=steer)
        for flt in filters:
            query = query.where(filter_clause(dialect, self.definition, flt))
        if before:
            value, first_id = decode_cursor(before, ordering)
            query = query.where(before_cursor(ordering, value, first_id, dialect))
            return query.order_by(*reversed_order_clauses(ordering)).limit(limit + 1), ordering
        if cursor:
            value, last_id = decode_cursor(cursor, ordering)
            query = query.where(after_cursor(ordering, value, last_id, dialect))
        return query.order_by(*order_clauses(ordering)).limit(limit + 1), ordering

    def _refuse_hidden(self, names: list[str]) -> None:
        """Filtering or sorting on a hidden field would reveal its values: answer as for an
        unknown field."""
        for name in names:
            if name.split(".")[0] in self.access.hidden:
                raise BadRequest(
                    f"Unknown field '{name}'.",
                    errors=[error(name, f"'{self.definition.key}' has no field '{name}'")],
                )

    def _uses_field_index(self, filters: list[Filter]) -> bool:
        """Whether a filter is on an ``x-index`` field with an operator the index answers."""
        for flt in filters:
            f = self.definition.fields.get(flt.name)
            if f is not None and f.schema.get("x-index") and flt.op in INDEXABLE_OPERATORS:
                return True
        return False

    def history(self, record_id: int) -> list[RecordHistory]:
        """The audit trail of one record (deleted records keep theirs), oldest first.

        Show each entry's diff through ``visible``."""
        self.access.require("read")
        query = select(Record.id).where(
            Record.id == record_id,
            Record.workspace_id == self.actor.workspace_id,
            Record.entity_id == self.entity_id,
        )
        scope = self.access.scope_clause("read", self.dialect, self.user)
        exists = self.session.scalar(query if scope is None else query.where(scope))
        if exists is None:
            raise NotFound(f"No record {record_id} in '{self.definition.key}'.")
        return list(
            self.session.scalars(
                select(RecordHistory)
                .where(
                    RecordHistory.workspace_id == self.actor.workspace_id,
                    RecordHistory.record_id == record_id,
                )
                .order_by(RecordHistory.seq)
            )
        )

    # -- writing -----------------------------------------------------------------

    def create(self, data: Any, *, reason: str | None = None) -> Record:
        """Validate, complete and insert one record."""
        [(record_id, values)] = self._create([data], reason)
        # The inserted row as a persistent object, without reading it back.
        record = Record(id=record_id, deleted_at=None, **values)
        make_transient_to_detached(record)
        self.session.add(record)
        return record

    def create_many(self, rows: list[Any], *, reason: str | None = None) -> list[int]:
        """Validate and insert records all-or-nothing; errors are prefixed with the row index."""
        return [record_id for record_id, _ in self._create(rows, reason)]

    def check_many(self, rows: list[Any]) -> list[list[dict]]:
        """Per row, every error ``create_many`` would refuse it for (a row outside the
        actor's create scope too), writing nothing: an import's dry run."""
        self.actor.require_write()
        self.access.require("create")
        prepared, errors = self._prepare(rows)
        self._scope_errors(prepared, errors)
        return errors

    def create_valid(
        self, rows: list[Any], *, reason: str | None = None
    ) -> tuple[list[int | None], list[list[dict]]]:
        """Insert the rows that pass every check of ``create_many``; per row, the new id (None
        for a refused row) and the errors it was refused for: an import of valid rows."""
        self.actor.require_write()
        self.access.require("create")
        prepared, errors = self._prepare(rows)
        self._scope_errors(prepared, errors)
        good = [i for i, row_errors in enumerate(errors) if not row_errors]
        ids: list[int | None] = [None] * len(rows)
        if good:
            inserted = self._insert_new([prepared[i] for i in good], reason)
            for i, (record_id, _values) in zip(good, inserted, strict=True):
                ids[i] = record_id
        return ids, errors

    def _create(self, rows: list[Any], reason: str | None) -> list[tuple[int, dict[str, Any]]]:
        self.actor.require_write()
        self.access.require("create")
        prepared, errors = self._prepare(rows)
        self._raise_if_any(errors, single=len(rows) == 1)
        if self.access.scopes.get("create") is not None:
            for data in prepared:
                self._require_in_scope("create", None, data)
        return self._insert_new(prepared, reason)

    def _prepare(self, rows: list[Any]) -> tuple[list[dict[str, Any]], list[list[dict]]]:
        """Validated, completed copies of new records' data, and each one's errors."""
        user = self.user
        prepared, errors = [], []
        for raw in rows:
            row_errors = self.validator.input_errors(raw)
            data = {}
            if isinstance(raw, dict):
                row_errors += self.access.write_errors(raw.keys())
                # writable_part copies the record and its child rows, the only parts that
                # are changed in place (formulas), so the caller's input stays untouched.
                data = self.validator.writable_part(raw)
                data = self.validator.apply_defaults(self.validator.normalise(data))
                row_errors += self.validator.check(data, user)
            prepared.append(data)
            errors.append(row_errors)
        self._database_checks(prepared, errors, [None] * len(prepared))
        return prepared, errors

    def _scope_errors(self, prepared: list[dict[str, Any]], errors: list[list[dict]]) -> None:
        """An error for each otherwise valid row the actor may not create (its row scope)."""
        if self.access.scopes.get("create") is None:
            return
        for data, row_errors in zip(prepared, errors, strict=True):
            names = self.record_names(None, data)
            if not row_errors and not self.access.in_scope("create", names, self.user):
                message = "outside the records your role may create"
                row_errors.append(error("", message, "scope"))

    def _insert_new(
        self, prepared: list[dict[str, Any]], reason: str | None
    ) -> list[tuple[int, dict[str, Any]]]:
        """Number, insert, link and record checked new records."""
        now = utcnow()
        self._number(prepared, now)
        workflow = self.workflow()
        values = [
            {
                "workspace_id": self.actor.workspace_id,
                "entity_id": self.entity_id,
                "entity_version": self.published.version,
                "data": data,
                "state": workflow.initial if workflow else None,
                "version": 1,
                "created_at": now,
                "created_by": self.actor.user_id,
                "updated_at": now,
                "updated_by": self.actor.user_id,
            }
            for data in prepared
        ]
        ids = self._insert(values)
        self._write_links(list(zip(ids, prepared, strict=True)))
        changes = [
            Change(rid, self.entity_id, "create", creation_diff(data), self.actor.user_id, reason)
            for rid, data in zip(ids, prepared, strict=True)
        ]
        self._record(changes, CREATED, [tuple(sorted(data)) for data in prepared])
        return list(zip(ids, values, strict=True))

    def update(
        self, record_id: Any, patch: Any, expected_version: int, *, reason: str | None = None
    ) -> Record:
        """Apply a JSON merge patch to a record's data if ``expected_version`` is still current."""
        self.actor.require_write()
        record = self.get(record_id, for_update=True, action="update")
        self._check_version(record, expected_version)
        user = self.user
        errors = self.validator.input_errors(patch)
        if not isinstance(patch, dict):
            raise ValidationFailed("The record is not valid.", errors=errors)
        before = record.data
        # A hidden field may not even be sent (an error only on a changed value would let a
        # client guess it); a read-only one may be sent back unchanged.
        errors += self.access.write_errors(
            k for k in patch if k in self.access.hidden or patch[k] != before.get(k)
        )
        data = copy.deepcopy(before)
        if record.entity_version < self.published.version:
            # Not yet reached by the migration job of a newer version: catch up first.
            pending = pending_migrations(
                self.session, self.entity_id, record.entity_version, self.published.version
            )
            try:
                data = upgrade_data(data, pending)
            except ExpressionError as exc:
                raise ValidationFailed(f"The record cannot be migrated: {exc}") from exc
        for key, value in self.validator.writable_part(patch).items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = copy.deepcopy(value)
        data = self.validator.normalise(data)
        changed = {k for k in set(before) | set(data) if before.get(k) != data.get(k)}
        errors += self.validator.readonly_errors(before, changed, user)
        workflow = self.workflow()
        if workflow is not None:
            errors += workflow.readonly_errors(record.state, changed)
        errors += self.validator.check(data, user)
        all_errors = [errors]
        self._database_checks([data], all_errors, [record.id])
        self._raise_if_any(all_errors, single=True)

        diff = diff_data(before, data)
        if not diff and record.entity_version == self.published.version:
            return record  # nothing changed: no new version, no history entry
        if self.access.scopes.get("update") is not None:
            self._require_in_scope("update", record, data)
        result = self.session.execute(
            update(Record)
            .where(Record.id == record.id, Record.version == expected_version)
            .values(
                data=data,
                entity_version=self.published.version,
                version=Record.version + 1,
                updated_at=utcnow(),
                updated_by=self.actor.user_id,
            )
        )
        if result.rowcount != 1:  # pragma: no cover - the row lock makes this a last resort
            raise StaleVersion("The record was changed by someone else.")
        self._write_links([(record.id, data)], replace=True)
        change = Change(record.id, self.entity_id, "update", diff, self.actor.user_id, reason)
        self._record([change], UPDATED, [tuple(sorted(diff))])
        self.session.refresh(record)
        return record

    def delete(
        self, record_id: Any, expected_version: int | None = None, *, reason: str | None = None
    ) -> None:
        """Soft-delete a record that no live record references."""
        self.actor.require_write()
        record = self.get(record_id, for_update=True, action="delete")
        if expected_version is not None:
            self._check_version(record, expected_version)
        used_by = self.session.scalar(
            select(func.count())
            .select_from(RecordLink)
            .join(Record, Record.id == RecordLink.source_id)
            .where(RecordLink.target_id == record.id, Record.deleted_at.is_(None))
        )
        if used_by:
            raise Conflict(
                f"Record {record.id} is referenced by {used_by} other record(s); "
                "remove those references first.",
                used_by=used_by,
            )
        record.deleted_at = utcnow()
        record.version += 1
        record.updated_by = self.actor.user_id
        change = Change(record.id, self.entity_id, "delete", {}, self.actor.user_id, reason)
        self._record([change], DELETED, [()])
        self.session.flush()

    # -- helpers -----------------------------------------------------------------

    def _record(self, changes: list[Change], kind: str, changed: list[tuple[str, ...]]) -> None:
        """Append the changes to the audit trail and tell the event listeners."""
        seqs = append_history(self.session, self.actor.workspace_id, changes)
        events = [
            RecordEvent(
                kind,
                self.actor.workspace_id,
                self.entity_id,
                change.record_id,
                seq,
                self.actor.user_id,
                fields,
                depth=self.actor.depth,
            )
            for change, seq, fields in zip(changes, seqs, changed, strict=True)
        ]
        emit(self.session, events)

    @staticmethod
    def _check_version(record: Record, expected: int) -> None:
        if record.version != expected:
            raise StaleVersion(
                f"Record {record.id} is at version {record.version}, not {expected}: "
                "it was changed by someone else. Reload it and apply your change again.",
                current_version=record.version,
                updated_by=record.updated_by,
                updated_at=record.updated_at.isoformat(),
            )

    def _database_checks(
        self, rows: list[dict], errors: list[list[dict]], exclude: list[int | None]
    ) -> None:
        # Rows already invalid are skipped: their values may not even have the right types.
        valid = [i for i, e in enumerate(errors) if not e]
        subset = [rows[i] for i in valid]
        ref = reference_errors(self.session, self.actor, self.definition, subset)
        uniq = unique_errors(
            self.session, self.entity_id, self.definition, subset, [exclude[i] for i in valid]
        )
        for k, i in enumerate(valid):
            errors[i].extend(ref[k] + uniq[k])

    @staticmethod
    def _raise_if_any(errors: list[list[dict]], *, single: bool) -> None:
        if single:
            flat = errors[0]
        else:
            flat = [{**e, "path": f"/{i}{e['path']}"} for i, row in enumerate(errors) for e in row]
        if flat:
            bad = sum(1 for row in errors if row)
            detail = "The record is not valid." if single else f"{bad} record(s) are not valid."
            raise ValidationFailed(detail, errors=flat)

    def _number(self, rows: list[dict[str, Any]], now: Any) -> None:
        """Give every auto-number field its next numbers, one reservation per field and period."""
        for f in self.definition.fields.values():
            if f.kind == "auto_number":
                numbers = reserve_numbers(
                    self.session,
                    self.actor.workspace_id,
                    self.entity_id,
                    f.key,
                    f.sequence,
                    now,
                    len(rows),
                )
                for data, number in zip(rows, numbers, strict=True):
                    data[f.key] = number

    def _insert(self, values: list[dict[str, Any]]) -> list[int]:
        try:
            # Core, not the ORM: a bulk import inserts thousands of rows per call.
            table = Record.__table__
            statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
            return list(self.session.connection().execute(statement, values).scalars())
        except IntegrityError as exc:
            # The unique expression indexes catch what a concurrent writer slipped in
            # between our check and our insert.
            raise Conflict("A unique value is already used by another record.") from exc

    def _write_links(self, rows: list[tuple[int, dict[str, Any]]], replace: bool = False) -> None:
        """Rows of ``record_links`` (references) and ``attachment_links`` for these records."""
        if replace:
            source_ids = [rid for rid, _ in rows]
            self.session.execute(delete(RecordLink).where(RecordLink.source_id.in_(source_ids)))
            self.session.execute(
                delete(AttachmentLink).where(AttachmentLink.record_id.in_(source_ids))
            )
        references, attachments = [], []
        for rid, data in rows:
            for _path, f, target in id_values(self.definition, data, {"reference", "attachment"}):
                row = {"workspace_id": self.actor.workspace_id, "field": f.path}
                if f.kind == "reference":
                    references.append({**row, "source_id": rid, "target_id": target})
                else:
                    attachments.append({**row, "record_id": rid, "attachment_id": target})
        if references:
            self.session.execute(insert(RecordLink), references)
        if attachments:
            self.session.execute(insert(AttachmentLink), attachments)
