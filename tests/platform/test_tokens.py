"""API tokens: shown once, stored hashed, read-only, limited to apps, revocable."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from jizuo.platform.errors import NotFound, ValidationFailed
from jizuo.platform.models import ApiToken
from jizuo.platform.tokens import issue_token, revoke_token
from tests import factories

NCRS = "/api/v1/apps/qms/entities/ncr/records"
SUPPLIERS = "/api/v1/apps/erp/entities/supplier/records"


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    user, actor = factories.member(session, ws, "ann", ("member",))
    _, admin = factories.member(session, ws, "root", ("admin",))
    factories.published(session, admin, "erp", factories.SUPPLIER)
    factories.published(session, admin, "qms", factories.NCR)
    session.commit()
    return ws, user, actor


def _h(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_read_only_token_reads_but_cannot_write(plant, session, client):
    ws, user, _ = plant
    token = factories.token(session, ws, user, read_only=True)
    session.commit()
    assert client.get(SUPPLIERS, headers=_h(token)).status_code == 200
    refused = client.post(SUPPLIERS, json={"name": "Acme"}, headers=_h(token))
    assert refused.status_code == 403
    assert client.get(SUPPLIERS, headers=_h(token)).json["items"] == []
    access = client.get("/api/v1/apps/erp/entities/supplier/access", headers=_h(token)).json
    assert access["actions"] == ["export", "read"]


def test_revoked_token_is_refused(plant, session, client):
    ws, user, actor = plant
    token = factories.token(session, ws, user)
    session.commit()
    assert client.get(SUPPLIERS, headers=_h(token)).status_code == 200
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    revoke_token(session, actor, row.id)
    session.commit()
    refused = client.get(SUPPLIERS, headers=_h(token))
    assert refused.status_code == 401 and refused.json["detail"] == "The token is not valid."
    garbage = client.get(SUPPLIERS, headers=_h("jz_not-a-token"))
    assert garbage.status_code == 401 and garbage.json["detail"] == refused.json["detail"]


def test_only_the_hash_is_stored_and_last_use_is_recorded(plant, session, client):
    ws, user, _ = plant
    token = factories.token(session, ws, user)
    session.commit()
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(
        session.execute(select(ApiToken.__table__)).all()
    )  # no column holds the plain token
    assert row.last_used_at is None
    client.get(SUPPLIERS, headers=_h(token))
    session.rollback()  # a fresh snapshot: the request wrote in another transaction
    assert session.get(ApiToken, row.id).last_used_at is not None


def test_token_limited_to_an_app_cannot_touch_the_others(plant, session, client):
    ws, user, actor = plant
    from jizuo.platform.records import RecordStore

    supplier = RecordStore(session, actor).entity("erp", "supplier").create({"name": "Acme"})
    token = issue_token(session, user, ws, "mes connector", app_keys=["qms"])
    session.commit()
    h = _h(token)
    assert [a["key"] for a in client.get("/api/v1/apps", headers=h).json["items"]] == ["qms"]
    assert client.get(SUPPLIERS, headers=h).status_code == 404
    assert client.get(f"{SUPPLIERS}/{supplier.id}", headers=h).status_code == 404
    assert client.post(SUPPLIERS, json={"name": "X"}, headers=h).status_code == 404
    # Linking reads only the id: a qms-only connector may still name the supplier.
    body = {"supplier": supplier.id, "lot_no": "L1", "source": "iqc", "qty_rejected": 1}
    assert client.post(NCRS, json=body, headers=h).status_code == 201


def test_bad_token_requests_are_refused_and_create_nothing(plant, session):
    ws, user, _ = plant
    with pytest.raises(ValidationFailed) as unknown_app:
        issue_token(session, user, ws, "x", app_keys=["nope"])
    assert unknown_app.value.errors[0]["message"] == "no app 'nope'"
    with pytest.raises(ValidationFailed):
        issue_token(session, user, ws, "   ")
    other = factories.workspace(session, "other")
    with pytest.raises(NotFound):
        issue_token(session, user, other, "not a member there")
    assert session.scalars(select(ApiToken)).all() == []


def test_tokens_page_shows_a_new_token_once_and_revokes(plant, session, client):
    factories.login(client, "ann")
    created = factories.post_form(
        client,
        "/account/tokens",
        {"name": "ERP sync", "read_only": "on", "apps": "qms"},
        "/account/tokens",
    )
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r"(jz_[A-Za-z0-9_-]{20,})", created.get_data(as_text=True)).group(1)
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "ERP sync" in listing and token not in listing  # never shown again
    assert client.get(NCRS, headers=_h(token)).status_code == 200
    row = session.scalar(select(ApiToken).where(ApiToken.name == "ERP sync"))
    assert row.read_only and row.app_keys == ["qms"]
    revoked = factories.post_form(client, f"/account/tokens/{row.id}/revoke", {}, "/account/tokens")
    assert revoked.status_code == 302
    assert client.get(NCRS, headers=_h(token)).status_code == 401


def test_members_revoke_only_their_own_tokens_admins_any(plant, session, client, app):
    ws, user, _ = plant
    from jizuo.platform.models import User

    root = session.scalar(select(User).where(User.username == "root"))
    roots_token = factories.token(session, ws, root)
    anns_token = factories.token(session, ws, user)
    session.commit()
    roots_row = session.scalar(select(ApiToken).where(ApiToken.user_id == root.id))
    anns_row = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    factories.login(client, "ann")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "root" not in page
    refused = factories.post_form(
        client, f"/account/tokens/{roots_row.id}/revoke", {}, "/account/tokens"
    )
    assert refused.status_code == 404
    assert client.get(SUPPLIERS, headers=_h(roots_token)).status_code == 200
    admin = app.test_client()
    factories.login(admin, "root")
    assert "ann" in admin.get("/admin/tokens").get_data(as_text=True)
    factories.post_form(admin, f"/admin/tokens/{anns_row.id}/revoke", {}, "/admin/tokens")
    assert client.get(SUPPLIERS, headers=_h(anns_token)).status_code == 401


def test_issuing_and_revoking_tokens_is_logged(plant, session, client):
    from jizuo.platform.models import AdminEvent

    factories.login(client, "ann")
    factories.post_form(client, "/account/tokens", {"name": "MES line 3"}, "/account/tokens")
    row = session.scalar(select(ApiToken).where(ApiToken.name == "MES line 3"))
    factories.post_form(client, f"/account/tokens/{row.id}/revoke", {}, "/account/tokens")
    session.rollback()
    events = session.scalars(select(AdminEvent).order_by(AdminEvent.id)).all()
    assert [(e.action, e.detail.get("name")) for e in events[-2:]] == [
        ("token.issue", "MES line 3"),
        ("token.revoke", "MES line 3"),
    ]
    assert {e.actor_id for e in events[-2:]} == {row.user_id}
