"""A user of workspace A tries to reach workspace B's records every way the API offers:
by id, by filter, by reference, through history, attachments and the browser session.
Every attempt fails like a request for something missing, and B's data stays unchanged."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from jizuo.platform.attachments import store_attachment
from jizuo.platform.auth import member_actor
from jizuo.platform.models import Record, RecordLink, User, Workspace
from jizuo.platform.records import RecordStore
from tests import factories

SUPPLIERS = "/api/v1/apps/erp/entities/supplier/records"
NCRS = "/api/v1/apps/qms/entities/ncr/records"


@pytest.fixture
def two_workspaces(session):  # noqa: ANN001, ANN201
    """Workspaces A and B with the same apps; B has a supplier and an NCR on it."""
    a, b = factories.workspace(session, "a"), factories.workspace(session, "b")
    user_a, actor_a = factories.member(session, a, "alice", ("admin",))
    _, actor_b = factories.member(session, b, "bob", ("admin",))
    for actor in (actor_a, actor_b):
        factories.published(session, actor, "erp", factories.SUPPLIER)
        factories.published(session, actor, "qms", factories.NCR)
    store_b = RecordStore(session, actor_b)
    supplier_b = store_b.entity("erp", "supplier").create({"name": "B's secret supplier"})
    ncr_b = store_b.entity("qms", "ncr").create(
        {"supplier": supplier_b.id, "lot_no": "B-LOT", "source": "iqc", "qty_rejected": 3}
    )
    token_a = factories.token(session, a, user_a)
    session.commit()
    return {"token": token_a, "supplier": supplier_b.id, "ncr": ncr_b.id}


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def _snapshot(session) -> list[tuple]:  # noqa: ANN001
    session.rollback()  # a fresh snapshot, so writes by requests would show
    rows = session.execute(select(Record.id, Record.version, Record.data, Record.deleted_at))
    return sorted(tuple(r) for r in rows)


def test_by_id_every_verb_is_answered_like_a_missing_record(two_workspaces, client, session):
    before = _snapshot(session)
    h = _headers(two_workspaces["token"])
    missing = client.get(f"{SUPPLIERS}/999999", headers=h)
    assert missing.status_code == 404
    bid = two_workspaces["supplier"]
    for response in (
        client.get(f"{SUPPLIERS}/{bid}", headers=h),
        client.patch(f"{SUPPLIERS}/{bid}", json={"name": "x"}, headers={**h, "If-Match": '"1"'}),
        client.delete(f"{SUPPLIERS}/{bid}", headers=h),
        client.get(f"{SUPPLIERS}/{bid}/history", headers=h),
        client.get(f"{NCRS}/{two_workspaces['ncr']}", headers=h),
    ):
        assert response.status_code == 404
        assert response.json["title"] == missing.json["title"]
        assert "secret" not in response.get_data(as_text=True)
    assert _snapshot(session) == before


def test_by_filter_nothing_of_b_is_listed(two_workspaces, client):
    h = _headers(two_workspaces["token"])
    for query in (
        f"?id={two_workspaces['supplier']}",
        "?name=B's secret supplier",
        "?name__contains=secret",
        f"?id__in={two_workspaces['supplier']},{two_workspaces['ncr']}",
    ):
        listing = client.get(SUPPLIERS + query, headers=h)
        assert listing.status_code == 200 and listing.json["items"] == [], query
    by_reference = client.get(f"{NCRS}?supplier={two_workspaces['supplier']}", headers=h)
    assert by_reference.json["items"] == []


def test_by_reference_a_record_of_b_cannot_be_linked(two_workspaces, client, session):
    h = _headers(two_workspaces["token"])
    body = {
        "supplier": two_workspaces["supplier"],
        "lot_no": "A-1",
        "source": "iqc",
        "qty_rejected": 1,
    }
    created = client.post(NCRS, json=body, headers=h)
    assert created.status_code == 422
    assert created.json["errors"][0]["path"] == "/supplier"
    assert "no record of 'erp.supplier'" in created.json["errors"][0]["message"]
    links = session.scalars(
        select(RecordLink).where(RecordLink.target_id == two_workspaces["supplier"])
    ).all()
    assert [link.source_id for link in links] == [two_workspaces["ncr"]]  # only B's own link


def test_b_cannot_be_reached_through_the_browser_session_either(two_workspaces, client, session):
    factories.login(client, "alice")
    bid = two_workspaces["supplier"]
    assert client.get(f"{SUPPLIERS}/{bid}").status_code == 404
    assert client.get(f"{SUPPLIERS}?name__contains=secret").json["items"] == []
    b = session.scalar(select(Workspace).where(Workspace.key == "b"))
    assert factories.post_form(client, "/workspace", {"workspace_id": b.id}).status_code == 404
    assert "secret" not in client.get("/").get_data(as_text=True)


def test_attachments_of_b_are_not_found(app, two_workspaces, client, session):
    b = session.scalar(select(Workspace).where(Workspace.key == "b"))
    bob = session.scalar(select(User).where(User.username == "bob"))
    actor_b = member_actor(session, bob.id, b.id)
    storage = app.config["STORAGE_DIR"]
    attachment = store_attachment(
        session, actor_b, storage, "b.txt", "text/plain", io.BytesIO(b"B only"), 1000
    )
    session.commit()
    h = _headers(two_workspaces["token"])
    assert client.get(f"/api/v1/attachments/{attachment.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/attachments/{attachment.id}/content", headers=h).status_code == 404
