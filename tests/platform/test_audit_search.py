"""Searching the audit trail: filters, keyset pages, names, and one workspace only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from jizuo.platform.actor import Actor
from jizuo.platform.audit_search import entity_choices, recent_admin_events, search_history
from jizuo.platform.errors import NotFound, PermissionDenied, ValidationFailed
from jizuo.platform.permissions import define_role
from jizuo.platform.records import RecordStore
from tests import factories

PART = {
    "key": "part",
    "title": {"en": "Part", "zh": "零件"},
    "schema": {"type": "object", "properties": {"code": {"type": "string"}}},
}


@pytest.fixture
def trail(session):
    """acme: alice (admin) made 3 suppliers and a part, bob (member) renamed one supplier;
    other: olga made a supplier of her own."""
    ws = factories.workspace(session)
    alice, admin = factories.member(session, ws, "alice", ("admin",))
    bob, member = factories.member(session, ws, "bob", ("member",))
    factories.published(session, admin, "erp", factories.SUPPLIER)
    factories.published(session, admin, "erp", PART)
    suppliers = RecordStore(session, admin).entity("erp", "supplier")
    ids = [suppliers.create({"name": f"S{i}"}).id for i in range(3)]
    RecordStore(session, admin).entity("erp", "part").create({"code": "P1"})
    session.commit()
    RecordStore(session, member).entity("erp", "supplier").update(
        ids[0], {"name": "S0 Ltd"}, 1, reason="renamed"
    )
    session.commit()
    other = factories.workspace(session, "other")
    olga, other_admin = factories.member(session, other, "olga", ("admin",))
    factories.published(session, other_admin, "erp", factories.SUPPLIER)
    RecordStore(session, other_admin).entity("erp", "supplier").create({"name": "Foreign"})
    session.commit()
    return {"admin": admin, "member": member, "bob": bob, "olga": olga, "ids": ids, "other": other}


def test_newest_first_with_names_resolved(session, trail):
    page = search_history(session, trail["admin"])
    assert [e.seq for e in page.entries] == [5, 4, 3, 2, 1]
    newest = page.entries[0]
    assert (newest.action, newest.username, newest.entity_ref) == ("update", "bob", "erp.supplier")
    assert newest.reason == "renamed" and newest.diff == {"name": ["S0", "S0 Ltd"]}
    assert newest.record_id == trail["ids"][0]
    assert page.entries[1].entity_ref == "erp.part"
    assert {e.username for e in page.entries[1:]} == {"alice"}
    assert page.older is None


def test_filters_by_user_entity_and_day(session, trail):
    admin = trail["admin"]
    by_bob = search_history(session, admin, user_id=trail["bob"].id)
    assert [e.action for e in by_bob.entries] == ["update"]
    parts = search_history(session, admin, entity_ref="erp.part")
    assert [e.entity_ref for e in parts.entries] == ["erp.part"]
    both = search_history(session, admin, user_id=trail["bob"].id, entity_ref="erp.part")
    assert both.entries == []
    today = datetime.now(UTC).date()
    day = timedelta(days=1)
    assert len(search_history(session, admin, date_from=today, date_to=today).entries) == 5
    assert search_history(session, admin, date_to=today - day).entries == []
    assert search_history(session, admin, date_from=today + day).entries == []


def test_keyset_pages_cover_everything_once(session, trail):
    seen, before, pages = [], None, 0
    while True:
        page = search_history(session, trail["admin"], limit=2, before_seq=before)
        seen += [e.seq for e in page.entries]
        pages += 1
        if page.older is None:
            break
        assert page.older == page.entries[-1].seq
        before = page.older
    assert seen == [5, 4, 3, 2, 1] and pages == 3
    # a full last page says there is nothing older
    assert search_history(session, trail["admin"], limit=5).older is None


def test_another_workspace_is_invisible(session, trail):
    admin = trail["admin"]
    everything = search_history(session, admin, limit=500).entries
    assert all(e.username != "olga" for e in everything) and len(everything) == 5
    assert search_history(session, admin, user_id=trail["olga"].id).entries == []
    olga = Actor(trail["other"].id, trail["olga"].id, "olga", frozenset({"admin"}))
    other = search_history(session, olga)
    assert [e.diff for e in other.entries] == [{"name": [None, "Foreign"]}]
    assert entity_choices(session, admin) == ["erp.part", "erp.supplier"]


def test_bad_filters_and_non_admins_are_refused(session, trail):
    with pytest.raises(NotFound):
        search_history(session, trail["admin"], entity_ref="erp.nothing")
    with pytest.raises(ValidationFailed):
        search_history(session, trail["admin"], entity_ref="supplier")
    for limit in (0, 501, "10"):
        with pytest.raises(ValidationFailed):
            search_history(session, trail["admin"], limit=limit)
    for call in (search_history, entity_choices, recent_admin_events):
        with pytest.raises(PermissionDenied):
            call(session, trail["member"])


def test_names_are_looked_up_per_page_not_per_entry(session, trail):
    suppliers = RecordStore(session, trail["admin"]).entity("erp", "supplier")
    suppliers.create_many([{"name": f"Bulk {i}"} for i in range(40)])
    session.commit()
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = search_history(session, trail["admin"], limit=45)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(page.entries) == 45 and {e.username for e in page.entries} == {"alice", "bob"}
    assert len(statements) == 3  # entries, entity refs, usernames


def test_recent_admin_events_name_who(session, trail):
    define_role(session, trail["admin"], "inspector", "Inspector")
    session.commit()
    (event_,) = recent_admin_events(session, trail["admin"])
    assert (event_.username, event_.action, event_.target) == (
        "alice",
        "role.define",
        "role:inspector",
    )
