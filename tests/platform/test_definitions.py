"""Versioned definitions (workflows, automations, reports, dashboards): draft, check, publish."""

from __future__ import annotations

import pytest

from jizuo.platform import definitions
from jizuo.platform.errors import ValidationFailed, error
from tests import factories

BASE = "/api/v1/apps/qms/dashboards"


@pytest.fixture
def dashboards(monkeypatch):  # noqa: ANN001, ANN201
    """A stand-in checker for dashboards: a 'title' is required."""

    def check(_session, _actor, _app, _key, body):  # noqa: ANN001, ANN202
        if not isinstance(body.get("title"), str):
            raise ValidationFailed("Not valid.", errors=[error("/title", "required")])
        return {**body, "checked": True}

    monkeypatch.setitem(definitions._CHECKERS, "dashboard", check)


@pytest.fixture
def people(session):  # noqa: ANN001, ANN201
    ws = factories.workspace(session)
    designer, designer_actor = factories.member(session, ws, "dee", ("designer",))
    member, _ = factories.member(session, ws, "mo", ("member",))
    factories.published(session, designer_actor, "qms", factories.SUPPLIER)
    tokens = {
        "designer": factories.token(session, ws, designer),
        "member": factories.token(session, ws, member),
    }
    session.commit()
    return {k: {"Authorization": f"Bearer {t}"} for k, t in tokens.items()}


def test_draft_publish_versions_over_the_api(dashboards, people, client, session):
    h = people["designer"]
    saved = client.put(f"{BASE}/quality/draft", json={"title": "Quality"}, headers=h)
    assert saved.status_code == 200 and saved.json["draft"] == {"title": "Quality", "checked": True}
    assert saved.json["published_version"] is None
    published = client.post(f"{BASE}/quality/publish", headers=h)
    assert published.status_code == 201 and published.json["version"] == 1
    client.put(f"{BASE}/quality/draft", json={"title": "Quality v2"}, headers=h)
    client.post(f"{BASE}/quality/publish", headers=h)
    shown = client.get(f"{BASE}/quality", headers=h).json
    assert shown["published_version"] == 2 and shown["definition"]["title"] == "Quality v2"
    versions = client.get(f"{BASE}/quality/versions", headers=h).json["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert [d["key"] for d in client.get(BASE, headers=h).json["items"]] == ["quality"]
    ws_id = session.scalar(definitions.select(definitions.Definition.workspace_id))
    assert [
        p.body["title"] for p in definitions.published_definitions(session, ws_id, "dashboard")
    ] == ["Quality v2"]
    off = client.post(f"{BASE}/quality/enabled", json={"enabled": False}, headers=h)
    assert off.status_code == 200 and off.json["enabled"] is False
    session.rollback()
    assert definitions.published_definitions(session, ws_id, "dashboard") == []


def test_bad_definitions_and_callers_are_refused(dashboards, people, client, session):
    h = people["designer"]
    bad = client.put(f"{BASE}/quality/draft", json={"name": "no title"}, headers=h)
    assert bad.status_code == 422 and bad.json["errors"][0]["path"] == "/title"
    assert client.get(BASE, headers=h).json["items"] == []
    assert client.put(f"{BASE}/Bad Key/draft", json={"title": "x"}, headers=h).status_code == 422
    assert client.post(f"{BASE}/nothing/publish", headers=h).status_code == 404
    member = people["member"]
    refused = client.put(f"{BASE}/quality/draft", json={"title": "x"}, headers=member)
    assert refused.status_code == 403
    assert client.get("/api/v1/apps/nope/dashboards", headers=h).status_code == 404
    unsupported = client.put("/api/v1/apps/qms/reports/r/draft", json={}, headers=h)
    assert unsupported.status_code in (400, 422)  # reports arrive with their own checker
    assert client.get("/api/v1/apps/qms/gadgets", headers=h).status_code == 404
