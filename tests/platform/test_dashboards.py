"""Dashboards: number cards and their previous period checked against pandas on the seeded
plant, the shared date range on chart tiles, tiles the viewer may not see, checker refusals."""

from __future__ import annotations

from datetime import date

import pytest

from jizuo.platform import definitions
from jizuo.platform.dashboards import DateRange, change, date_range, show_dashboard
from jizuo.platform.errors import BadRequest, ValidationFailed
from tests import factories
from tests.report_plant import ReportPlant

TOTALS = {
    "title": "Inspections",
    "source": {"entity": "inspection"},
    "measures": [
        {"key": "n", "agg": "count", "title": "Inspections"},
        {"key": "qty", "agg": "sum", "field": "qty_inspected"},
        {"key": "mean", "agg": "avg", "field": "measured"},
    ],
}
BY_MONTH = {
    "title": "By month",
    "source": {"entity": "inspection"},
    "group_by": [{"field": "date", "bucket": "month", "key": "month"}],
    "measures": [{"key": "n", "agg": "count"}],
    "totals": True,
    "chart": {"type": "bar", "x": "month", "y": "n"},
}
BY_SUPPLIER = {
    "title": "By supplier",
    "source": {"entity": "inspection"},
    "group_by": [{"field": "supplier.name", "key": "supplier"}],
    "measures": [{"key": "n", "agg": "count"}],
    "chart": {"type": "bar", "x": "supplier", "y": "n"},
}
DASHBOARD = {
    "title": {"en": "Incoming quality", "zh": "来料质量"},
    "range": {"days": 30},
    "tiles": [
        {"type": "chart", "report": "by_month", "w": 8},
        {"type": "number", "report": "totals", "measure": "n", "date_field": "date"},
        {"type": "number", "report": "qms.totals", "measure": "qty", "date_field": "date"},
        {"type": "number", "report": "totals", "measure": "mean", "date_field": "date"},
        {"type": "chart", "report": "by_supplier", "title": "All time"},
    ],
}
TODAY = date(2024, 4, 30)


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    plant = ReportPlant(session, n=200)
    plant.report("totals", TOTALS)
    plant.report("by_month", BY_MONTH)
    plant.report("by_supplier", BY_SUPPLIER)
    definitions.save_draft_definition(
        session, plant.admin, "qms", "dashboard", "quality", DASHBOARD
    )
    definitions.publish_definition(session, plant.admin, "qms", "dashboard", "quality")
    session.commit()
    return plant


def expected(plant: ReportPlant, period: DateRange) -> dict:
    frame = plant.frame()
    inside = frame[
        (frame["date"] >= period.start.isoformat()) & (frame["date"] <= period.end.isoformat())
    ]
    return {"n": len(inside), "qty": int(inside["qty_inspected"].sum()), "mean": inside["measured"].mean()}  # fmt: skip


def test_number_cards_compare_with_the_previous_period(plant, session):  # noqa: ANN001
    view = show_dashboard(session, plant.admin, "qms", "quality", today=TODAY)
    assert view.range == DateRange(date(2024, 4, 1), TODAY)
    now, before = (
        expected(plant, view.range),
        expected(plant, DateRange(date(2024, 3, 2), date(2024, 3, 31))),
    )
    assert view.range.previous() == DateRange(date(2024, 3, 2), date(2024, 3, 31))
    cards = [t for t in view.tiles if t.kind == "number"]
    assert [t.unavailable for t in cards] == [None, None, None]
    assert (cards[0].value, cards[0].previous) == (now["n"], before["n"]) and now["n"] > 0
    assert cards[0].change == pytest.approx((now["n"] - before["n"]) / before["n"] * 100)
    assert (cards[1].value, cards[1].previous) == (now["qty"], before["qty"])
    assert cards[2].value == pytest.approx(now["mean"]) and cards[2].previous == pytest.approx(
        before["mean"]
    )
    assert cards[0].title == {"en": "Inspections", "zh": "Inspections"}
    assert cards[0].number_type == "integer"


def test_a_chosen_range_narrows_every_tile(plant, session):  # noqa: ANN001
    view = show_dashboard(session, plant.admin, "qms", "quality", "2024-01-01", "2024-02-29")
    chart, by_supplier = view.tiles[0], view.tiles[4]
    months = {v["month"]: v["n"] for v in chart.spec["data"]["values"]}
    frame = plant.frame()
    assert months == {
        "2024-01-01": int((frame["date"].str[:7] == "2024-01").sum()),
        "2024-02-01": int((frame["date"].str[:7] == "2024-02").sum()),
    }
    assert chart.dated and chart.params == {"date__gte": "2024-01-01", "date__lt": "2024-03-01"}
    assert not by_supplier.dated  # no date group-by and none named: over all dates
    assert sum(v["n"] for v in by_supplier.spec["data"]["values"]) == len(plant.inspections)
    assert view.tiles[1].value == expected(plant, view.range)["n"]


def test_tiles_the_viewer_may_not_see_say_so(plant, session):  # noqa: ANN001
    plant.policy("erp", {"entities": {"*": {"inspector": {"actions": []}}}})
    plant.policy("qms", {"entities": {"*": {"inspector": {"actions": ["read"], "fields": {}}},
                                      "inspection": {"inspector": {"actions": ["read"],
                                                     "fields": {"measured": "hidden"}}}}})  # fmt: skip
    _, user_actor = factories.member(session, plant.ws, "ina", ("inspector",))
    view = show_dashboard(session, user_actor, "qms", "quality", today=TODAY)
    # The totals report reads a hidden field, the supplier report an unreadable entity.
    assert [t.unavailable for t in view.tiles] == [None, *["forbidden"] * 4]
    assert view.tiles[1].value is None and view.tiles[4].spec is None
    assert (
        sum(v["n"] for v in view.tiles[0].spec["data"]["values"])
        == expected(plant, view.range)["n"]
    )


def test_date_ranges():
    assert date_range(None, None, 7, TODAY) == DateRange(date(2024, 4, 24), TODAY)
    assert date_range("2024-02-01", None, 7, TODAY) == DateRange(date(2024, 2, 1), date(2024, 2, 7))
    assert date_range(None, "2024-02-07", 7, TODAY).start == date(2024, 2, 1)
    for start, end in (
        ("2024-13-01", None),
        ("2024-02-02", "2024-02-01"),
        ("2000-01-01", "2024-01-01"),
    ):
        with pytest.raises(BadRequest):
            date_range(start, end, 7, TODAY)
    assert (
        change(110, 100) == pytest.approx(10) and change(5, 0) is None and change(None, 3) is None
    )


def test_the_checker_refuses_with_paths(plant, session):  # noqa: ANN001
    bad = {
        "title": "Broken",
        "tiles": [
            {"type": "chart", "report": "nothing"},
            {"type": "chart", "report": "totals"},
            {"type": "number", "report": "by_supplier", "measure": "nope"},
            {"type": "number", "report": "totals", "measure": "n"},
            {"type": "number", "report": "totals", "measure": "n", "date_field": "result"},
            {"type": "chart", "report": "by_month", "date_field": "nothing"},
            {"type": "chart", "report": "erp.nothing", "w": 13},
        ],
    }
    with pytest.raises(ValidationFailed) as refused:
        definitions.save_draft_definition(session, plant.admin, "qms", "dashboard", "bad", bad)
    assert [e["path"] for e in refused.value.errors] == ["/tiles/6/w"]
    bad["tiles"][6].pop("w")
    with pytest.raises(ValidationFailed) as refused:
        definitions.save_draft_definition(session, plant.admin, "qms", "dashboard", "bad", bad)
    assert [(e["path"], e["message"]) for e in refused.value.errors] == [
        ("/tiles/0/report", "No report 'qms.nothing'."),
        ("/tiles/1/report", "'qms.totals' has no chart"),
        ("/tiles/2/measure", "the report has no measure 'nope' (it has: n)"),
        ("/tiles/2/report", "a number card needs a report of one figure: no group-by, or its totals"),
        ("/tiles/2/date_field", "a number card compares periods: name the date field (here or as the report's date_field)"),
        ("/tiles/3/date_field", "a number card compares periods: name the date field (here or as the report's date_field)"),
        ("/tiles/4/date_field", "'result' is not a date or a date-time of the record"),
        ("/tiles/5/date_field", "'qms.inspection' has no field 'nothing'"),
        ("/tiles/6/report", "No report 'erp.nothing'."),
    ]  # fmt: skip
    schema = {"title": "x", "tiles": [{"type": "number", "report": "totals"}]}
    with pytest.raises(ValidationFailed) as refused:
        definitions.save_draft_definition(session, plant.admin, "qms", "dashboard", "bad", schema)
    assert [e["path"] for e in refused.value.errors] == ["/tiles/0"]
