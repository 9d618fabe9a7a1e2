"""Record events: what happened to a record, told to listeners inside the same transaction.

The record store (and workflow transitions) emit an event for every change they write.
Listeners run before the transaction commits, so what they do — typically enqueue a job
for an automation — is committed together with the change or not at all (a transactional
outbox: no change without its follow-up, no follow-up without its change).

An event is named by its audit entry: ``(workspace_id, seq)`` is unique, so idempotency
keys derived from it survive retries and duplicate deliveries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

CREATED, UPDATED, DELETED, TRANSITIONED = "created", "updated", "deleted", "transitioned"


@dataclass(frozen=True)
class RecordEvent:
    """One change to one record."""

    kind: str  # created, updated, deleted, transitioned
    workspace_id: int
    entity_id: int
    record_id: int
    seq: int  # the change's audit entry in the workspace's chain
    actor_id: int | None
    changed: tuple[str, ...] = ()  # top-level fields whose values changed
    from_state: str | None = None
    to_state: str | None = None
    depth: int = 0  # how many automations in a row led to this change

    @property
    def key(self) -> str:
        """A name of the event unique across the installation."""
        return f"{self.workspace_id}:{self.seq}"


Listener = Callable[[Session, list[RecordEvent]], None]
_LISTENERS: list[Listener] = []


def on_record_events(listener: Listener) -> Listener:
    """Register a listener (decorator); it gets every batch of events of a transaction step."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


def emit(session: Session, events: list[RecordEvent]) -> None:
    """Tell every listener, in registration order, inside the caller's transaction."""
    if not events:
        return
    for listener in list(_LISTENERS):
        listener(session, events)
