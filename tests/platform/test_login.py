"""Signing in and out: one answer for every bad credential, rate limits, sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from jizuo.platform import auth
from jizuo.platform.models import LoginFailure, User
from tests import factories


@pytest.fixture
def ann(session):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    user, _ = factories.member(session, ws, "ann", ("member",))
    session.commit()
    return user


@pytest.fixture
def hash_checks(monkeypatch):  # noqa: ANN001, ANN201
    """Counts password hash checks (real ones still run)."""
    calls = []
    real = auth.check_password_hash

    def counting(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    return calls


def test_right_password_signs_in_and_goes_where_the_user_was_going(ann, client):
    assert client.get("/account/tokens").headers["Location"] == "/login?next=/account/tokens"
    token = factories.csrf_token(client)
    response = client.post(
        "/login",
        data={
            "username": "ANN",  # names are matched without regard to case
            "password": factories.PASSWORD,
            "csrf_token": token,
            "next": "/account/tokens",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/account/tokens"
    assert client.get("/account/tokens").status_code == 200


def test_unknown_user_and_wrong_password_get_the_same_answer_and_cost(ann, client, hash_checks):
    wrong = factories.login(client, "ann", "not the password at all")
    assert len(hash_checks) == 1
    unknown = factories.login(client, "nobody", "not the password at all")
    assert len(hash_checks) == 2  # the unknown name was checked against a decoy hash
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Wrong username or password." in response.get_data(as_text=True)
    assert b"nobody" not in unknown.data.replace(b'value="nobody"', b"")  # echoed only in the field


def test_sixth_wrong_password_in_a_minute_is_refused_without_checking(
    ann, client, session, hash_checks
):
    for _ in range(5):
        assert factories.login(client, "ann", "guess guess guess").status_code == 401
    assert len(hash_checks) == 5
    refused = factories.login(client, "ann")  # even the right password
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert len(hash_checks) == 5  # refused before looking at the password
    # Other accounts are not locked out by ann's attacker... from another address.
    # A minute later the window has passed and the right password works.
    session.execute(update(LoginFailure).values(at=LoginFailure.at - timedelta(seconds=61)))
    session.commit()
    assert factories.login(client, "ann").status_code == 302
    # A successful sign-in clears the account's failures.
    assert session.scalar(select(LoginFailure).where(LoginFailure.key == "account:ann")) is None


def test_many_failures_from_one_address_are_refused_across_accounts(app, ann, client):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    for name in ("u1", "u2", "u3"):
        assert factories.login(client, name, "guess guess guess").status_code == 401
    assert factories.login(client, "ann").status_code == 429
    other_address = app.test_client()
    token = factories.csrf_token(other_address)
    response = other_address.post(
        "/login",
        data={"username": "ann", "password": factories.PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 302


def test_sign_in_does_not_redirect_off_site(app, ann):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = app.test_client()
        token = factories.csrf_token(client)
        response = client.post(
            "/login",
            data={
                "username": "ann",
                "password": factories.PASSWORD,
                "csrf_token": token,
                "next": target,
            },
        )
        assert response.headers["Location"] == "/", target


def test_inactive_users_cannot_sign_in(ann, client, session):
    session.execute(update(User).where(User.id == ann.id).values(is_active=False))
    session.commit()
    response = factories.login(client, "ann")
    assert response.status_code == 401 and "Wrong username or password." in response.get_data(
        as_text=True
    )


def test_sign_out_ends_the_session(ann, client):
    factories.login(client, "ann")
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/")})
    assert client.get("/").status_code == 302


def test_changing_the_password_ends_other_sessions(app, ann, client):
    other = app.test_client()
    factories.login(client, "ann")
    factories.login(other, "ann")
    changed = factories.post_form(
        client,
        "/account/password",
        {
            "current": factories.PASSWORD,
            "password": "brand new secret",
            "confirm": "brand new secret",
        },
        "/account/password",
    )
    assert changed.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one was signed out
    assert factories.login(other, "ann", "brand new secret").status_code == 302


def test_password_change_refuses_bad_input_and_changes_nothing(ann, client, session):
    factories.login(client, "ann")
    before = session.scalar(select(User.password_hash).where(User.id == ann.id))
    cases = [
        (
            {"current": "wrong one!!", "password": "another secret", "confirm": "another secret"},
            "The current password is wrong.",
        ),
        (
            {"current": factories.PASSWORD, "password": "short", "confirm": "short"},
            "use 10 to 1024 characters",
        ),
        (
            {"current": factories.PASSWORD, "password": "another secret", "confirm": "different!!"},
            "The two new passwords differ.",
        ),
    ]
    for form, message in cases:
        response = factories.post_form(client, "/account/password", form, "/account/password")
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(User.password_hash).where(User.id == ann.id)) == before


def test_a_user_switches_between_their_workspaces_only(app, session, client):
    first = factories.workspace(session, "plant1")
    second = factories.workspace(session, "plant2")
    foreign = factories.workspace(session, "rival")
    user, _ = factories.member(session, first, "ann", ("member",))
    auth.add_member(session, user, second, ["admin"])
    session.commit()
    factories.login(client, "ann")
    assert client.get("/admin/").status_code == 403  # a member in plant1
    switched = factories.post_form(client, "/workspace", {"workspace_id": second.id})
    assert switched.status_code == 302
    assert client.get("/admin/").status_code == 200  # an admin in plant2
    refused = factories.post_form(client, "/workspace", {"workspace_id": foreign.id})
    assert refused.status_code == 404
    assert client.get("/admin/").status_code == 200  # still in plant2


def test_language_follows_the_browser_then_the_choice(ann, client):
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in chinese.get_data(as_text=True)
    factories.post_form(client, "/language", {"lang": "en", "next": "/login"}, "/login")
    chosen = client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in chosen.get_data(as_text=True)


def test_a_user_of_no_workspace_signs_in_but_reaches_nothing(app, session, client):
    auth.create_user(session, "newbie", factories.PASSWORD)
    session.commit()
    assert factories.login(client, "newbie").status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and "belongs to no workspace" in home.get_data(as_text=True)
    assert client.get("/account/tokens").status_code == 403
    assert client.get("/api/v1/apps").status_code == 403
    assert client.get("/admin/").status_code == 403


def test_nul_characters_in_forms_get_a_clear_400(ann, client):
    token = factories.csrf_token(client)
    response = client.post(
        "/login", data={"username": "ann\x00", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert client.get("/login?next=%00").status_code == 400
