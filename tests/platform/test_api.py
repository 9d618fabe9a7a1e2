"""The REST API: status codes, problem documents, and that bad requests write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jizuo.platform.models import Record, RecordHistory
from tests import factories


@pytest.fixture
def api(session, client):
    """An admin's token in a workspace with erp.supplier and qms.ncr published."""
    ws = factories.workspace(session)
    user, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    factories.published(session, actor, "qms", factories.NCR)
    token = factories.token(session, ws, user)
    session.commit()

    class Api:
        headers = {"Authorization": f"Bearer {token}"}

        def call(self, method, url, json=None, headers=None, data=None, content_type=None):
            h = {**self.headers, **(headers or {})}
            return client.open(
                url, method=method, json=json, headers=h, data=data, content_type=content_type
            )

        def supplier(self, name="Acme"):
            r = self.call("POST", "/api/v1/apps/erp/entities/supplier/records", {"name": name})
            assert r.status_code == 201, r.json
            return r.json["id"]

    return Api()


NCRS = "/api/v1/apps/qms/entities/ncr/records"
SUPPLIERS = "/api/v1/apps/erp/entities/supplier/records"


def _ncr(supplier_id):
    return {"supplier": supplier_id, "lot_no": "L-1", "source": "iqc", "qty_rejected": 3,
            "unit_cost": 2, "defects": [{"code": "D1", "count": 3}]}  # fmt: skip


def _counts(session):
    session.expire_all()
    counts = (
        session.scalar(select(func.count()).select_from(Record)),
        session.scalar(select(func.count()).select_from(RecordHistory)),
    )
    session.rollback()  # end the read: an open transaction would hold SQLite's write lock
    return counts


def test_create_get_list_patch_delete(api):
    sid = api.supplier()
    created = api.call("POST", NCRS, _ncr(sid))
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    body = created.json
    assert body["data"]["cost"] == 6 and body["entity"] == "qms.ncr"
    rid = body["id"]
    assert api.call("GET", f"{NCRS}/{rid}").json["data"]["lot_no"] == "L-1"
    listing = api.call("GET", f"{NCRS}?source=iqc&limit=10").json
    assert [r["id"] for r in listing["items"]] == [rid] and listing["next_cursor"] is None
    patched = api.call("PATCH", f"{NCRS}/{rid}", {"unit_cost": 5}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200 and patched.json["data"]["cost"] == 15
    assert patched.headers["ETag"] == '"2"'
    history = api.call("GET", f"{NCRS}/{rid}/history").json["items"]
    assert [h["action"] for h in history] == ["create", "update"]
    assert api.call("DELETE", f"{NCRS}/{rid}").status_code == 204
    assert api.call("GET", f"{NCRS}/{rid}").status_code == 404


def test_malformed_json_is_400_and_writes_nothing(api, session):
    before = _counts(session)
    r = api.call("POST", NCRS, data="{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "not valid JSON" in r.json["detail"]
    assert api.call("POST", NCRS, json=[1, 2]).status_code == 400
    assert _counts(session) == before


def test_invalid_data_is_422_with_paths_and_writes_nothing(api, session):
    sid = api.supplier()
    before = _counts(session)
    bad = {**_ncr(sid), "qty_rejected": -2, "source": "mars", "extra": 1}
    r = api.call("POST", NCRS, bad)
    assert r.status_code == 422
    paths = {e["path"] for e in r.json["errors"]}
    assert {"/qty_rejected", "/source", "/extra"} <= paths
    assert _counts(session) == before


def test_unknown_things_are_404(api):
    assert api.call("GET", "/api/v1/apps/nope").status_code == 404
    assert api.call("GET", "/api/v1/apps/qms/entities/nope/records").status_code == 404
    assert api.call("GET", f"{NCRS}/999").status_code == 404
    assert api.call("GET", f"{NCRS}/abc").status_code == 404
    r = api.call("GET", f"{NCRS}/999")
    assert r.headers["Content-Type"] == "application/problem+json"


def test_stale_if_match_is_412_and_nothing_lost(api, session):
    rid = api.call("POST", NCRS, _ncr(api.supplier())).json["id"]
    assert (
        api.call("PATCH", f"{NCRS}/{rid}", {"unit_cost": 4}, headers={"If-Match": "1"}).status_code
        == 200
    )
    before = _counts(session)
    r = api.call("PATCH", f"{NCRS}/{rid}", {"unit_cost": 9}, headers={"If-Match": '"1"'})
    assert r.status_code == 412 and r.json["current_version"] == 2
    assert _counts(session) == before
    assert api.call("GET", f"{NCRS}/{rid}").json["data"]["unit_cost"] == 4
    assert api.call("PATCH", f"{NCRS}/{rid}", {"unit_cost": 9}).status_code == 428


def test_bad_query_parameters_are_400(api):
    assert api.call("GET", f"{NCRS}?ghost=1").status_code == 400
    assert api.call("GET", f"{NCRS}?qty_rejected__gte=lots").status_code == 400
    assert api.call("GET", f"{NCRS}?qty_rejected__near=1").status_code == 400
    assert api.call("GET", f"{NCRS}?cursor=garbage").status_code == 400
    assert api.call("GET", f"{NCRS}?limit=0").status_code == 400
    assert api.call("GET", f"{NCRS}?order_by=defects").status_code == 400


def test_authentication_is_required(client, api):
    assert client.get("/api/v1/apps").status_code == 401
    r = client.get("/api/v1/apps", headers={"Authorization": "Bearer jz_wrong"})
    assert r.status_code == 401 and r.headers["Content-Type"] == "application/problem+json"


def test_foreign_workspace_ids_are_404(api, session, client):
    rid = api.call("POST", NCRS, _ncr(api.supplier())).json["id"]
    other = factories.workspace(session, "rival")
    user, actor = factories.member(session, other, "mallory")
    factories.published(session, actor, "qms", {"key": "ncr", "title": "NCR", "schema": {
        "type": "object", "properties": {"lot_no": {"type": "string"}}}})  # fmt: skip
    token = factories.token(session, other, user)
    session.commit()
    headers = {"Authorization": f"Bearer {token}", "If-Match": "1"}
    assert client.get(f"{NCRS}/{rid}", headers=headers).status_code == 404
    assert client.patch(f"{NCRS}/{rid}", json={"lot_no": "x"}, headers=headers).status_code == 404
    assert client.delete(f"{NCRS}/{rid}", headers=headers).status_code == 404
    assert client.get(f"{NCRS}/{rid}/history", headers=headers).status_code == 404


def test_read_only_token_cannot_write(api, session, client):
    ws = factories.workspace(session, "ro")
    user, actor = factories.member(session, ws, "viewer")
    factories.published(session, actor, "erp", factories.SUPPLIER)
    token = factories.token(session, ws, user, read_only=True)
    session.commit()
    r = client.post("/api/v1/apps/erp/entities/supplier/records", json={"name": "x"},
                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 403


def test_design_flow_over_the_api(api):
    definition = {"key": "gauge", "title": {"en": "Gauge", "zh": "量具"},
                  "schema": {"type": "object", "properties": {"code": {"type": "string"}}}}  # fmt: skip
    assert api.call("POST", "/api/v1/apps", {"key": "lab", "title": "Lab"}).status_code == 201
    assert api.call("POST", "/api/v1/apps", {"key": "lab", "title": "Lab"}).status_code == 409
    r = api.call("POST", "/api/v1/apps/lab/entities", definition)
    assert r.status_code == 201 and r.json["published_version"] is None
    assert api.call("GET", "/api/v1/apps/lab/entities/gauge/records").status_code == 404
    bad = {**definition, "schema": {"type": "object", "properties": {"code": {"type": "str"}}}}
    r = api.call("PUT", "/api/v1/apps/lab/entities/gauge/draft", bad)
    assert r.status_code == 422 and r.json["errors"][0]["path"] == "/schema/properties/code/type"
    r = api.call("POST", "/api/v1/apps/lab/entities/gauge/publish", {})
    assert r.status_code == 201 and r.json["version"] == 1
    assert api.call("GET", "/api/v1/apps/lab").json["entities"] == ["gauge"]


def test_openapi_document_is_valid(api):
    from openapi_spec_validator import validate

    doc = api.call("GET", "/api/v1/openapi.json").json
    validate(doc)
    assert "qms.ncr" in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["qms.ncr"]["title"] == "Nonconformance report"
    assert "/api/v1/apps/qms/entities/ncr/records/{id}" in doc["paths"]
    assert "/api/v1/apps/{app}/entities/{entity}/publish" in doc["paths"]
    operation_ids = [op["operationId"] for path in doc["paths"].values()
                     for op in path.values() if isinstance(op, dict)]  # fmt: skip
    assert len(operation_ids) == len(set(operation_ids))


def test_openapi_document_describes_every_api_route(app, api):
    doc = api.call("GET", "/api/v1/openapi.json").json
    described = {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    for rule in app.url_map.iter_rules():
        if (
            not rule.rule.startswith("/api/v1/")
            or "<app_key>/entities/<entity_key>/records" in rule.rule
        ):
            continue  # record routes are described per published entity
        path = rule.rule
        for old, new in (
            ("<app_key>", "{app}"),
            ("<entity_key>", "{entity}"),
            ("<job_id>", "{id}"),
            ("<int:attachment_id>", "{id}"),
            ("<any(workflows, automations, reports, dashboards):kinds>", "{kinds}"),
            ("<key>", "{key}"),
        ):
            path = path.replace(old, new)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in described, (
                f"{method} {path} is not in the OpenAPI document"
            )


def test_nul_characters_are_refused_clearly_on_every_database(api):
    import base64
    import json as json_module

    created = api.call("POST", SUPPLIERS, {"name": "Acme\u0000Ltd"})
    assert created.status_code == 400 and created.json["errors"][0]["path"] == "/name"
    nested = api.call("POST", NCRS, {"lot_no": "L", "source": "iqc", "qty_rejected": 1,
                                     "defects": [{"code": "\u0000", "count": 1}]})  # fmt: skip
    assert nested.status_code == 400
    assert "/defects/0/code" in [e["path"] for e in nested.json["errors"]]
    assert api.call("GET", f"{SUPPLIERS}?name=%00").status_code == 400
    cursor = base64.urlsafe_b64encode(json_module.dumps(["\u0000", 1]).encode()).decode()
    assert api.call("GET", f"{SUPPLIERS}?order_by=name&cursor={cursor}").status_code == 400
