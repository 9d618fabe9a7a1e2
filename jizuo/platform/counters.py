"""Transaction-safe counters: auto-number sequences and the head of each audit chain.

A counter row is bumped with ``UPDATE … RETURNING``, which locks it until the
transaction ends: concurrent writers queue behind each other, and a rolled-back
transaction gives its numbers back, so sequences have no gaps and no duplicates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from jizuo.platform.models import AuditChain, Sequence

GENESIS_HASH = "0" * 64


# Built once: these run on every record write, and they go through Core, not the ORM
# (an ORM UPDATE would also search the session for objects to synchronise).
_SEQUENCES = Sequence.__table__
_CHAINS = AuditChain.__table__
_BUMP_SEQUENCE = (
    update(_SEQUENCES)
    .where(_SEQUENCES.c.workspace_id == bindparam("ws"), _SEQUENCES.c.key == bindparam("seq_key"))
    .values(value=_SEQUENCES.c.value + bindparam("n"))
    .returning(_SEQUENCES.c.value)
)
_BUMP_CHAIN = (
    update(_CHAINS)
    .where(_CHAINS.c.workspace_id == bindparam("ws"))
    .values(seq=_CHAINS.c.seq + bindparam("n"))
    .returning(_CHAINS.c.seq, _CHAINS.c.head_hash)
)
_SET_HEAD = (
    update(_CHAINS)
    .where(_CHAINS.c.workspace_id == bindparam("ws"))
    .values(head_hash=bindparam("head"))
)
_INSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def _bump(session: Session, bump: Any, params: dict[str, Any], table: Any, row: dict) -> Any:
    """Run ``bump`` (UPDATE … RETURNING); on a missing row, create it and bump again."""
    connection = session.connection()
    found = connection.execute(bump, params).first()
    if found is None:
        # First use: concurrent first users both try the insert; one wins, both bump.
        insert = _INSERTS[connection.dialect.name](table).values(**row)
        connection.execute(insert.on_conflict_do_nothing())
        found = connection.execute(bump, params).one()
    return found


def reserve_sequence(session: Session, workspace_id: int, key: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of a sequence; return the first."""
    params = {"ws": workspace_id, "seq_key": key, "n": count}
    row = {"workspace_id": workspace_id, "key": key, "value": 0}
    (last,) = _bump(session, _BUMP_SEQUENCE, params, _SEQUENCES, row)
    return last - count + 1


def lock_audit_chain(session: Session, workspace_id: int, count: int) -> tuple[int, str]:
    """Reserve ``count`` audit sequence numbers; return (first seq, hash of the entry before it).

    The chain row stays locked until commit, so entries of one workspace are
    appended one transaction at a time and the chain never forks.
    """
    row = {"workspace_id": workspace_id, "seq": 0, "head_hash": GENESIS_HASH}
    last, head = _bump(session, _BUMP_CHAIN, {"ws": workspace_id, "n": count}, _CHAINS, row)
    return last - count + 1, head


def set_audit_head(session: Session, workspace_id: int, head_hash: str) -> None:
    """Record the hash of the newest entry of a workspace's chain."""
    session.connection().execute(_SET_HEAD, {"ws": workspace_id, "head": head_hash})


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


def reserve_numbers(
    session: Session,
    workspace_id: int,
    entity_id: int,
    field_key: str,
    pattern: str,
    when: datetime,
    count: int,
) -> list[str]:
    """The next ``count`` auto-numbers of an entity's field, from its sequence for the period."""
    before, after, width = sequence_prefix(pattern, when)
    key = f"e{entity_id}.{field_key}:{before}|{after}"
    first = reserve_sequence(session, workspace_id, key, count)
    return [f"{before}{n:0{width}d}{after}" for n in range(first, first + count)]
