"""The report API: definitions checked with every problem at once, results as JSON and CSV,
query-parameter filters, and the refusals (unknown or unpublished report, bad parameters)."""

from __future__ import annotations

import csv
import io

import pytest

from jizuo.platform.records import RecordStore
from tests import factories
from tests.report_plant import INSPECTION, ReportPlant

URL = "/api/v1/apps/qms/reports"
DEFECTS = {
    "title": {"en": "Defects by supplier", "zh": "供应商缺陷"},
    "source": {"entity": "inspection", "rows": "defects"},
    "group_by": [{"field": "supplier.name", "key": "supplier"}],
    "measures": [
        {
            "key": "defects",
            "agg": "sum",
            "field": "defects.count",
            "title": {"en": "Defects", "zh": "缺陷数"},
        },
        {"key": "lines", "agg": "count"},
    ],
    "totals": True,
    "chart": {
        "type": "bar",
        "x": "supplier",
        "y": "defects",
        "rules": [{"value": 40, "label": {"en": "Limit", "zh": "上限"}}],
    },
}


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    plant = ReportPlant(session, n=60)
    plant.report("defects", DEFECTS)
    return plant


@pytest.fixture
def admin(plant):  # noqa: ANN001, ANN201
    return plant.person("ada", ("admin",))


def test_results_as_json(plant, client, admin):  # noqa: ANN001
    response = client.get(f"{URL}/defects", headers=admin)
    assert response.status_code == 200
    body = response.json
    assert body["report"] == "defects" and body["version"] == 1
    assert body["title"] == {"en": "Defects by supplier", "zh": "供应商缺陷"}
    assert [c["key"] for c in body["columns"]] == ["supplier", "defects", "lines"]
    assert body["columns"][1] == {
        "key": "defects",
        "title": {"en": "Defects", "zh": "缺陷数"},
        "type": "integer",
        "role": "measure",
    }
    expected: dict = {}
    for d in plant.inspections:
        name = plant.suppliers.get(d.get("supplier"), {}).get("name")
        for line in d.get("defects", []):
            total, lines = expected.get(name, (0, 0))
            expected[name] = (total + line["count"], lines + 1)
    assert {r["supplier"]: (r["defects"], r["lines"]) for r in body["rows"]} == expected
    assert body["totals"] == {
        "defects": sum(t for t, _ in expected.values()),
        "lines": sum(n for _, n in expected.values()),
    }
    assert body["chart"]["type"] == "bar" and body["has_other"] is False


def test_results_as_csv_in_the_viewers_language(plant, client, admin, session):  # noqa: ANN001
    supplier = (
        RecordStore(session, plant.admin)
        .entity("erp", "supplier")
        .create({"name": "=HYPERLINK(1)"})
    )
    inspection = {
        "date": "2024-01-02",
        "result": "fail",
        "qty_inspected": 5,
        "supplier": supplier.id,
        "defects": [{"code": "D9", "count": 2}],
    }
    RecordStore(session, plant.admin).entity("qms", "inspection").create(inspection)
    session.commit()
    response = client.get(f"{URL}/defects.csv?lang=zh", headers=admin)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="qms-defects.csv"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0] == ["供应商", "缺陷数", "计数"]
    json_rows = client.get(f"{URL}/defects", headers=admin).json["rows"]
    assert len(table) == len(json_rows) + 2
    assert ["'=HYPERLINK(1)", "2", "1"] in table
    assert table[-1][0] == "合计"
    english = client.get(f"{URL}/defects.csv", headers={**admin, "Accept-Language": "en"})
    assert english.get_data(as_text=True).splitlines()[-1].startswith("Total,")


def test_query_parameters_narrow_the_report(plant, client, admin):  # noqa: ANN001
    whole = client.get(f"{URL}/defects", headers=admin).json["rows"]
    narrowed = client.get(
        f"{URL}/defects?supplier.name=Acme&defects.code__in=D1,D2", headers=admin
    ).json["rows"]
    expected = sum(
        line["count"]
        for d in plant.inspections
        if plant.suppliers.get(d.get("supplier"), {}).get("name") == "Acme"
        for line in d.get("defects", [])
        if line["code"] in ("D1", "D2")
    )
    assert [r["supplier"] for r in narrowed] == ["Acme"] and len(whole) > 1
    assert narrowed[0]["defects"] == expected


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("nothing=1", "nothing"),
        ("supplier.nothing=1", "supplier.nothing"),
        ("qty_inspected__gte=lots", "qty_inspected"),
        ("qty_inspected__about=3", "qty_inspected__about"),
        ("defects=1", "defects"),
        ("date=a&date=b", None),
        ("lang=fr", None),
        ("result=%00", None),
    ],
)
def test_bad_query_parameters_are_a_400(plant, client, admin, query, path):  # noqa: ANN001
    response = client.get(f"{URL}/defects?{query}", headers=admin)
    assert response.status_code == 400, response.json
    assert response.mimetype == "application/problem+json"
    if path is not None:
        assert response.json["errors"][0]["path"] == path


def test_unknown_unpublished_and_switched_off_reports_are_404(plant, client, admin):  # noqa: ANN001
    assert client.get(f"{URL}/nothing", headers=admin).status_code == 404
    assert client.get("/api/v1/apps/nope/reports/defects", headers=admin).status_code == 404
    assert client.get(f"{URL}/nothing.csv", headers=admin).status_code == 404
    assert client.get(f"{URL}/defects.xyz", headers=admin).status_code == 404
    draft = client.put(f"{URL}/later/draft", json=DEFECTS, headers=admin)
    assert draft.status_code == 200
    assert client.get(f"{URL}/later", headers=admin).status_code == 404
    off = client.post(f"{URL}/defects/enabled", json={"enabled": False}, headers=admin)
    assert off.status_code == 200
    assert client.get(f"{URL}/defects", headers=admin).status_code == 404
    # The definition itself stays reachable.
    shown = client.get(f"{URL}/defects/definition", headers=admin)
    assert shown.status_code == 200 and shown.json["definition"]["title"] == DEFECTS["title"]
    assert client.get(f"{URL}/later/definition", headers=admin).json["draft"] is not None


def test_a_bad_definition_is_refused_with_every_problem_at_once(plant, client, admin):  # noqa: ANN001
    shape = client.put(
        f"{URL}/bad/draft",
        json={
            "source": {"entity": "inspection", "extra": 1},
            "measures": [{"key": "Bad Key", "agg": "mode"}],
            "chart": {"type": "radar", "x": "a"},
        },
        headers=admin,
    )
    assert shape.status_code == 422
    paths = {e["path"] for e in shape.json["errors"]}
    assert {"", "/source", "/measures/0/key", "/measures/0/agg", "/chart/type"} <= paths
    meaning = client.put(
        f"{URL}/bad/draft",
        json={
            "title": "Bad",
            "source": {"entity": "inspection"},
            "filters": [
                {"field": "qty_inspected", "op": "gte", "value": "many"},
                {"field": "result", "op": "contains"},
                {"field": "nothing", "op": "eq", "value": 1},
                {"field": "date", "op": "gte", "value": "soon"},
            ],
            "where": "record.colour == 'red'",
            "group_by": [
                {"field": "supplier.nothing"},
                {"field": "result", "bucket": "month"},
                {"field": "defects.code"},
                {"field": "supplier.country.code", "key": "n"},
            ],
            "measures": [
                {"key": "n", "agg": "count"},
                {"key": "avg_code", "agg": "avg", "field": "result"},
                {"key": "p", "agg": "percentile", "field": "measured"},
                {"key": "r", "agg": "ratio", "numerator": "n", "denominator": "missing"},
                {"key": "med", "agg": "median", "field": "defects.count"},
            ],
            "sort": [{"key": "nothing"}],
            "pareto": {"measure": "r"},
            "chart": {"type": "line", "x": "nowhere", "y": ["n", "gone"], "bins": 5},
        },
        headers=admin,
    )
    assert meaning.status_code == 422
    paths = [e["path"] for e in meaning.json["errors"]]
    assert set(paths) == {
        "/filters/0/value",
        "/filters/1/value",
        "/filters/2/field",
        "/filters/3/value",
        "/where",
        "/group_by/0/field",
        "/group_by/1/bucket",
        "/group_by/2/field",
        "/measures/0/key",
        "/measures/1/field",
        "/measures/2",
        "/measures/3/denominator",
        "/measures/4/field",
        "/sort/0/key",
        "/pareto/measure",
        "/sort",
        "/chart/x",
        "/chart/y/1",
        "/chart/bins",
    }, paths
    messages = {e["path"]: e["message"] for e in meaning.json["errors"]}
    assert messages["/group_by/0/field"].startswith("'supplier' has no field 'nothing'")
    assert client.get(f"{URL}/bad/definition", headers=admin).status_code == 404
    designer_only = client.put(
        f"{URL}/other/draft", json=DEFECTS, headers=plant.person("mo", ("member",))
    )
    assert designer_only.status_code == 403


@pytest.mark.parametrize(
    ("source", "path", "message"),
    [
        ({"entity": "nowhere"}, "/source/entity", "there is no entity 'qms.nowhere'"),
        ({"entity": "erp.country", "rows": "x"}, "/source/rows", "has no child table 'x'"),
        ({"entity": "inspection", "rows": "result"}, "/source/rows", "no child table"),
    ],
)
def test_sources_are_checked(plant, client, admin, source, path, message):  # noqa: ANN001
    body = {"title": "S", "source": source, "measures": [{"key": "n", "agg": "count"}]}
    response = client.put(f"{URL}/s/draft", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json["errors"][0]["path"] == path
    assert message in response.json["errors"][0]["message"]


@pytest.mark.parametrize(
    ("measure", "message"),
    [
        ({"agg": "sum", "field": "qty_inspected"}, "repeated on each 'defects' row"),
        ({"agg": "avg", "field": "supplier.rating"}, "repeated on each 'defects' row"),
        ({"agg": "sum", "field": "tags"}, "holds array values"),
        ({"agg": "min", "field": "urgent"}, "yes/no"),
        ({"agg": "count_distinct"}, "needs a 'field'"),
    ],
)
def test_measures_that_would_miscount_are_refused(plant, client, admin, measure, message):  # noqa: ANN001
    body = {
        "title": "M",
        "source": {"entity": "inspection", "rows": "defects"},
        "measures": [{"key": "m", **measure}],
    }
    response = client.put(f"{URL}/m/draft", json=body, headers=admin)
    assert response.status_code == 422
    assert message in response.json["errors"][0]["message"]


def test_a_report_that_no_longer_fits_its_entity_says_why(plant, client, admin, session):  # noqa: ANN001
    plant.report(
        "measured",
        {
            "title": "Measured",
            "source": {"entity": "inspection"},
            "measures": [{"key": "mean", "agg": "avg", "field": "measured"}],
        },
    )
    changed = {
        **INSPECTION,
        "schema": {
            **INSPECTION["schema"],
            "properties": {
                k: v for k, v in INSPECTION["schema"]["properties"].items() if k != "measured"
            },
        },
    }
    factories.published(session, plant.admin, "qms", changed, {"drop": ["measured"]})
    response = client.get(f"{URL}/measured", headers=admin)
    assert response.status_code == 409
    assert response.json["errors"][0]["path"] == "/measures/0/field"


def test_reports_are_in_the_openapi_document(plant, client, admin):  # noqa: ANN001
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json", headers=admin).json
    validate(doc)
    assert doc["paths"]["/api/v1/apps/{app}/reports/{key}"]["get"]["operationId"] == "run_report"
    csv_path = doc["paths"]["/api/v1/apps/{app}/reports/{key}.csv"]["get"]
    assert "text/csv" in csv_path["responses"]["200"]["content"]


@pytest.mark.parametrize(
    ("chart", "path"),
    [
        ({"type": "bar", "x": "supplier", "y": "supplier"}, "/chart/y"),
        ({"type": "histogram", "x": "supplier"}, "/chart/x"),
        ({"type": "pie", "x": "supplier", "y": ["defects", "lines"]}, "/chart/y"),
        ({"type": "line", "x": "supplier", "y": "defects", "rules": [{"value": "nothing"}]},
         "/chart/rules/0/value"),
    ],
)  # fmt: skip
def test_charts_are_checked_against_the_reports_columns(plant, client, admin, chart, path):  # noqa: ANN001
    response = client.put(f"{URL}/charted/draft", json={**DEFECTS, "chart": chart}, headers=admin)
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == [path]
    rule = {"type": "line", "x": "supplier", "y": "defects", "rules": [{"value": "lines"}]}
    accepted = client.put(f"{URL}/charted/draft", json={**DEFECTS, "chart": rule}, headers=admin)
    assert accepted.status_code == 200
