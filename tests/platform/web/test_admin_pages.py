"""The administration pages, driven as a browser does: signed in, with forms and CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from jizuo.platform.auth import member_actor
from jizuo.platform.models import App, Membership, Role, User
from jizuo.platform.permissions import define_role
from jizuo.platform.records import RecordStore
from tests import factories

SUPPLIERS = "/api/v1/apps/erp/entities/supplier/records"
SECRET = re.compile(r'id="temporary-password">([^<]+)<')


@pytest.fixture
def site(session):
    """acme with alice (admin) and bob (member), erp.supplier published; nobody signed in."""
    ws = factories.workspace(session)
    alice, admin = factories.member(session, ws, "alice", ("admin",))
    bob, member = factories.member(session, ws, "bob", ("member",))
    factories.published(session, admin, "erp", factories.SUPPLIER)
    token = factories.token(session, ws, bob)
    session.commit()
    return {"ws": ws, "alice": alice, "admin": admin, "bob": bob, "member": member, "token": token}


def _reread(session):
    session.expire_all()
    session.rollback()  # no open read: SQLite would otherwise keep the app from writing


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_created_account_must_choose_a_password_then_works(app, client, session, site):
    factories.login(client, "alice")
    form = {"username": "carol", "display_name": "Carol", "email": "", "roles": "member"}
    created = factories.post_form(client, "/admin/users", form, "/admin/users")
    assert created.status_code == 201, _text(created)
    assert created.headers["Cache-Control"] == "no-store"
    password = SECRET.search(_text(created)).group(1)
    assert password not in _text(client.get("/admin/users"))  # shown once only

    carol = app.test_client()
    signed_in = factories.login(carol, "carol", password)
    assert signed_in.status_code == 302 and signed_in.location.endswith("/account/password")
    assert carol.get("/").location.endswith("/account/password")
    new = "a brand new passphrase"
    changed = factories.post_form(
        carol,
        "/account/password",
        {"current": password, "password": new, "confirm": new},
        "/account/password",
    )
    assert changed.status_code == 302
    assert carol.get("/").status_code == 200
    _reread(session)
    user = session.scalar(select(User).where(User.username == "carol"))
    assert not user.must_change_password
    assert member_actor(session, user.id, site["ws"].id).roles == {"member"}


def test_create_account_errors_keep_the_input(client, session, site):
    factories.login(client, "alice")
    form = {"username": "bob", "display_name": "Bobby", "roles": "member", "attributes": "{"}
    refused = factories.post_form(client, "/admin/users", form, "/admin/users")
    assert refused.status_code == 422 and "not valid JSON" in _text(refused)
    assert 'value="Bobby"' in _text(refused)
    form["attributes"] = '{"suppliers": [1]}'
    taken = factories.post_form(client, "/admin/users", form, "/admin/users")
    assert taken.status_code == 409 and "taken" in _text(taken)
    assert "temporary-password" not in _text(taken)


def _admin_urls(app, site) -> list[tuple[str, str]]:
    values = {
        "user_id": site["alice"].id,
        "app_key": "erp",
        "entity_key": "supplier",
        "role": "member",
        "token_id": 1,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
        urls += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_members_are_refused_every_admin_page(app, client, session, site):
    urls = _admin_urls(app, site)
    assert len(urls) >= 18 and ("POST", "/admin/permissions/erp/supplier/member") in urls
    factories.login(client, "bob")
    token = factories.csrf_token(client, "/account/password")
    for method, path in urls:
        data = {"csrf_token": token, "roles": "member", "active": "0", "actions": "read"}
        response = client.open(path, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, path)
    _reread(session)
    assert member_actor(session, site["alice"].id, site["ws"].id).roles == {"admin"}
    assert session.scalar(select(App.permissions)) is None


def test_a_post_without_the_csrf_token_is_refused(client, session, site):
    factories.login(client, "alice")
    form = {"username": "mallory", "roles": "admin"}
    assert client.post("/admin/users", data=form).status_code == 400
    grant = {"actions": "read"}
    assert client.post("/admin/permissions/erp/supplier/member", data=grant).status_code == 400
    _reread(session)
    assert session.scalar(select(User).where(User.username == "mallory")) is None
    assert session.scalar(select(App.permissions)) is None


def test_a_saved_grant_takes_effect_in_the_api_and_reset_undoes_it(client, session, site):
    bearer = {"Authorization": f"Bearer {site['token']}"}
    factories.login(client, "alice")
    matrix = _text(client.get("/admin/permissions/erp"))
    assert "/admin/permissions/erp/supplier/member" in matrix and "default" in matrix
    edit = _text(client.get("/admin/permissions/erp/supplier/member"))
    assert "Supplier" in edit and 'name="field.rating"' in edit

    cell = "/admin/permissions/erp/supplier/member"
    form = {"actions": "read", "transitions": "", "field.name": "write", "field.rating": "hidden"}
    saved = factories.post_form(client, cell, form, cell)
    assert saved.status_code == 302
    _reread(session)
    assert session.scalar(select(App.permissions)) == {
        "entities": {"supplier": {"member": {"actions": ["read"], "fields": {"rating": "hidden"}}}}
    }
    refused = client.post(SUPPLIERS, json={"name": "Acme"}, headers=bearer)
    assert refused.status_code == 403
    assert client.get(SUPPLIERS, headers=bearer).status_code == 200
    assert "fields restricted" in _text(client.get("/admin/permissions/erp"))

    reset = factories.post_form(client, f"{cell}/reset", {}, cell)
    assert reset.status_code == 302
    _reread(session)
    assert session.scalar(select(App.permissions)) == {"entities": {}}
    assert client.post(SUPPLIERS, json={"name": "Acme"}, headers=bearer).status_code == 201


def test_an_invalid_scope_is_shown_and_nothing_is_saved(client, session, site):
    factories.login(client, "alice")
    cell = "/admin/permissions/erp/supplier/member"
    form = {"actions": ["read", "update"], "scope": "record.nope == user.id"}
    refused = factories.post_form(client, cell, form, cell)
    page = _text(refused)
    assert refused.status_code == 422
    assert "/entities/supplier/member/scope" in page and 'id="scope-errors"' in page
    assert "record.nope == user.id</textarea>" in page
    assert re.search(r'value="update" checked', page)
    _reread(session)
    assert session.scalar(select(App.permissions)) is None


def test_the_policy_json_view_checks_and_saves(client, session, site):
    factories.login(client, "alice")
    path = "/admin/permissions/erp/policy"
    bad = factories.post_form(client, path, {"policy": '{"entities": {"x": {}}}'}, path)
    assert bad.status_code == 422 and "the app has no such entity" in _text(bad)
    policy = '{"entities": {"*": {"member": {"actions": ["read", "export"]}}}}'
    assert factories.post_form(client, path, {"policy": policy}, path).status_code == 302
    matrix = _text(client.get("/admin/permissions/erp"))
    assert "read, export" in matrix and "from *" in matrix


def test_roles_defined_on_the_roles_page_join_the_matrix(client, session, site):
    factories.login(client, "alice")
    form = {"key": "inspector", "title_en": "Inspector", "title_zh": "检验员", "description": ""}
    assert factories.post_form(client, "/admin/roles", form, "/admin/roles").status_code == 302
    page = _text(client.get("/admin/roles"))
    assert "inspector" in page and "Inspector" in page and "designer" in page
    again = factories.post_form(client, "/admin/roles", form, "/admin/roles")
    assert again.status_code == 409 and "already in use" in _text(again)
    assert ">inspector</th>" in _text(client.get("/admin/permissions/erp"))
    _reread(session)
    assert session.scalar(select(Role.title)) == {"en": "Inspector", "zh": "检验员"}


def test_user_page_edits_roles_attributes_and_state(client, session, site):
    factories.login(client, "alice")
    page = f"/admin/users/{site['bob'].id}"
    bad = factories.post_form(client, page, {"roles": "member", "attributes": '{"ID": 1}'}, page)
    assert bad.status_code == 422 and "/attributes/ID" in _text(bad)
    assert "{&#34;ID&#34;: 1}</textarea>" in _text(bad)
    form = {"roles": ["member", "designer"], "attributes": '{"suppliers": [12, 15]}'}
    assert factories.post_form(client, page, form, page).status_code == 302
    _reread(session)
    membership = session.scalar(select(Membership).where(Membership.user_id == site["bob"].id))
    assert membership.roles == ["designer", "member"]
    assert membership.attributes == {"suppliers": [12, 15]}
    session.rollback()

    reset = factories.post_form(client, f"{page}/password", {}, page)
    assert reset.status_code == 200 and SECRET.search(_text(reset))
    assert factories.post_form(client, f"{page}/active", {"active": "0"}, page).status_code == 302
    _reread(session)
    assert not session.get(User, site["bob"].id).is_active
    session.rollback()

    own = f"/admin/users/{site['alice'].id}"
    last = factories.post_form(client, f"{own}/active", {"active": "0"}, own)
    assert last.status_code == 409 and "at least one active admin" in _text(last)
    unconfirmed = factories.post_form(client, f"{page}/remove", {}, page)
    assert unconfirmed.status_code == 422 and "tick the box" in _text(unconfirmed)
    removed = factories.post_form(client, f"{page}/remove", {"confirm": "yes"}, page)
    assert removed.status_code == 302
    _reread(session)
    assert session.scalar(select(Membership).where(Membership.user_id == site["bob"].id)) is None
    session.rollback()
    foreign = factories.post_form(client, "/admin/users/9999/remove", {"confirm": "yes"}, own)
    assert foreign.status_code == 404


def test_the_audit_viewer_shows_diffs_and_filters(client, session, site):
    supplier = (
        RecordStore(session, site["admin"]).entity("erp", "supplier").create({"name": "Acme"})
    )
    define_role(session, site["admin"], "inspector", "Inspector")
    session.commit()
    RecordStore(session, site["member"]).entity("erp", "supplier").update(
        supplier.id, {"name": "Acme Ltd"}, 1, reason="new legal name"
    )
    session.commit()
    factories.login(client, "alice")
    page = _text(client.get("/admin/audit"))
    assert "<del>Acme</del> → <ins>Acme Ltd</ins>" in page and "new legal name" in page
    assert "<td>create</td>" in page and "<td>update</td>" in page
    assert "<td>role.define</td>" in page and "<td>role:inspector</td>" in page

    by_bob = _text(client.get(f"/admin/audit?user={site['bob'].id}&entity=erp.supplier"))
    assert "<td>update</td>" in by_bob and "<td>create</td>" not in by_bob
    by_alice = _text(client.get(f"/admin/audit?user={site['alice'].id}"))
    assert "<td>create</td>" in by_alice and "<td>update</td>" not in by_alice


def test_the_audit_viewer_pages_and_explains_bad_filters(client, session, site):
    suppliers = RecordStore(session, site["admin"]).entity("erp", "supplier")
    suppliers.create_many([{"name": f"S{i}"} for i in range(55)])
    session.commit()
    factories.login(client, "alice")
    first = _text(client.get("/admin/audit?entity=erp.supplier"))
    older = re.search(r'href="(/admin/audit\?[^"]+)" rel="next"', first).group(1)
    assert "before=6" in older and "entity=erp.supplier" in older
    rest = _text(client.get(older.replace("&amp;", "&")))
    assert rest.count("<td>create</td>") == 5 and 'rel="next"' not in rest
    for query, message in [
        ("user=abc", "is not a number"),
        ("from=2024-13-01", "is not a date"),
        ("to=yesterday", "is not a date"),
        ("entity=erp.nothing", "No entity"),
        ("entity=nothing", "app.entity"),
        ("before=-1", "is not a number"),
    ]:
        response = client.get(f"/admin/audit?{query}")
        assert response.status_code == 400, query
        assert message in _text(response), query
