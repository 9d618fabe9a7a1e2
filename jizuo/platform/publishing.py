"""Publishing an entity's draft as a new immutable version.

Before publishing, every existing record is checked against the new definition,
after applying the migration if one is given (renames, drops, conversions,
defaults). Any record that would break makes the publish refuse, with a report of
what and how many. A migration that makes every record valid is then applied to the
records by a background job, with progress.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jizuo.platform.actor import Actor
from jizuo.platform.audit import Change, append_history, diff_data
from jizuo.platform.catalog import compile_definition, entity_by_ref, get_entity, published_of
from jizuo.platform.errors import IncompatibleChange, NotFound, ValidationFailed, error
from jizuo.platform.expressions import ExpressionError
from jizuo.platform.indexes import sync_record_indexes
from jizuo.platform.jobs import JobContext, enqueue
from jizuo.platform.metadata import EntityDefinition
from jizuo.platform.models import Entity, EntityVersion, Record, utcnow
from jizuo.platform.record_migrations import check_migration, pending_migrations, upgrade_data
from jizuo.platform.registry import job
from jizuo.platform.validation import RecordValidator

EXAMPLES = 5
BATCH = 1000


@dataclass
class Issue:
    """One way existing records would break, with how many and a few examples."""

    code: str
    path: str
    message: str
    count: int = 0
    examples: list[int] = field(default_factory=list)


@dataclass
class PublishReport:
    """What publishing changes, and what it would break."""

    records: int
    added: list[str]
    removed: list[str]
    changed: list[str]
    issues: list[Issue]

    @property
    def compatible(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["compatible"] = self.compatible
        return out


@dataclass
class PublishResult:
    """The new version and, when records are being migrated, the job doing it."""

    version: int
    report: PublishReport
    job_id: str | None = None


def _live_records(session: Session, entity: Entity) -> Any:
    return session.scalars(
        select(Record)
        .where(
            Record.workspace_id == entity.workspace_id,
            Record.entity_id == entity.id,
            Record.deleted_at.is_(None),
        )
        .order_by(Record.id)
        .execution_options(yield_per=BATCH)
    )


def _field_changes(old: EntityDefinition | None, new: EntityDefinition) -> tuple[list, list, list]:
    old_fields = old.fields if old else {}
    added = sorted(set(new.fields) - set(old_fields))
    removed = sorted(set(old_fields) - set(new.fields))
    changed = sorted(
        k for k in set(new.fields) & set(old_fields) if new.fields[k].schema != old_fields[k].schema
    )
    return added, removed, changed


def check_compatibility(
    session: Session,
    actor: Actor,
    entity: Entity,
    new: EntityDefinition,
    validator: RecordValidator,
    migration: dict[str, Any],
) -> PublishReport:
    """Validate every live record as it would be after publishing; group what breaks."""
    old = published_of(session, entity).definition if entity.published_version else None
    added, removed, changed = _field_changes(old, new)
    issues: dict[tuple[str, str], Issue] = {}
    count = 0
    user = actor.expression_user()
    current = entity.published_version or 0

    @lru_cache
    def pending(from_version: int) -> list[dict[str, Any]]:
        # Records left behind by an earlier publish still owe that version's migration.
        return pending_migrations(session, entity.id, from_version, current)

    with _live_records(session, entity) as records:
        for record in records:
            count += 1
            try:
                data = upgrade_data(record.data, pending(record.entity_version) + [migration])
            except ExpressionError as exc:
                problems = [error("", f"conversion failed: {exc}", "conversion")]
            else:
                problems = _problems_after_publish(validator, data, user)
            for p in problems:
                top = "/" + p["path"].strip("/").split("/")[0] if p["path"] else ""
                issue = issues.setdefault(
                    (p["code"], top), Issue(p["code"], top, _issue_message(p, top))
                )
                issue.count += 1
                if len(issue.examples) < EXAMPLES:
                    issue.examples.append(record.id)
    return PublishReport(count, added, removed, changed, list(issues.values()))


def _problems_after_publish(validator: RecordValidator, data: dict, user: dict) -> list[dict]:
    """What would be wrong with a stored record under the new definition.

    Values the platform writes (formulas, auto-numbers) are not user input: they are
    left out of the input checks and recomputed, as the migration job will.
    """
    fields = validator.definition.fields
    stored = {k: v for k, v in data.items() if not (k in fields and fields[k].read_only)}
    problems = validator.input_errors(stored)
    return problems + validator.check(validator.writable_part(stored), user)


def _issue_message(problem: dict[str, str], top: str) -> str:
    key = top.lstrip("/")
    if problem["code"] == "unknown":
        return f"field '{key}' was removed but records hold values: rename it or drop it"
    if problem["code"] == "required":
        return f"'{key}' is now required but records have no value: give a default"
    if problem["code"] == "read_only":
        return f"'{key}' became computed: drop the stored values"
    return f"{problem['message']} (convert the values or give a default)"


def _check_references(session: Session, actor: Actor, definition: EntityDefinition) -> None:
    """Every ``x-ref`` must name an entity of this workspace."""
    problems = []
    for f in definition.all_fields():
        if f.ref:
            try:
                entity_by_ref(session, actor, f.ref)
            except NotFound:
                where = "/schema/properties/" + "/items/properties/".join(f.path.split("."))
                problems.append(error(f"{where}/x-ref", f"no entity '{f.ref}' in this workspace"))
    if problems:
        raise ValidationFailed("The definition references unknown entities.", errors=problems)


def publish_entity(
    session: Session,
    actor: Actor,
    app_key: str,
    entity_key: str,
    migration: Any = None,
    *,
    dry_run: bool = False,
) -> PublishResult:
    """Publish the entity's draft; refuse with the report if existing records would break."""
    actor.require_design()
    entity = get_entity(session, actor, app_key, entity_key)
    if entity.draft is None:
        raise ValidationFailed("There is no draft to publish.", errors=[error("/draft", "empty")])
    new, validator = compile_definition(entity.draft)
    _check_references(session, actor, new)
    old = published_of(session, entity).definition if entity.published_version else None
    migration = check_migration(migration, old, new)
    report = check_compatibility(session, actor, entity, new, validator, migration)
    if not report.compatible:
        raise IncompatibleChange(
            f"Publishing would break {sum(i.count for i in report.issues)} value(s) in existing "
            "records; supply a migration (defaults, renames, conversions, drop).",
            errors=[
                error(i.path, f"{i.message} ({i.count} records)", i.code) for i in report.issues
            ],
            report=report.to_dict(),
        )
    version = (entity.published_version or 0) + 1
    if dry_run:
        return PublishResult(version, report)
    session.add(
        EntityVersion(
            entity_id=entity.id,
            version=version,
            definition=entity.draft,
            migration=migration or None,
            published_at=utcnow(),
            published_by=actor.user_id,
        )
    )
    entity.published_version = version
    session.flush()
    sync_record_indexes(session, entity.id, new)
    job_id = None
    # Records are rewritten when a migration says so, or when a formula changed and the
    # stored computed values would otherwise be stale until each record's next edit.
    formulas_changed = any(new.fields[k].formula for k in report.added + report.changed)
    if (migration or formulas_changed) and report.records:
        job_row = enqueue(
            session,
            "platform.migrate_records",
            {"entity_id": entity.id, "version": version, "actor_id": actor.user_id},
            workspace_id=actor.workspace_id,
            created_by=actor.user_id,
            idempotency_key=f"migrate:{entity.id}:{version}",
        )
        job_id = job_row.id
    return PublishResult(version, report, job_id)


@job("platform.migrate_records")
def migrate_records(ctx: JobContext, entity_id: int, version: int, actor_id: int | None) -> dict:
    """Bring records of older versions to ``version`` with its migration, batch by batch."""
    session = ctx.session
    entity = session.get(Entity, entity_id)
    target = published_of(session, entity, version)
    stale = (
        Record.workspace_id == entity.workspace_id,
        Record.entity_id == entity_id,
        Record.deleted_at.is_(None),
        Record.entity_version < version,
    )
    total = session.scalar(select(func.count()).select_from(Record).where(*stale))
    done, by_version = 0, Counter()
    user = {"id": actor_id, "username": "", "roles": [], "has_role": lambda _r: False}

    @lru_cache
    def pending(from_version: int) -> list[dict[str, Any]]:
        return pending_migrations(session, entity_id, from_version, version)

    while True:
        batch = list(session.scalars(select(Record).where(*stale).order_by(Record.id).limit(BATCH)))
        if not batch:
            break
        changes = []
        for record in batch:
            data = upgrade_data(record.data, pending(record.entity_version))
            target.validator.compute(data, user)
            changes.append(
                Change(record.id, entity_id, "migrate", diff_data(record.data, data), actor_id,
                       f"published version {version}")
            )  # fmt: skip
            by_version[record.entity_version] += 1
            session.execute(
                update(Record)
                .where(Record.id == record.id)
                .values(data=data, entity_version=version, version=Record.version + 1)
            )
        append_history(session, entity.workspace_id, changes)
        done += len(batch)
        ctx.progress(done, total, f"{done} of {total} records migrated")
    return {"migrated": done, "from_versions": {str(k): v for k, v in by_version.items()}}


def version_history(session: Session, actor: Actor, app_key: str, entity_key: str) -> list:
    """Every published version of an entity: number, when, by whom (newest first)."""
    entity = get_entity(session, actor, app_key, entity_key)
    rows = session.execute(
        select(EntityVersion.version, EntityVersion.published_at, EntityVersion.published_by)
        .where(EntityVersion.entity_id == entity.id)
        .order_by(EntityVersion.version.desc())
    )
    return [dict(r._mapping) for r in rows]
