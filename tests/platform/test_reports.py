"""Report results against the same figures computed independently with plain pandas from the
seed data: group-by with date buckets, joins across apps, child-table rows, medians and
percentiles, PPM, pivots, top-N with "other", Pareto shares and totals."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from jizuo.platform.report_engine import run_report
from tests.report_plant import ReportPlant, bucket


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    return ReportPlant(session)


def run(plant: ReportPlant, body: dict, params: dict | None = None, actor=None):  # noqa: ANN001, ANN201
    plant.report("r", body)
    return run_report(plant.session, actor or plant.admin, "qms", "r", params or {})


def rows_by(result, *keys: str) -> dict:  # noqa: ANN001
    return {tuple(row[k] for k in keys): row for row in result.rows}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return (a is None) and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def none_if_nan(value):  # noqa: ANN001, ANN201
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def test_group_by_a_joined_field_and_a_month_with_sql_measures(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "By supplier and month",
            "source": {"entity": "inspection"},
            "group_by": [
                {"field": "supplier.name", "key": "supplier"},
                {"field": "date", "bucket": "month"},
            ],
            "measures": [
                {"key": "n", "agg": "count"},
                {"key": "qty", "agg": "sum", "field": "qty_inspected"},
                {"key": "mean", "agg": "avg", "field": "measured"},
                {"key": "low", "agg": "min", "field": "measured"},
                {"key": "high", "agg": "max", "field": "date"},
                {"key": "failing", "agg": "count", "field": "measured"},
                {"key": "results", "agg": "count_distinct", "field": "result"},
            ],
        },
    )
    df = plant.frame()
    df["month"] = df["date"].map(lambda d: bucket(d, "month"))
    expected = df.groupby(["supplier_name", "month"], dropna=False).agg(
        n=("id", "size"),
        qty=("qty_inspected", "sum"),
        mean=("measured", "mean"),
        low=("measured", "min"),
        high=("date", "max"),
        failing=("measured", "count"),
        results=("result", "nunique"),
    )
    got = rows_by(result, "supplier", "date_month")
    assert len(got) == len(expected)
    for (supplier, month), row in expected.iterrows():
        found = got[(none_if_nan(supplier), month)]
        assert found["n"] == row["n"] and found["qty"] == row["qty"]
        assert close(found["mean"], row["mean"]) and close(found["low"], row["low"])
        assert found["high"] == row["high"]
        assert found["failing"] == row["failing"] and found["results"] == row["results"]
    assert [c.key for c in result.columns] == [
        "supplier",
        "date_month",
        "n",
        "qty",
        "mean",
        "low",
        "high",
        "failing",
        "results",
    ]
    types = {c.key: c.type for c in result.columns}
    assert types["date_month"] == "date" and types["qty"] == "integer" and types["high"] == "date"
    assert result.columns[1].title == {"en": "Date (month)", "zh": "日期（月）"}
    # Groups in key order, empty supplier last.
    keys = [(r["supplier"] is None, r["supplier"] or "", r["date_month"]) for r in result.rows]
    assert keys == sorted(keys)


@pytest.mark.parametrize("size", ["day", "week", "month", "quarter", "year"])
def test_date_buckets_of_dates_and_date_times(plant, size):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Buckets",
            "source": {"entity": "inspection"},
            "group_by": [
                {"field": "date", "bucket": size, "key": "on"},
                {"field": "inspected_at", "bucket": size, "key": "at"},
            ],
            "measures": [{"key": "n", "agg": "count"}],
        },
    )
    df = plant.frame()
    df["on"] = df["date"].map(lambda d: bucket(d, size))
    df["at"] = df["utc_day"].map(lambda d: bucket(d, size))
    expected = df.groupby(["on", "at"]).size()
    assert {(r["on"], r["at"]): r["n"] for r in result.rows} == expected.to_dict()


def test_child_table_rows_as_the_grain(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Defects by code",
            "source": {"entity": "qms.inspection", "rows": "defects"},
            "group_by": [{"field": "defects.code", "key": "code"}],
            "measures": [
                {"key": "lines", "agg": "count"},
                {"key": "defects", "agg": "sum", "field": "defects.count"},
                {"key": "inspections", "agg": "count_distinct", "field": "id"},
                {"key": "heaviest", "agg": "max", "field": "defects.part.weight"},
                {"key": "suppliers", "agg": "count_distinct", "field": "supplier.name"},
            ],
        },
    )
    lines = plant.defect_frame()
    expected = lines.groupby("code").agg(
        lines=("code", "size"),
        defects=("count", "sum"),
        inspections=("id", "nunique"),
        heaviest=("weight", "max"),
        suppliers=("supplier_name", "nunique"),
    )
    got = rows_by(result, "code")
    assert set(got) == {(code,) for code in expected.index}
    for code, row in expected.iterrows():
        found = got[(code,)]
        assert found["lines"] == row["lines"] and found["defects"] == row["defects"]
        assert found["inspections"] == row["inspections"]
        assert close(found["heaviest"], row["heaviest"])
        assert found["suppliers"] == row["suppliers"]


def test_ppm_from_child_rows_summed_per_inspection(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "PPM by supplier",
            "source": {"entity": "inspection"},
            "group_by": [{"field": "supplier.name", "key": "supplier"}],
            "measures": [
                {"key": "defects", "agg": "sum", "field": "defects.count"},
                {"key": "lines", "agg": "count", "field": "defects.code"},
                {"key": "inspected", "agg": "sum", "field": "qty_inspected"},
                {
                    "key": "ppm",
                    "agg": "ratio",
                    "numerator": "defects",
                    "denominator": "inspected",
                    "scale": 1_000_000,
                },
            ],
            "totals": True,
        },
    )
    df = plant.frame()
    expected = df.groupby("supplier_name", dropna=False).agg(
        defects=("defect_count", "sum"),
        lines=("defect_lines", "sum"),
        inspected=("qty_inspected", "sum"),
    )
    expected["ppm"] = expected["defects"] / expected["inspected"] * 1_000_000
    got = rows_by(result, "supplier")
    for supplier, row in expected.iterrows():
        found = got[(none_if_nan(supplier),)]
        assert found["inspected"] == row["inspected"] and found["lines"] == row["lines"]
        assert (found["defects"] or 0) == row["defects"]
        assert close(found["ppm"], row["ppm"])
    total_ppm = df["defect_count"].sum() / df["qty_inspected"].sum() * 1_000_000
    assert result.totals["inspected"] == df["qty_inspected"].sum()
    assert close(result.totals["ppm"], total_ppm)


def test_median_percentile_and_standard_deviation_per_group(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Spread",
            "source": {"entity": "inspection"},
            "group_by": [{"field": "result"}],
            "measures": [
                {"key": "median", "agg": "median", "field": "measured"},
                {"key": "p90", "agg": "percentile", "field": "measured", "percentile": 90},
                {"key": "sd", "agg": "stddev", "field": "measured"},
                {"key": "p25", "agg": "percentile", "field": "qty_inspected", "percentile": 25},
            ],
            "totals": True,
        },
    )
    df = plant.frame()
    grouped = df.groupby("result")
    got = rows_by(result, "result")
    for name, part in grouped:
        found = got[(name,)]
        assert close(found["median"], part["measured"].median())
        assert close(found["p90"], part["measured"].quantile(0.9))
        assert close(found["sd"], part["measured"].std(ddof=1))
        assert close(found["p25"], part["qty_inspected"].quantile(0.25))
    assert close(result.totals["median"], df["measured"].median())
    assert close(result.totals["sd"], df["measured"].std(ddof=1))


def test_pivot_of_months_by_defect_code(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Pivot",
            "source": {"entity": "inspection", "rows": "defects"},
            "group_by": [{"field": "date", "bucket": "quarter", "key": "quarter"}],
            "pivot": {"field": "defects.code", "key": "code"},
            "measures": [
                {"key": "defects", "agg": "sum", "field": "defects.count"},
                {"key": "lines", "agg": "count"},
            ],
            "totals": True,
        },
    )
    lines = plant.defect_frame()
    lines["quarter"] = lines["date"].map(lambda d: bucket(d, "quarter"))
    expected = lines.pivot_table(index="quarter", columns="code", values="count", aggfunc="sum")
    counts = lines.pivot_table(index="quarter", columns="code", values="count", aggfunc="size")
    codes = sorted(lines["code"].unique())
    assert [c.key for c in result.columns] == (
        ["quarter"] + [f"defects:{c}" for c in codes] + [f"lines:{c}" for c in codes]
    )
    assert [row["quarter"] for row in result.rows] == list(expected.index)
    for row in result.rows:
        for code in codes:
            want = expected.loc[row["quarter"], code]
            assert row[f"defects:{code}"] == (None if math.isnan(want) else want)
            size = counts.loc[row["quarter"], code]
            assert row[f"lines:{code}"] == (0 if math.isnan(size) else size)
    by_code = lines.groupby("code")["count"].sum()
    assert {c: result.totals[f"defects:{c}"] for c in codes} == by_code.to_dict()
    assert result.long_rows[0].keys() >= {"quarter", "code", "defects", "lines"}


def test_pareto_with_top_n_and_other(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Pareto",
            "source": {"entity": "inspection", "rows": "defects"},
            "group_by": [{"field": "defects.code", "key": "code"}],
            "measures": [
                {"key": "defects", "agg": "sum", "field": "defects.count"},
                {"key": "inspections", "agg": "count_distinct", "field": "id"},
                {"key": "median", "agg": "median", "field": "defects.count"},
            ],
            "top": {"n": 3, "by": "defects", "other": True},
            "pareto": {"measure": "defects"},
            "chart": {"type": "pareto", "x": "code", "y": "defects"},
        },
    )
    lines = plant.defect_frame()
    sums = lines.groupby("code")["count"].sum()
    ranked = sums.reset_index().sort_values(["count", "code"], ascending=[False, True])
    top = list(ranked["code"][:3])
    rest = lines[~lines["code"].isin(top)]
    assert [row["code"] for row in result.rows] == [*top, "Other"] and result.has_other
    other = result.rows[-1]
    assert other["defects"] == rest["count"].sum()
    assert other["inspections"] == rest["id"].nunique()
    assert close(other["median"], rest["count"].median())
    shares = pd.Series([*sums[top], rest["count"].sum()]).cumsum() / lines["count"].sum() * 100
    assert all(
        close(row["cumulative_percent"], s) for row, s in zip(result.rows, shares, strict=True)
    )
    assert close(result.rows[-1]["cumulative_percent"], 100.0)
    assert result.columns[-1].key == "cumulative_percent"


def test_filters_where_expression_and_query_parameters(plant):  # noqa: ANN001
    body = {
        "title": "Failures",
        "source": {"entity": "inspection"},
        "filters": [
            {"field": "date", "op": "gte", "value": "2024-02-01"},
            {"field": "supplier.country.code", "op": "in", "value": ["CN", "DE"]},
        ],
        "where": "record.qty_inspected >= 500 and not record.urgent",
        "group_by": [{"field": "supplier.country.code", "key": "country"}],
        "measures": [
            {"key": "n", "agg": "count"},
            {"key": "qty", "agg": "sum", "field": "qty_inspected"},
        ],
    }
    result = run(plant, body, {"result": "fail", "supplier.rating__lte": "70"})
    df = plant.frame()
    df["rating"] = df["supplier"].map(lambda s: plant.suppliers.get(s, {}).get("rating"))
    chosen = df[
        (df["date"] >= "2024-02-01")
        & df["country_code"].isin(["CN", "DE"])
        & (df["qty_inspected"] >= 500)
        & ~df["urgent"]
        & (df["result"] == "fail")
        & (df["rating"] <= 70)
    ]
    expected = chosen.groupby("country_code").agg(n=("id", "size"), qty=("qty_inspected", "sum"))
    assert {r["country"]: (r["n"], r["qty"]) for r in result.rows} == {
        code: (row["n"], row["qty"]) for code, row in expected.iterrows()
    }


def test_child_row_filters_and_no_grouping(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Any D1",
            "source": {"entity": "inspection"},
            "filters": [{"field": "defects.code", "op": "eq", "value": "D1"}],
            "measures": [
                {"key": "n", "agg": "count"},
                {"key": "urgent", "agg": "count_distinct", "field": "urgent"},
            ],
        },
        {"tags__null": "true"},
    )
    with_d1 = [d for d in plant.inspections if any(x["code"] == "D1" for x in d.get("defects", []))]
    assert result.rows == [{"n": len(with_d1), "urgent": len({d["urgent"] for d in with_d1})}]


def test_top_n_without_other_sorted_otherwise(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Top two suppliers by quantity, by name",
            "source": {"entity": "inspection"},
            "group_by": [{"field": "supplier.name", "key": "supplier"}],
            "measures": [{"key": "qty", "agg": "sum", "field": "qty_inspected"}],
            "top": {"n": 2, "by": "qty"},
            "sort": [{"key": "supplier", "direction": "desc"}],
        },
    )
    df = plant.frame()
    sums = df.groupby("supplier_name", dropna=False)["qty_inspected"].sum()
    top = sorted(sums.sort_values(ascending=False).index[:2], reverse=True)
    assert [row["supplier"] for row in result.rows] == top and not result.has_other


def test_an_empty_report_and_empty_totals(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Nothing",
            "source": {"entity": "inspection"},
            "filters": [{"field": "qty_inspected", "op": "lt", "value": 0}],
            "group_by": [{"field": "result"}],
            "measures": [
                {"key": "n", "agg": "count"},
                {"key": "m", "agg": "median", "field": "measured"},
            ],
            "totals": True,
        },
    )
    assert result.rows == [] and result.totals == {"n": 0, "m": None}


def test_other_row_of_groups_with_an_empty_key(plant):  # noqa: ANN001
    """The empty supplier is a group like any other: in the top or in "other"."""
    for n in (1, 4):
        result = run(
            plant,
            {
                "title": "Suppliers",
                "source": {"entity": "inspection"},
                "group_by": [{"field": "supplier.name", "key": "supplier"}],
                "measures": [
                    {"key": "qty", "agg": "sum", "field": "qty_inspected"},
                    {"key": "days", "agg": "count_distinct", "field": "date"},
                    {"key": "sd", "agg": "stddev", "field": "measured"},
                ],
                "top": {
                    "n": n,
                    "by": "qty",
                    "other": True,
                    "other_label": {"en": "Rest", "zh": "其余"},
                },
            },
        )
        df = plant.frame()
        df["supplier_name"] = df["supplier_name"].fillna("(none)")
        sums = df.groupby("supplier_name")["qty_inspected"].sum().sort_values(ascending=False)
        top = list(sums.index[:n])
        rest = df[~df["supplier_name"].isin(top)]
        assert [r["supplier"] or "(none)" for r in result.rows[:-1]] == top
        other = result.rows[-1]
        assert other["supplier"] == "Rest" and result.has_other
        assert other["qty"] == rest["qty_inspected"].sum()
        assert other["days"] == rest["date"].nunique()
        assert close(other["sd"], rest["measured"].std(ddof=1))


def test_yes_no_groups_system_columns_and_averages_of_child_rows(plant):  # noqa: ANN001
    result = run(
        plant,
        {
            "title": "Urgent",
            "source": {"entity": "inspection", "rows": "defects"},
            "group_by": [{"field": "urgent"}, {"field": "created_at", "bucket": "day"}],
            "measures": [
                {"key": "mean", "agg": "avg", "field": "defects.count"},
                {"key": "first", "agg": "min", "field": "created_at"},
                {"key": "parts", "agg": "count", "field": "defects.part"},
            ],
        },
    )
    lines = plant.defect_frame()
    lines["urgent"] = lines["id"].map({d["id"]: d["urgent"] for d in plant.inspections})
    lines["part"] = [line.get("part") for d in plant.inspections for line in d.get("defects", [])]
    expected = lines.groupby("urgent").agg(mean=("count", "mean"), parts=("part", "count"))
    assert {r["urgent"] for r in result.rows} == {True, False}
    assert {type(r["created_at_day"]) for r in result.rows} == {str}
    days = {r["created_at_day"] for r in result.rows}
    assert len(days) <= 2  # seeded just now: today (or yesterday and today) in UTC
    for urgent, row in expected.iterrows():
        found = [r for r in result.rows if r["urgent"] == urgent]
        total = sum(r["parts"] for r in found)
        assert total == row["parts"]
        if len(found) == 1:
            assert close(found[0]["mean"], row["mean"])
        assert all(r["first"].startswith(r["created_at_day"]) for r in found)


def test_csv_of_a_pivot_with_totals(plant):  # noqa: ANN001
    from jizuo.platform.report_csv import report_csv

    result = run(
        plant,
        {
            "title": "Pivot",
            "source": {"entity": "inspection"},
            "group_by": [
                {
                    "field": "supplier.name",
                    "key": "supplier",
                    "title": {"en": "Supplier", "zh": "供应商"},
                }
            ],
            "pivot": {"field": "result"},
            "measures": [{"key": "n", "agg": "count", "title": {"en": "N", "zh": "数"}}],
            "totals": True,
        },
    )
    text = report_csv(result, "zh").decode()
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == "供应商,数 · fail,数 · pass"
    df = plant.frame()
    counts = df.groupby("result").size()
    assert lines[-1] == f"合计,{counts['fail']},{counts['pass']}"
    assert len(lines) == len(result.rows) + 2
