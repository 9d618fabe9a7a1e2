"""The audit trail: append-only record history, hash-chained per workspace.

Each entry's hash covers its content and the previous entry's hash, so editing or
deleting any row breaks the chain from that point on; ``verify_chain`` finds where.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jizuo.platform.counters import GENESIS_HASH, lock_audit_chain, set_audit_head
from jizuo.platform.models import AuditChain, RecordHistory, Workspace


@dataclass(frozen=True)
class Change:
    """One change to append: which record, what was done, by whom, what changed and why."""

    record_id: int
    entity_id: int
    action: str  # create, update, delete, migrate, transition, ...
    diff: dict[str, Any]
    actor_id: int | None
    reason: str | None = None


def diff_data(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Top-level fields that changed, as ``{field: [old, new]}`` (None where absent)."""
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def creation_diff(data: dict[str, Any]) -> dict[str, list[Any]]:
    """The diff of a new record: every field from None to its value."""
    return {k: [None, data[k]] for k in sorted(data)}


def _canonical_time(at: datetime) -> str:
    # SQLite hands timestamps back without a zone; both databases store UTC.
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


HASHED_FIELDS = ("workspace_id", "seq", "record_id", "entity_id", "action", "actor_id", "reason")


def entry_hash(entry: dict[str, Any], prev_hash: str) -> str:
    """The chain hash of an entry (its column values) given the hash of the one before it."""
    payload = {name: entry[name] for name in HASHED_FIELDS}
    payload.update(at=_canonical_time(entry["at"]), diff=entry["diff"], prev=prev_hash)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def append_history(session: Session, workspace_id: int, changes: list[Change]) -> list[int]:
    """Append changes to the workspace's chain (call last in the transaction: it locks the head);
    return the entries' sequence numbers, which name the changes as events."""
    if not changes:
        return []
    seq, prev = lock_audit_chain(session, workspace_id, len(changes))
    at = datetime.now(UTC)
    rows = []
    for offset, change in enumerate(changes):
        row = {
            "workspace_id": workspace_id,
            "seq": seq + offset,
            "record_id": change.record_id,
            "entity_id": change.entity_id,
            "action": change.action,
            "actor_id": change.actor_id,
            "at": at,
            "reason": change.reason,
            "diff": change.diff,
            "prev_hash": prev,
        }
        row["hash"] = prev = entry_hash(row, row["prev_hash"])
        rows.append(row)
    # Core executemany: a bulk import appends 100 000 entries in one statement batch.
    session.connection().execute(RecordHistory.__table__.insert(), rows)
    set_audit_head(session, workspace_id, prev)
    return [row["seq"] for row in rows]


@dataclass(frozen=True)
class ChainBreak:
    """The first entry of a workspace's chain that does not verify."""

    workspace_id: int
    seq: int
    history_id: int
    reason: str


def verify_chain(session: Session, workspace_id: int | None = None) -> list[ChainBreak]:
    """Walk each workspace's chain in order; return the first break of each broken chain."""
    if workspace_id is None:
        workspace_ids = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
    else:
        workspace_ids = [workspace_id]
    breaks = []
    for ws in workspace_ids:
        found = _first_break(session, ws)
        if found:
            breaks.append(found)
    return breaks


def _first_break(session: Session, workspace_id: int) -> ChainBreak | None:
    query = (
        select(RecordHistory)
        .where(RecordHistory.workspace_id == workspace_id)
        .order_by(RecordHistory.seq)
        .execution_options(yield_per=1000)
    )
    prev, expected_seq = GENESIS_HASH, 1
    # The context manager closes the server-side cursor when we stop at a break.
    with session.scalars(query) as entries:
        for entry in entries:
            if entry.seq != expected_seq:
                why = f"entry {expected_seq} is missing (next is {entry.seq})"
                return ChainBreak(workspace_id, expected_seq, entry.id, why)
            if entry.prev_hash != prev:
                why = "does not link to the entry before"
                return ChainBreak(workspace_id, entry.seq, entry.id, why)
            columns = {name: getattr(entry, name) for name in (*HASHED_FIELDS, "at", "diff")}
            if entry_hash(columns, prev) != entry.hash:
                why = "content does not match its hash"
                return ChainBreak(workspace_id, entry.seq, entry.id, why)
            prev, expected_seq = entry.hash, expected_seq + 1
    head = session.get(AuditChain, workspace_id)
    if head is not None and (head.seq != expected_seq - 1 or head.head_hash != prev):
        why = f"the chain ends at entry {expected_seq - 1} but its head says {head.seq}"
        return ChainBreak(workspace_id, expected_seq, 0, why)
    return None
