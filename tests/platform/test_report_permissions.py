"""A viewer's field and row permissions apply to every report result: row scopes on the source
and on every referenced entity, hidden fields refused by name, entities the viewer may not read
refused by path, exports only with the export right, workspaces apart."""

from __future__ import annotations

import pytest

from jizuo.platform.tokens import issue_token
from tests import factories
from tests.report_plant import ReportPlant

URL = "/api/v1/apps/qms/reports"
BY_SUPPLIER = {
    "title": "By supplier",
    "source": {"entity": "inspection"},
    "group_by": [{"field": "supplier.name", "key": "supplier"}],
    "measures": [
        {"key": "n", "agg": "count"},
        {"key": "qty", "agg": "sum", "field": "qty_inspected"},
        {"key": "median", "agg": "median", "field": "qty_inspected"},
    ],
    "totals": True,
}
COUNT_ONLY = {
    "title": "Count",
    "source": {"entity": "inspection"},
    "group_by": [{"field": "result"}],
    "measures": [
        {"key": "n", "agg": "count"},
        {"key": "qty", "agg": "sum", "field": "qty_inspected"},
    ],
}


def grant(actions=("read",), **extra):  # noqa: ANN001, ANN003, ANN201
    return {"actions": list(actions), **extra}


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    plant = ReportPlant(session)
    plant.report("by_supplier", BY_SUPPLIER)
    plant.report("count_only", COUNT_ONLY)
    return plant


def expected_by_supplier(plant: ReportPlant, keep=lambda d: True, name=None) -> dict:  # noqa: ANN001
    name = name or (lambda s: plant.suppliers.get(s, {}).get("name"))
    out: dict = {}
    for d in plant.inspections:
        if keep(d):
            key = name(d.get("supplier"))
            n, qty = out.get(key, (0, 0))
            out[key] = (n + 1, qty + d["qty_inspected"])
    return out


def got_by_supplier(response) -> dict:  # noqa: ANN001
    assert response.status_code == 200, response.json
    return {r["supplier"]: (r["n"], r["qty"]) for r in response.json["rows"]}


def test_row_scope_of_the_source_limits_every_figure(plant, client):  # noqa: ANN001
    mine = list(plant.suppliers)[:2]
    plant.policy(
        "qms",
        {
            "entities": {
                "inspection": {"inspector": grant(scope="record.supplier in user.suppliers")}
            }
        },
    )
    plant.policy("erp", {"entities": {"*": {"inspector": grant()}}})
    h = plant.person("ina", ("inspector",), suppliers=mine)
    response = client.get(f"{URL}/by_supplier", headers=h)
    keep = lambda d: d.get("supplier") in mine  # noqa: E731
    assert got_by_supplier(response) == expected_by_supplier(plant, keep)
    seen = [d["qty_inspected"] for d in plant.inspections if keep(d)]
    assert response.json["totals"]["qty"] == sum(seen)
    assert response.json["totals"]["n"] == len(seen)
    everything = client.get(f"{URL}/by_supplier", headers=plant.person("boss", ("member",)))
    assert got_by_supplier(everything) == expected_by_supplier(plant)


def test_row_scope_of_a_referenced_entity_empties_its_fields(plant, client):  # noqa: ANN001
    plant.policy(
        "erp",
        {
            "entities": {
                "supplier": {"buyer": grant(scope="record.rating >= 70")},
                "country": {"buyer": grant()},
            }
        },
    )
    plant.policy("qms", {"entities": {"*": {"buyer": grant()}}})
    response = client.get(f"{URL}/by_supplier", headers=plant.person("bo", ("buyer",)))

    def name(supplier_id):  # noqa: ANN001, ANN202
        supplier = plant.suppliers.get(supplier_id)
        return supplier["name"] if supplier and supplier["rating"] >= 70 else None

    assert got_by_supplier(response) == expected_by_supplier(plant, name=name)
    assert response.json["totals"]["n"] == len(plant.inspections)


def test_a_referenced_entity_the_viewer_may_not_read_is_refused_by_path(plant, client):  # noqa: ANN001
    plant.policy("qms", {"entities": {"*": {"inspector": grant()}}})
    plant.policy("erp", {"entities": {"supplier": {"inspector": grant(actions=())}}})
    h = plant.person("ina", ("inspector",))
    refused = client.get(f"{URL}/by_supplier", headers=h)
    assert refused.status_code == 403
    assert "'supplier'" in refused.json["detail"] and "erp.supplier" in refused.json["detail"]
    assert [e["path"] for e in refused.json["errors"]] == ["/group_by/0/field"]
    assert client.get(f"{URL}/count_only", headers=h).status_code == 200
    filtered = client.get(f"{URL}/count_only?supplier.name=Acme", headers=h)
    assert filtered.status_code == 403


def test_hidden_fields_are_refused_by_name_wherever_the_report_reads_them(plant, client):  # noqa: ANN001
    plant.report(
        "costs",
        {
            "title": "Costs",
            "source": {"entity": "inspection"},
            "where": "record.cost > 10",
            "group_by": [{"field": "supplier.terms"}],
            "measures": [
                {"key": "cost", "agg": "sum", "field": "cost"},
                {"key": "n", "agg": "count"},
            ],
        },
    )
    plant.policy(
        "qms", {"entities": {"inspection": {"inspector": grant(fields={"cost": "hidden"})}}}
    )
    plant.policy(
        "erp",
        {
            "entities": {
                "supplier": {"inspector": grant(fields={"terms": "hidden"})},
                "country": {"inspector": grant()},
            }
        },
    )
    h = plant.person("ina", ("inspector",))
    refused = client.get(f"{URL}/costs", headers=h)
    assert refused.status_code == 403
    assert {e["path"] for e in refused.json["errors"]} == {
        "/group_by/0/field",
        "/measures/0/field",
        "/where",
    }
    assert "cost" in refused.json["detail"] and "terms" in refused.json["detail"]
    assert str(987.65) not in refused.get_data(as_text=True)
    # A filter on a hidden field is answered as for an unknown field, as in lists.
    hidden = client.get(f"{URL}/count_only?cost__gt=100", headers=h)
    unknown = client.get(f"{URL}/count_only?nothing__gt=100", headers=h)
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json["detail"] == "Unknown field 'cost' in filter."
    assert client.get(f"{URL}/count_only", headers=h).status_code == 200


def test_a_hidden_reference_hides_what_it_leads_to(plant, client):  # noqa: ANN001
    plant.policy(
        "qms", {"entities": {"inspection": {"inspector": grant(fields={"supplier": "hidden"})}}}
    )
    plant.policy("erp", {"entities": {"*": {"inspector": grant()}}})
    refused = client.get(f"{URL}/by_supplier", headers=plant.person("ina", ("inspector",)))
    assert refused.status_code == 403 and refused.json["errors"][0]["path"] == "/group_by/0/field"


def test_no_read_right_on_the_source(plant, client):  # noqa: ANN001
    plant.policy("qms", {"entities": {"inspection": {"auditor": grant(actions=())}}})
    refused = client.get(f"{URL}/count_only", headers=plant.person("au", ("auditor",)))
    assert refused.status_code == 403
    assert refused.json["detail"] == "You may not read 'qms.inspection' records."


def test_downloads_need_the_export_right_everywhere(plant, client):  # noqa: ANN001
    plant.policy("qms", {"entities": {"*": {"inspector": grant(("read", "export"))}}})
    plant.policy("erp", {"entities": {"*": {"inspector": grant()}}})
    h = plant.person("ina", ("inspector",))
    assert client.get(f"{URL}/by_supplier", headers=h).status_code == 200
    assert client.get(f"{URL}/count_only.csv", headers=h).status_code == 200
    refused = client.get(f"{URL}/by_supplier.csv", headers=h)
    assert refused.status_code == 403 and "export" in refused.json["detail"]


def test_a_token_limited_to_one_app_cannot_follow_references_out_of_it(plant, client, session):  # noqa: ANN001
    user, _ = factories.member(session, plant.ws, "scripts", ("member",))
    token = issue_token(session, user, plant.ws, "qms only", app_keys=["qms"])
    session.commit()
    h = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{URL}/count_only", headers=h).status_code == 200
    refused = client.get(f"{URL}/by_supplier", headers=h)
    assert refused.status_code == 403 and "erp.supplier" in refused.json["detail"]


def test_workspaces_are_apart(plant, client, session):  # noqa: ANN001
    other = ReportPlant(session, n=20, seed=3, key="other")
    other.report("count_only", COUNT_ONLY)
    outsider = other.person("olga", ("member",))
    mine = client.get(f"{URL}/count_only", headers=outsider)
    assert sum(r["n"] for r in mine.json["rows"]) == 20
    assert client.get(f"{URL}/by_supplier", headers=outsider).status_code == 404
    missing = client.get(f"{URL}/nothing", headers=outsider)
    assert client.get(f"{URL}/by_supplier", headers=outsider).json == missing.json | {
        "detail": "No report 'qms.by_supplier'."
    }
    ours = client.get(f"{URL}/count_only", headers=plant.person("ann", ("member",)))
    assert sum(r["n"] for r in ours.json["rows"]) == len(plant.inspections)


def test_the_condition_of_a_report_may_read_the_viewer(plant, client):  # noqa: ANN001
    mine = list(plant.suppliers)[1:3]
    plant.report("mine", {**COUNT_ONLY, "where": "record.supplier in user.suppliers"})
    response = client.get(f"{URL}/mine", headers=plant.person("ina", ("member",), suppliers=mine))
    seen = [d for d in plant.inspections if d.get("supplier") in mine]
    assert sum(r["n"] for r in response.json["rows"]) == len(seen)
    broken = client.get(f"{URL}/mine", headers=plant.person("ned", ("member",)))
    assert broken.status_code == 409 and broken.json["errors"][0]["path"] == "/where"
