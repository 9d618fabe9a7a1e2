"""Transaction-safe counters: auto-number sequences and the head of each audit chain.

A counter row is bumped with ``UPDATE … RETURNING``, which locks it until the
transaction ends: concurrent writers queue behind each other, and a rolled-back
transaction gives its numbers back, so sequences have no gaps and no duplicates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from jizuo.platform.models import AuditChain, Sequence

GENESIS_HASH = "0" * 64


def _insert(session: Session):  # noqa: ANN202 - dialect-specific Insert
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _bump(session: Session, bump: Any, create: Any) -> Any:
    """Run ``bump`` (UPDATE … RETURNING); on a missing row, create it and bump again."""
    row = session.execute(bump).first()
    if row is None:
        # First use: concurrent first users both try the insert; one wins, both bump.
        session.execute(create)
        row = session.execute(bump).one()
    return row


def reserve_sequence(session: Session, workspace_id: int, key: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of a sequence; return the first."""
    bump = (
        update(Sequence)
        .where(Sequence.workspace_id == workspace_id, Sequence.key == key)
        .values(value=Sequence.value + count)
        .returning(Sequence.value)
    )
    create = (
        _insert(session)(Sequence)
        .values(workspace_id=workspace_id, key=key, value=0)
        .on_conflict_do_nothing(index_elements=["workspace_id", "key"])
    )
    (last,) = _bump(session, bump, create)
    return last - count + 1


def lock_audit_chain(session: Session, workspace_id: int, count: int) -> tuple[int, str]:
    """Reserve ``count`` audit sequence numbers; return (first seq, hash of the entry before it).

    The chain row stays locked until commit, so entries of one workspace are
    appended one transaction at a time and the chain never forks.
    """
    bump = (
        update(AuditChain)
        .where(AuditChain.workspace_id == workspace_id)
        .values(seq=AuditChain.seq + count)
        .returning(AuditChain.seq, AuditChain.head_hash)
    )
    create = (
        _insert(session)(AuditChain)
        .values(workspace_id=workspace_id, seq=0, head_hash=GENESIS_HASH)
        .on_conflict_do_nothing(index_elements=["workspace_id"])
    )
    last, head = _bump(session, bump, create)
    return last - count + 1, head


def set_audit_head(session: Session, workspace_id: int, head_hash: str) -> None:
    """Record the hash of the newest entry of a workspace's chain."""
    session.execute(
        update(AuditChain)
        .where(AuditChain.workspace_id == workspace_id)
        .values(head_hash=head_hash)
    )


def sequence_prefix(pattern: str, when: datetime) -> tuple[str, str, int]:
    """Split an auto-number pattern for a moment: (text before, text after, zero-pad width).

    The period tokens are filled in, so ``NCR-{YYYY}-{seq:05}`` numbers restart each year.
    """
    filled = (
        pattern.replace("{YYYY}", f"{when:%Y}")
        .replace("{YY}", f"{when:%y}")
        .replace("{MM}", f"{when:%m}")
        .replace("{DD}", f"{when:%d}")
    )
    start = filled.index("{seq")
    end = filled.index("}", start)
    token = filled[start + 1 : end]
    width = int(token.split(":")[1]) if ":" in token else 0
    return filled[:start], filled[end + 1 :], width


def format_sequence(pattern: str, when: datetime, value: int) -> str:
    """The auto-number for ``value`` under ``pattern`` at ``when``."""
    before, after, width = sequence_prefix(pattern, when)
    return f"{before}{value:0{width}d}{after}" if width else f"{before}{value}{after}"
