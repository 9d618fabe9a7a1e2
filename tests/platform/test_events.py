"""Record events: emitted inside the writer's transaction, named by their audit entry."""

from __future__ import annotations

import pytest

from jizuo.platform import events
from jizuo.platform.records import RecordStore
from tests import factories


@pytest.fixture
def heard(monkeypatch):  # noqa: ANN001, ANN201
    got: list[events.RecordEvent] = []
    monkeypatch.setattr(events, "_LISTENERS", [lambda _session, batch: got.extend(batch)])
    return got


def test_every_write_emits_an_event_named_by_its_audit_entry(session, heard):
    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    suppliers = RecordStore(session, actor).entity("erp", "supplier")
    first = suppliers.create({"name": "Acme", "rating": 80})
    suppliers.create_many([{"name": "Bolt"}, {"name": "Cogs"}])
    suppliers.update(first.id, {"rating": 90}, 1)
    suppliers.update(first.id, {"rating": 90}, 2)  # no change: no event
    suppliers.delete(first.id)
    kinds = [(e.kind, e.record_id, e.changed) for e in heard]
    assert kinds[0] == ("created", first.id, ("name", "rating"))
    assert [k for k, _, _ in kinds] == ["created", "created", "created", "updated", "deleted"]
    assert kinds[3] == ("updated", first.id, ("rating",))
    assert len({e.key for e in heard}) == 5 and all(e.actor_id == actor.user_id for e in heard)
    seqs = [e.seq for e in heard]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


def test_a_listener_that_fails_undoes_the_change(session, monkeypatch):
    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)

    def refuse(_session, _batch):  # noqa: ANN001, ANN202
        raise RuntimeError("follow-up could not be recorded")

    monkeypatch.setattr(events, "_LISTENERS", [refuse])
    with pytest.raises(RuntimeError):
        RecordStore(session, actor).entity("erp", "supplier").create({"name": "Acme"})
    session.rollback()
    monkeypatch.setattr(events, "_LISTENERS", [])
    listing = RecordStore(session, actor).entity("erp", "supplier").list()
    assert listing.items == []
