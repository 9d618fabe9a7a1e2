"""Tests of the curated functions of the expression language, and of registering more."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from jizuo.platform.expressions import (
    available_functions,
    check_expression,
    evaluate,
    register_function,
)
from tests.platform.test_expressions import DEFECTS, refused

# --------------------------------------------------------------------------------------------
# Curated functions


def test_available_functions() -> None:
    expected = {
        "abs", "round", "floor", "ceil", "sqrt", "min", "max", "sum", "avg", "pow", "len",
        "int", "float", "str", "bool", "lower", "upper", "trim", "concat", "contains",
        "startswith", "endswith", "sum_of", "min_of", "max_of", "avg_of", "count_of", "today",
        "now", "date", "days_between", "add_days", "year", "month", "coalesce", "if_", "iif",
        "is_empty",
    }  # fmt: skip
    assert expected <= available_functions()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("abs(-2.5)", 2.5),
        ("abs(x)", None),
        ("round(2.5)", 3),
        ("round(-2.5)", -3),
        ("round(2.675, 2)", 2.68),
        ("round(1234, -2)", 1200),
        ("round(1250, -2)", 1300),
        ("round(x)", None),
        ("floor(2.7)", 2),
        ("floor(-2.2)", -3),
        ("ceil(2.1)", 3),
        ("sqrt(16)", 4.0),
        ("sqrt(x)", None),
        ("pow(2, 10)", 1024),
        ("pow(x, 2)", None),
        ("min(3, 1, 2)", 1),
        ("max(3, x, 5)", 5),
        ("min([4, None, 2])", 2),
        ("max([])", None),
        ("sum(1, 2, 3)", 6),
        ("sum([1, None, 2.5])", 3.5),
        ("sum([])", 0),
        ("avg([1, 2, None, 3])", 2.0),
        ("avg(2, 4)", 3.0),
        ("avg([])", None),
        ("len('abc')", 3),
        ("len([1, 2])", 2),
        ("len(x)", 0),
        ("int('42')", 42),
        ("int(' 7.9 ')", 7),
        ("int(3.99)", 3),
        ("int(x)", None),
        ("int('')", None),
        ("float('2.5')", 2.5),
        ("float(2)", 2.0),
        ("float(x)", None),
        ("str(12)", "12"),
        ("str(1.5)", "1.5"),
        ("str(x)", ""),
        ("str(True)", "true"),
        ("bool(0)", False),
        ("bool('x')", True),
        ("bool(x)", False),
        ("lower('AbC')", "abc"),
        ("upper('abc')", "ABC"),
        ("upper(x)", None),
        ("trim('  a b  ')", "a b"),
        ("concat('NC-', 12, x, '-', 'A')", "NC-12-A"),
        ("contains('abcdef', 'cd')", True),
        ("contains(['QE', 'QM'], 'QE')", True),
        ("contains(x, 'a')", False),
        ("startswith('NC-12', 'NC')", True),
        ("endswith('NC-12', '12')", True),
        ("startswith(x, 'NC')", False),
        ("coalesce(x, '', 0, 5)", 0),
        ("coalesce(x, '', 'z')", "z"),
        ("coalesce(x, '')", None),
        ("if_(1 > 0, 'yes', 'no')", "yes"),
        ("iif(x, 'yes', 'no')", "no"),
        ("is_empty(x)", True),
        ("is_empty('  ')", True),
        ("is_empty([])", True),
        ("is_empty(0)", False),
        ("is_empty('a')", False),
    ],
)
def test_function(source: str, expected: object) -> None:
    result = evaluate(source, {"x": None})
    assert result == expected
    assert type(result) is type(expected)


def test_if_evaluates_only_the_chosen_branch() -> None:
    assert evaluate("if_(qty, total / qty, None)", {"qty": 0, "total": 5}) is None
    assert evaluate("iif(qty > 0, total / qty, 0)", {"qty": 2, "total": 5}) == 2.5
    assert "takes 3 arguments" in str(refused("if_(1, 2)"))


def test_aggregates_over_child_rows() -> None:
    rows = [*DEFECTS, {"code": "C", "count": None}, {"code": "A"}, {"code": "D", "count": 7}]
    names = {"rows": rows, "none": None}
    assert evaluate("sum_of(rows, 'count')", names) == 12
    assert evaluate("min_of(rows, 'count')", names) == 2
    assert evaluate("max_of(rows, 'count')", names) == 7
    assert evaluate("avg_of(rows, 'count')", names) == 4.0
    assert evaluate("max_of(rows, 'code')", names) == "D"
    assert evaluate("count_of(rows)", names) == 5
    assert evaluate("count_of(rows, 'count')", names) == 3
    assert evaluate("count_of(rows, 'code', 'A')", names) == 2
    assert evaluate("sum_of(none, 'count')", names) == 0
    assert evaluate("count_of(none)", names) == 0
    assert evaluate("avg_of([], 'count')", names) is None
    assert evaluate("min_of(none, 'count')", names) is None
    assert "expects a list of rows" in str(refused("sum_of(5, 'count')"))
    assert "expects a list of rows" in str(refused("sum_of([1, 2], 'count')"))
    assert "expects numbers" in str(refused("sum_of(rows, 'code')", names))
    assert "field name as text" in str(refused("sum_of(rows, 1)", names))


def test_dates() -> None:
    names = {
        "received": "2024-01-31",
        "due_obj": date(2024, 3, 1),
        "created_at": datetime(2024, 3, 1, 15, 30, tzinfo=UTC),
        "empty": None,
    }
    assert evaluate("add_days(received, 1)", names) == "2024-02-01"
    assert evaluate("add_days(due_obj, -1)", names) == "2024-02-29"
    assert evaluate("add_days('2024-01-01T10:00:00', 2)", names) == "2024-01-03T10:00:00"
    assert evaluate("add_days(empty, 3)", names) is None
    assert evaluate("days_between(received, due_obj)", names) == 30
    assert evaluate("days_between(due_obj, received)", names) == -30
    assert evaluate("days_between(received, created_at)", names) == 30
    assert evaluate("days_between(received, empty)", names) is None
    assert evaluate("year(received)", names) == 2024
    assert evaluate("month(created_at)", names) == 3
    assert evaluate("month(empty)", names) is None
    assert evaluate("date(created_at)", names) == "2024-03-01"
    assert evaluate("date('2024-03-01T08:00:00Z')", names) == "2024-03-01"
    # Stored ISO strings compare with date function results as text...
    assert evaluate("add_days(received, 30) >= '2024-03-01'", names) is True
    assert evaluate("add_days(received, 29) < '2024-03-01'", names) is True
    # ... and date objects compare with ISO strings by value.
    assert evaluate("due_obj == '2024-03-01'", names) is True
    assert evaluate("due_obj < add_days(received, 31)", names) is True
    assert evaluate("created_at >= '2024-03-01'", names) is True
    assert evaluate("created_at > due_obj", names) is False
    assert "is not an ISO date" in str(refused("date('2024-13-01')"))
    assert "whole number of days" in str(refused("add_days('2024-01-01', 1.5)"))
    assert "number too large" in str(refused("add_days('2024-01-01', 10**7)"))


def test_today_and_now() -> None:
    before = datetime.now(UTC)
    today, now = evaluate("today()"), evaluate("now()")
    after = datetime.now(UTC)
    assert today in {before.date().isoformat(), after.date().isoformat()}
    moment = datetime.fromisoformat(now)
    assert moment.tzinfo is not None
    assert before - timedelta(seconds=1) <= moment <= after
    overdue = "due_date < today()"
    assert evaluate(overdue, {"due_date": "2000-01-01"}) is True
    assert evaluate(overdue, {"due_date": date.today() + timedelta(days=2)}) is False


def test_register_function() -> None:
    def shift_of(hour: int) -> str:
        return "night" if hour is None or hour < 6 or hour >= 22 else "day"

    register_function("jz_test_shift_of", shift_of)
    register_function("jz_test_shift_of", shift_of)  # the same function again is harmless
    assert "jz_test_shift_of" in available_functions()
    assert evaluate("jz_test_shift_of(hour)", {"hour": 23}) == "night"
    assert check_expression("jz_test_shift_of(hour)", ["hour"]).functions == {"jz_test_shift_of"}
    with pytest.raises(ValueError, match="already registered"):
        register_function("jz_test_shift_of", lambda hour: hour)
    with pytest.raises(ValueError, match="built-in"):
        register_function("abs", shift_of)
    with pytest.raises(ValueError, match="built-in"):
        register_function("iif", shift_of)
    with pytest.raises(ValueError, match="start with '_'"):
        register_function("_hidden", shift_of)
    for bad_name in ["not valid", "1x", "lambda", "", 5]:
        with pytest.raises(ValueError):
            register_function(bad_name, shift_of)  # type: ignore[arg-type]
    for bad_function in [5, dict, eval, __import__]:
        with pytest.raises(ValueError):
            register_function("jz_test_bad", bad_function)  # type: ignore[arg-type]
    assert "jz_test_bad" not in available_functions()
