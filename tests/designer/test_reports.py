"""The report designer without a browser: whole drafts through the API, the preview of a
draft with the viewer's rights (nothing saved), and the pages (designers only, other
workspaces, CSRF)."""

from __future__ import annotations

from tests import factories

BASE = "/apps/qms/reports/by_source"


def _create(shop) -> dict:  # noqa: ANN001
    answer = shop.dee("POST", "/apps/qms/reports", {"key": "by_source", "entity": "qms.ncr"})
    assert answer.status_code == 201, answer.json
    return answer.json


def test_a_report_draft_is_edited_whole_and_refusals_carry_paths(shop):  # noqa: ANN001
    state = _create(shop)
    draft = {**state["draft"], "group_by": [{"field": "supplier.nme"}]}
    refused = shop.dee("PUT", f"{BASE}/draft", {"draft": draft, "version": state["version"]})
    assert refused.status_code == 422
    assert refused.json["errors"][0]["path"] == "/group_by/0/field"
    draft["group_by"] = [{"field": "source"}]
    saved = shop.dee("PUT", f"{BASE}/draft", {"draft": draft, "version": state["version"]})
    assert saved.status_code == 200 and saved.json["can_undo"]
    stale = shop.dee("PUT", f"{BASE}/draft", {"draft": draft, "version": state["version"]})
    assert stale.status_code == 412
    undone = shop.dee("POST", f"{BASE}/draft/undo", {"version": saved.json["version"]})
    assert "group_by" not in undone.json["draft"]


def test_the_preview_runs_the_draft_on_real_data(shop, client):  # noqa: ANN001
    state = _create(shop)
    draft = {**state["draft"], "group_by": [{"field": "source"}],
             "chart": {"type": "bar", "x": "source", "y": "records"}}  # fmt: skip
    shop.dee("PUT", f"{BASE}/draft", {"draft": draft, "version": state["version"]})
    factories.login(client, "dee")
    page = client.get(f"/design{BASE}/preview")
    text = page.get_data(as_text=True)
    assert "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]
    assert "data-vega-spec" in text and "<td>iqc</td>" in text and "<td>oqc</td>" in text
    assert "Rows: 2" in text


PAGES = ("/design/apps/qms", f"/design{BASE}", f"/design{BASE}/editor", f"/design{BASE}/preview")


def test_the_pages_designers_only_other_workspaces_and_csrf(shop, client):  # noqa: ANN001
    _create(shop)
    factories.login(client, "dee")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    assert client.post(f"/design{BASE}/publish", data={"version": "2"}).status_code == 400
    assert client.post("/design/apps/qms/reports", data={"key": "x"}).status_code == 400
    answer = factories.post_form(client, "/design/apps/qms/reports",
                                 {"key": "second", "entity": "erp.supplier"}, "/design/apps/qms")  # fmt: skip
    assert answer.status_code == 302
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/design/")})
    factories.login(client, "max")
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert shop.max("GET", f"{BASE}/draft").status_code == 403
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/")})
    factories.login(client, "bea")
    for path in PAGES:
        assert client.get(path).status_code == 404, path
    assert shop.bea("GET", f"{BASE}/draft").status_code == 404
