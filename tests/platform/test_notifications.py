"""Notifications: the notify action (a role's members, named users, e-mail), the API and
the page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jizuo.platform.auth import add_member, create_user
from jizuo.platform.models import Notification, Role, Workspace
from tests import factories
from tests.automation_support import automate, create, plant

NOTIFY = {
    "trigger": {"on": "created", "entity": "sales.order"},
    "actions": [
        {
            "type": "notify",
            "roles": ["inspector"],
            "users": ["boss"],
            "text": "Order {{ record.number }} needs an inspection ({{ record.qty }} pcs)",
        }
    ],
}


@pytest.fixture
def people(session):  # noqa: ANN001, ANN201
    ws, designer = plant(session)
    session.add(Role(workspace_id=ws.id, key="inspector", title={"en": "Inspector"}))
    session.flush()
    workspace = session.get(Workspace, ws.id)
    users = {}
    for name, roles, email in (
        ("ivy", ["inspector"], "ivy@example.com"),
        ("ian", ["inspector", "member"], None),
        ("boss", ["member"], "boss@example.com"),
        ("mo", ["member"], "mo@example.com"),
    ):
        user = create_user(session, name, "correct horse battery", email=email)
        add_member(session, user, workspace, roles)
        users[name] = user
    session.commit()
    return ws, designer, users


class FakeSMTP:
    sent: list = []

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port = host, port

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def send_message(self, message) -> None:  # noqa: ANN001
        FakeSMTP.sent.append((self.host, self.port, message["To"], message.get_content()))


def test_notify_reaches_a_roles_members_and_named_users_and_mails_them(
    app, session, people, monkeypatch
):
    ws, designer, users = people
    FakeSMTP.sent = []
    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    app.config.update(SMTP_HOST="mail.local", SMTP_PORT=2525)
    automate(session, designer, "inspect", NOTIFY)
    order_id = create(session, designer, "sales", "order", {"number": "SO-9", "qty": 40})
    session.expire_all()
    rows = session.scalars(select(Notification).order_by(Notification.user_id)).all()
    assert [r.user_id for r in rows] == sorted(users[n].id for n in ("ivy", "ian", "boss"))
    assert {r.text for r in rows} == {"Order SO-9 needs an inspection (40 pcs)"}
    assert {r.link for r in rows} == {f"/apps/sales/order/{order_id}"}
    assert all(r.workspace_id == ws.id and r.read_at is None for r in rows)
    [(host, port, to, body)] = FakeSMTP.sent
    assert (host, port) == ("mail.local", 2525)
    assert to == "ivy@example.com, boss@example.com" and "SO-9" in body


def test_notifications_over_the_api_and_the_page(app, session, people, client):
    ws, designer, users = people
    automate(session, designer, "inspect", NOTIFY)
    create(session, designer, "sales", "order", {"number": "SO-10", "qty": 1})
    create(session, designer, "sales", "order", {"number": "SO-11", "qty": 2})
    workspace = session.get(Workspace, ws.id)
    ivy = {"Authorization": f"Bearer {factories.token(session, workspace, users['ivy'])}"}
    mo = {"Authorization": f"Bearer {factories.token(session, workspace, users['mo'])}"}
    session.commit()
    listed = client.get("/api/v1/notifications", headers=ivy).json
    assert [n["text"][:12] for n in listed["items"]] == ["Order SO-11 ", "Order SO-10 "]
    assert listed["unread"] == 2
    assert client.get("/api/v1/notifications", headers=mo).json == {"items": [], "unread": 0}
    first = listed["items"][1]["id"]
    # Someone else's notification cannot be marked by mo.
    assert (
        client.post("/api/v1/notifications/read", json={"ids": [first]}, headers=mo).json["marked"]
        == 0
    )
    marked = client.post("/api/v1/notifications/read", json={"ids": [first]}, headers=ivy)
    assert marked.json == {"marked": 1, "unread": 1}
    unread = client.get("/api/v1/notifications?unread=true", headers=ivy).json["items"]
    assert [n["text"][:11] for n in unread] == ["Order SO-11"]
    bad = client.post("/api/v1/notifications/read", json={"ids": ["x"]}, headers=ivy)
    assert bad.status_code == 400

    factories.login(client, "ivy")
    page = client.get("/notifications")
    assert page.status_code == 200 and b"Order SO-11" in page.data and b"Mark read" in page.data
    done = factories.post_form(client, "/notifications/read", {}, page="/notifications")
    assert done.status_code == 303
    assert client.get("/api/v1/notifications?unread=1").json["unread"] == 0
