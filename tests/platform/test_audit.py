"""The audit chain verifies, and a hand-edited or deleted row is found."""

from __future__ import annotations

from sqlalchemy import select, text, update

from jizuo.cli import main
from jizuo.platform.audit import verify_chain
from jizuo.platform.models import AuditChain, RecordHistory
from jizuo.platform.records import RecordStore
from tests import factories


def _workspace_with_history(session, key="acme"):
    ws = factories.workspace(session, key)
    _, actor = factories.member(session, ws, f"{key}-admin")
    factories.published(session, actor, "erp", factories.SUPPLIER)
    suppliers = RecordStore(session, actor).entity("erp", "supplier")
    first = suppliers.create({"name": f"{key} one", "rating": 50})
    suppliers.create({"name": f"{key} two"})
    suppliers.update(first.id, {"rating": 70}, 1)
    session.commit()
    return ws


def test_chains_are_per_workspace_and_verify(session):
    a = _workspace_with_history(session, "acme")
    b = _workspace_with_history(session, "beta")
    assert verify_chain(session) == []
    seqs = session.execute(
        select(RecordHistory.workspace_id, RecordHistory.seq).order_by(RecordHistory.id)
    ).all()
    assert [s for w, s in seqs if w == a.id] == [1, 2, 3]
    assert [s for w, s in seqs if w == b.id] == [1, 2, 3]


def test_hand_edited_row_is_detected_by_the_cli(app, session):
    ws = _workspace_with_history(session)
    runner = app.test_cli_runner()
    ok = runner.invoke(main, ["audit", "verify"], obj={"app": app})
    assert ok.exit_code == 0 and "intact" in ok.output
    # Someone with database access rewrites what an update changed.
    entry = session.scalars(select(RecordHistory).where(RecordHistory.seq == 3)).one()
    tampered = {"rating": [50, 99]}
    session.execute(update(RecordHistory).where(RecordHistory.id == entry.id).values(diff=tampered))
    session.commit()
    bad = runner.invoke(main, ["audit", "verify"], obj={"app": app})
    assert bad.exit_code == 1
    assert f"workspace {ws.id}, entry 3" in bad.output and "hash" in bad.output


def test_deleted_rows_are_detected(session):
    ws = _workspace_with_history(session)
    session.execute(text("DELETE FROM record_history WHERE seq = 2"))
    session.commit()
    [found] = verify_chain(session, ws.id)
    assert found.seq == 2 and "missing" in found.reason


def test_truncated_tail_is_detected(session):
    ws = _workspace_with_history(session)
    session.execute(text("DELETE FROM record_history WHERE seq = 3"))
    session.commit()
    [found] = verify_chain(session, ws.id)
    assert "ends at entry 2" in found.reason


def test_recomputed_hash_still_breaks_the_link(session):
    from jizuo.platform.audit import HASHED_FIELDS, entry_hash

    ws = _workspace_with_history(session)
    entry = session.scalars(select(RecordHistory).where(RecordHistory.seq == 2)).one()
    columns = {n: getattr(entry, n) for n in (*HASHED_FIELDS, "at")}
    columns["diff"] = {"name": [None, "forged"]}
    forged = entry_hash(columns, entry.prev_hash)
    session.execute(
        update(RecordHistory)
        .where(RecordHistory.id == entry.id)
        .values(diff=columns["diff"], hash=forged)
    )
    session.commit()
    [found] = verify_chain(session, ws.id)
    assert found.seq == 3 and "link" in found.reason
    assert session.get(AuditChain, ws.id).seq == 3
