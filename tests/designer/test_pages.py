"""The designer's pages without a browser: who may open them, other workspaces, CSRF, the
preview of a draft and its rules, deletion with the key typed back."""

from __future__ import annotations

import pytest

from jizuo.platform import catalog
from tests import factories
from tests.browser.test_designer import LOT


@pytest.fixture
def people(session):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    _, admin = factories.member(session, ws, "root", ("admin",))
    factories.member(session, ws, "dee", ("designer",))
    factories.member(session, ws, "max", ("member",))
    factories.published(session, admin, "qa", LOT)
    other = factories.workspace(session, "beta")
    factories.member(session, other, "bea", ("admin",))
    session.commit()
    return admin


PAGES = (
    "/design/",
    "/design/import",
    "/design/apps/qa",
    "/design/apps/qa/delete",
    "/design/apps/qa/entities/lot",
    "/design/apps/qa/entities/lot/canvas",
    "/design/apps/qa/entities/lot/panel?field=qty",
    "/design/apps/qa/entities/lot/preview?lang=zh",
    "/design/apps/qa/entities/lot/publish",
)


def test_designers_open_every_page_members_are_refused(people, client):  # noqa: ANN001
    factories.login(client, "dee")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/design/")})
    factories.login(client, "max")
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert "/design/" not in client.get("/").get_data(as_text=True)


def test_another_workspace_sees_nothing_of_the_app(people, client):  # noqa: ANN001
    factories.login(client, "bea")
    for path in PAGES[2:]:
        assert client.get(path).status_code == 404, path


def test_changes_need_the_csrf_token(people, client):  # noqa: ANN001
    factories.login(client, "root")
    answer = client.post("/design/apps/qa", data={"title_en": "Renamed"})
    assert answer.status_code == 400
    answer = factories.post_form(
        client, "/design/apps/qa", {"title_en": "Renamed", "title_zh": "改名"}, "/design/apps/qa"
    )
    assert answer.status_code == 302
    assert "Renamed" in client.get("/design/apps/qa").get_data(as_text=True)


def test_the_preview_renders_and_evaluates_the_draft_in_a_frame_of_ours(people, session, client):  # noqa: ANN001
    draft = {**LOT, "rules": {"visible_if": {"note": "qty > 3"}}}
    catalog.save_draft(session, people, "qa", "lot", draft)
    session.commit()
    factories.login(client, "root")
    page = client.get("/design/apps/qa/entities/lot/preview?lang=zh")
    assert "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]
    assert "批号" in page.get_data(as_text=True)
    token = factories.csrf_token(client, "/design/")
    answer = client.post(
        "/design/apps/qa/entities/lot/preview/evaluate",
        json={"data": {"qty": 5}},
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 200
    assert answer.get_json()["visible"]["note"] is True
    answer = client.post(
        "/design/apps/qa/entities/lot/preview/evaluate",
        json={"data": {"qty": 1}},
        headers={"X-CSRFToken": token},
    )
    assert answer.get_json()["visible"]["note"] is False


def test_an_app_is_deleted_only_with_its_key_typed_back(people, session, client):  # noqa: ANN001
    factories.login(client, "root")
    page = client.get("/design/apps/qa/delete").get_data(as_text=True)
    assert "1 entities" in page
    wrong = factories.post_form(client, "/design/apps/qa/delete", {"confirm": "nope"}, "/design/")
    assert wrong.status_code == 302 and wrong.headers["Location"].endswith("/design/apps/qa/delete")
    assert client.get("/design/apps/qa").status_code == 200
    done = factories.post_form(client, "/design/apps/qa/delete", {"confirm": "qa"}, "/design/")
    assert done.headers["Location"].endswith("/design/")
    assert client.get("/design/apps/qa").status_code == 404
