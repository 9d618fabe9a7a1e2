"""The evaluate API: a draft record's rules and formulas, as the server evaluates them."""

from __future__ import annotations

from tests import factories
from tests.plant import INSPECTOR_POLICY, SECRET_COST, Plant

URL = "/api/v1/apps/qms/entities/ncr/evaluate"


def test_visibility_required_and_formulas_follow_the_draft(app, session, client):
    plant = Plant(session)
    headers = plant.person("qe", ("admin",))
    answer = client.post(
        URL, json={"data": {"source": "iqc", "qty_rejected": 3, "unit_cost": 2.5}}, headers=headers
    )
    assert answer.status_code == 200
    body = answer.json
    assert body["visible"]["complaint"] is False and body["required"]["complaint"] is False
    assert body["values"]["cost"] == 7.5
    assert body["required"]["lot_no"] is True and body["readonly"]["number"] is True
    assert body["readonly"]["lot_no"] is False
    customer = client.post(
        URL, json={"data": {"source": "customer", "qty_rejected": 1}}, headers=headers
    ).json
    assert customer["visible"]["complaint"] is True and customer["required"]["complaint"] is True
    assert customer["values"]["cost"] is None  # no unit cost yet


def test_child_formulas_and_spec_limits(app, session, client):
    plant = Plant(session)
    factories.published(session, plant.admin, "lab", factories.EVERY_TYPE)
    headers = plant.person("qe", ("admin",))
    data = {
        "integer": 2,
        "decimal": 1.25,
        "measurement": 10.2,
        "child_table": [{"qty": 2, "price": 3}, {"part": "x"}],
    }
    body = client.post(
        "/api/v1/apps/lab/entities/specimen/evaluate", json={"data": data}, headers=headers
    ).json
    assert body["values"]["computed"] == 2.5
    assert body["values"]["child_table"] == [{"amount": 6}, {"amount": None}]
    assert body["spec"] == {"measurement": "out"}
    data["measurement"] = 10.0
    body = client.post(
        "/api/v1/apps/lab/entities/specimen/evaluate", json={"data": data}, headers=headers
    ).json
    assert body["spec"] == {"measurement": "in"}


def test_values_of_the_wrong_type_never_reach_a_formula(app, session, client):
    plant = Plant(session)
    headers = plant.person("qe", ("admin",))
    hostile = {"qty_rejected": "9**9**9", "unit_cost": "x" * 10_000, "source": "__import__('os')"}
    answer = client.post(URL, json={"data": hostile}, headers=headers)
    assert answer.status_code == 200
    assert answer.json["values"]["cost"] is None
    paths = {e["path"] for e in answer.json["errors"]}
    assert {"/qty_rejected", "/unit_cost"} <= paths
    for bad in ([1, 2], {"data": "text"}, {"data": {}, "record_id": "1"}):
        refused = client.post(URL, json=bad, headers=headers)
        assert refused.status_code in (400, 422), bad
    # Unknown fields and computed fields sent by the client are ignored, not evaluated.
    answer = client.post(URL, json={"data": {"cost": 1, "nope": 2}}, headers=headers)
    assert answer.status_code == 200 and answer.json["values"]["cost"] is None


def test_hidden_fields_are_neither_read_nor_answered(app, session, client):
    plant = Plant(session)
    plant.policy("qms", {"entities": {"ncr": INSPECTOR_POLICY["entities"]["ncr"]}})
    headers = plant.person("ina", ("inspector",))
    rid = plant.ncr(unit_cost=SECRET_COST, qty_rejected=2)
    body = client.post(
        URL, json={"data": {"unit_cost": 1, "qty_rejected": 2}}, headers=headers
    ).json
    assert "unit_cost" not in body["visible"] and "cost" not in body["values"]
    assert body["readonly"]["disposition"] is True
    assert str(SECRET_COST) not in str(body)
    # Another user's record is outside this inspector's scope: answered as missing.
    refused = client.post(URL, json={"data": {}, "record_id": rid}, headers=headers)
    assert refused.status_code == 404


def test_stored_values_fill_in_what_the_draft_leaves_out(app, session, client):
    plant = Plant(session)
    headers = plant.person("qe", ("admin",))
    rid = plant.ncr(unit_cost=4.0, qty_rejected=2)
    body = client.post(
        URL, json={"data": {"qty_rejected": 5}, "record_id": rid}, headers=headers
    ).json
    assert body["values"]["cost"] == 20.0


def test_other_workspaces_and_anonymous_callers_get_nothing(app, session, client):
    Plant(session)
    other = factories.workspace(session, "other")
    user, _ = factories.member(session, other, "olga", ("admin",))
    token = factories.token(session, other, user)
    session.commit()
    answer = client.post(URL, json={"data": {}}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404
    assert client.post(URL, json={"data": {}}).status_code == 401


def test_the_browser_calls_it_with_the_csrf_header(app, session, client):
    Plant(session)
    factories.login(client, "root")
    assert client.post(URL, json={"data": {}}).status_code == 400  # no CSRF token
    token = factories.csrf_token(client, "/")
    answer = client.post(URL, json={"data": {"source": "customer"}}, headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and answer.json["visible"]["complaint"] is True


def test_the_openapi_document_describes_it(app, session, client):
    plant = Plant(session)
    headers = plant.person("qe", ("admin",))
    paths = client.get("/api/v1/openapi.json", headers=headers).json["paths"]
    assert "post" in paths["/api/v1/apps/{app}/entities/{entity}/evaluate"]
