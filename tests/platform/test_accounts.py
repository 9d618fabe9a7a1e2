"""Account administration: what admins may change, and what they may not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jizuo.platform import accounts
from jizuo.platform.actor import Actor
from jizuo.platform.auth import add_member, check_password, create_user, member_actor
from jizuo.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jizuo.platform.models import AdminEvent, ApiToken, Membership, User
from jizuo.platform.permissions import define_role
from tests import factories


@pytest.fixture
def team(session):
    """Workspace acme (admin alice, member bob) and workspace other (admin olga)."""
    ws = factories.workspace(session)
    alice, admin = factories.member(session, ws, "alice", ("admin",))
    bob, member = factories.member(session, ws, "bob", ("member",))
    other = factories.workspace(session, "other")
    olga, other_admin = factories.member(session, other, "olga", ("admin",))
    session.commit()

    class Team:
        pass

    t = Team()
    t.ws, t.alice, t.admin, t.bob, t.member = ws, alice, admin, bob, member
    t.other, t.olga, t.other_admin = other, olga, other_admin
    return t


def _events(session, action):
    return list(session.scalars(select(AdminEvent).where(AdminEvent.action == action)))


def test_list_members_shows_this_workspace_only(session, team):
    add_member(session, team.bob, team.ws, ["member"], {"suppliers": [12]})
    rows = accounts.list_members(session, team.admin)
    assert [m.username for m in rows] == ["alice", "bob"]
    bob = rows[1]
    assert (bob.roles, bob.attributes, bob.active) == (["member"], {"suppliers": [12]}, True)
    assert [m.username for m in accounts.list_members(session, team.other_admin)] == ["olga"]


def test_create_account_has_a_temporary_password_to_change(session, team):
    user, password = accounts.create_account(
        session, team.admin, "carol", "Carol C", "carol@example.com", ["member"], {"plant": "p1"}
    )
    session.commit()
    assert len(password) >= 16
    assert check_password(user, password)
    assert user.must_change_password and user.display_name == "Carol C"
    actor = member_actor(session, user.id, team.ws.id)
    assert actor.roles == {"member"} and actor.attributes == {"plant": "p1"}
    assert member_actor(session, user.id, team.other.id) is None
    (event,) = _events(session, "user.create")
    assert event.target == "user:carol" and event.actor_id == team.alice.id
    assert password not in str(event.detail)


def test_a_taken_username_is_refused_alike_whichever_workspace_holds_it(session, team):
    with pytest.raises(Conflict) as here:
        accounts.create_account(session, team.admin, "bob", None, None, ["member"])
    session.rollback()
    with pytest.raises(Conflict) as elsewhere:
        accounts.create_account(session, team.admin, "OLGA", None, None, ["member"])
    session.rollback()
    assert (
        here.value.errors
        == elsewhere.value.errors
        == [{"path": "/username", "message": "taken", "code": "invalid"}]
    )
    # olga was not attached to acme, and acme's admin cannot reach her
    assert member_actor(session, team.olga.id, team.ws.id) is None
    with pytest.raises(NotFound):
        accounts.get_member(session, team.admin, team.olga.id)


def test_create_account_checks_roles_and_attributes_first(session, team):
    with pytest.raises(ValidationFailed) as exc:
        accounts.create_account(session, team.admin, "dan", None, None, ["boss"], {"id": 1})
    paths = [e["path"] for e in exc.value.errors]
    assert paths == ["/roles", "/attributes/id"]
    session.rollback()
    assert session.scalar(select(User).where(User.username == "dan")) is None


@pytest.mark.parametrize(
    ("attributes", "path"),
    [
        ([12, 15], "/attributes"),
        ("suppliers", "/attributes"),
        ({"Suppliers": [1]}, "/attributes/Suppliers"),
        ({"1st": 1}, "/attributes/1st"),
        ({"a/b": 1}, "/attributes/a~1b"),
        ({"username": "x"}, "/attributes/username"),
        ({"roles": []}, "/attributes/roles"),
        ({"has_role": True}, "/attributes/has_role"),
        ({"ok": object()}, "/attributes"),
        ({"ok": float("nan")}, "/attributes"),
        ({"big": "x" * 30_000}, "/attributes"),
    ],
)
def test_bad_attributes_are_refused(session, team, attributes, path):
    with pytest.raises(ValidationFailed) as exc:
        accounts.update_membership(session, team.admin, team.bob.id, ["member"], attributes)
    assert path in [e["path"] for e in exc.value.errors]


def test_update_membership_replaces_roles_and_attributes(session, team):
    define_role(session, team.admin, "inspector", "Inspector")
    info = accounts.update_membership(
        session, team.admin, team.bob.id, ["inspector", "member", "inspector"], {"suppliers": [3]}
    )
    session.commit()
    assert info.roles == ["inspector", "member"]
    actor = member_actor(session, team.bob.id, team.ws.id)
    assert actor.roles == {"inspector", "member"} and actor.expression_user()["suppliers"] == [3]
    (event,) = _events(session, "user.update")
    assert event.detail["roles"] == [["member"], ["inspector", "member"]]
    with pytest.raises(ValidationFailed):
        accounts.update_membership(session, team.admin, team.bob.id, ["nobody"], {})
    with pytest.raises(ValidationFailed):
        accounts.update_membership(session, team.admin, team.bob.id, "member", {})


@pytest.mark.parametrize(
    "call",
    [
        lambda s, a, uid: accounts.get_member(s, a, uid),
        lambda s, a, uid: accounts.update_membership(s, a, uid, ["member"], {}),
        lambda s, a, uid: accounts.set_active(s, a, uid, False),
        lambda s, a, uid: accounts.reset_password(s, a, uid),
        lambda s, a, uid: accounts.remove_member(s, a, uid),
    ],
)
def test_users_of_other_workspaces_are_not_found_like_missing_ones(session, team, call):
    with pytest.raises(NotFound) as foreign:
        call(session, team.admin, team.olga.id)
    with pytest.raises(NotFound) as missing:
        call(session, team.admin, 99_999)
    assert foreign.value.status == missing.value.status == 404
    assert foreign.value.detail.replace(str(team.olga.id), "N") == missing.value.detail.replace(
        "99999", "N"
    )
    session.rollback()
    olga = session.get(User, team.olga.id)
    assert olga.is_active and not olga.must_change_password
    assert member_actor(session, team.olga.id, team.other.id).roles == {"admin"}


@pytest.mark.parametrize(
    "call",
    [
        lambda s, a, uid: accounts.list_members(s, a),
        lambda s, a, uid: accounts.list_roles(s, a),
        lambda s, a, uid: accounts.get_member(s, a, uid),
        lambda s, a, uid: accounts.create_account(s, a, "eve", None, None, ["admin"]),
        lambda s, a, uid: accounts.update_membership(s, a, uid, ["admin"], {}),
        lambda s, a, uid: accounts.set_active(s, a, uid, False),
        lambda s, a, uid: accounts.reset_password(s, a, uid),
        lambda s, a, uid: accounts.remove_member(s, a, uid),
    ],
)
def test_only_admins_with_write_access_manage_accounts(session, team, call):
    read_only_admin = Actor(team.ws.id, team.alice.id, "alice", frozenset({"admin"}), True)
    designer = Actor(team.ws.id, team.bob.id, "bob", frozenset({"designer", "member"}))
    for actor in (team.member, designer, read_only_admin):
        with pytest.raises(PermissionDenied):
            call(session, actor, team.alice.id)
    session.rollback()
    assert member_actor(session, team.alice.id, team.ws.id).roles == {"admin"}
    assert session.scalar(select(User).where(User.username == "eve")) is None


def test_the_last_active_admin_stays(session, team):
    with pytest.raises(Conflict):
        accounts.update_membership(session, team.admin, team.alice.id, ["member"], {})
    with pytest.raises(Conflict):
        accounts.set_active(session, team.admin, team.alice.id, False)
    with pytest.raises(Conflict):
        accounts.remove_member(session, team.admin, team.alice.id)
    # another admin who is inactive does not count
    accounts.update_membership(session, team.admin, team.bob.id, ["admin"], {})
    session.get(User, team.bob.id).is_active = False
    with pytest.raises(Conflict):
        accounts.update_membership(session, team.admin, team.alice.id, ["member"], {})
    # an active one does: alice may step down
    session.get(User, team.bob.id).is_active = True
    accounts.update_membership(session, team.admin, team.alice.id, ["member"], {})
    session.commit()
    assert member_actor(session, team.alice.id, team.ws.id).roles == {"member"}
    # demoting a non-admin never needs another admin
    accounts.update_membership(session, team.admin, team.alice.id, ["designer"], {})


def test_set_active_ends_sign_in_and_logs(session, team):
    info = accounts.set_active(session, team.admin, team.bob.id, False)
    session.commit()
    assert not info.active and member_actor(session, team.bob.id, team.ws.id) is None
    accounts.set_active(session, team.admin, team.bob.id, True)
    session.commit()
    assert member_actor(session, team.bob.id, team.ws.id) is not None
    assert [len(_events(session, a)) for a in ("user.deactivate", "user.activate")] == [1, 1]


def test_accounts_shared_with_another_workspace_are_theirs_to_change(session, team):
    add_member(session, team.bob, team.other, ["member"])
    with pytest.raises(Conflict):
        accounts.set_active(session, team.admin, team.bob.id, False)
    with pytest.raises(Conflict):
        accounts.reset_password(session, team.admin, team.bob.id)
    session.rollback()
    bob = session.get(User, team.bob.id)
    assert bob.is_active and check_password(bob, factories.PASSWORD)


def test_reset_password_gives_a_new_temporary_one(session, team):
    epoch = team.bob.session_epoch
    info, password = accounts.reset_password(session, team.admin, team.bob.id)
    session.commit()
    bob = session.get(User, team.bob.id)
    assert check_password(bob, password) and not check_password(bob, factories.PASSWORD)
    assert info.must_change_password and bob.must_change_password
    assert bob.session_epoch == epoch + 1
    (event,) = _events(session, "user.reset_password")
    assert password not in str(event.detail) and event.target == "user:bob"
    with pytest.raises(Conflict):
        accounts.reset_password(session, team.admin, team.alice.id)


def test_remove_member_revokes_tokens_and_retires_an_orphan_account(session, team):
    token = factories.token(session, team.ws, team.bob)
    carol = create_user(session, "carol", factories.PASSWORD)
    add_member(session, carol, team.ws, ["member"])
    add_member(session, carol, team.other, ["member"])
    accounts.remove_member(session, team.admin, team.bob.id)
    accounts.remove_member(session, team.admin, carol.id)
    session.commit()
    assert session.scalar(select(Membership).where(Membership.user_id == team.bob.id)) is None
    assert session.scalar(select(ApiToken.revoked_at)) is not None
    assert not session.get(User, team.bob.id).is_active  # in no workspace any more
    assert session.get(User, carol.id).is_active  # still a member of "other"
    assert member_actor(session, carol.id, team.other.id) is not None
    assert [e.target for e in _events(session, "user.remove")] == ["user:bob", "user:carol"]
    assert token.startswith("jz_")
