"""JSON shapes of the API's resources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from jizuo.platform.models import App, Entity, Job, Record, RecordHistory


def iso_time(value: Any) -> str | None:
    if value is None:
        return None
    # SQLite hands timestamps back without their zone; everything is stored in UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def app_json(app: App) -> dict[str, Any]:
    return {
        "key": app.key,
        "title": app.title,
        "pack": {"key": app.pack_key, "version": app.pack_version} if app.pack_key else None,
        "created_at": iso_time(app.created_at),
    }


def entity_json(entity: Entity, app_key: str, definition: dict | None) -> dict[str, Any]:
    return {
        "key": entity.key,
        "app": app_key,
        "published_version": entity.published_version,
        "definition": definition,
        "draft": entity.draft,
        "draft_updated_at": iso_time(entity.draft_updated_at),
    }


#: Drops the fields hidden from the viewer (``EntityRecords.visible``).
Visible = Callable[[dict[str, Any]], dict[str, Any]]


def record_json(record: Record, ref: str, visible: Visible) -> dict[str, Any]:
    return {
        "id": record.id,
        "entity": ref,
        "version": record.version,
        "entity_version": record.entity_version,
        "state": record.state,
        "data": visible(record.data),
        "created_at": iso_time(record.created_at),
        "created_by": record.created_by,
        "updated_at": iso_time(record.updated_at),
        "updated_by": record.updated_by,
    }


def history_json(entry: RecordHistory, visible: Visible) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "action": entry.action,
        "actor_id": entry.actor_id,
        "at": iso_time(entry.at),
        "reason": entry.reason,
        "diff": visible(entry.diff),
        "hash": entry.hash,
    }


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at),
        "finished_at": iso_time(job.finished_at),
    }
