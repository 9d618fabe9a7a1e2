"""Tests of the platform's expression language (jizuo.platform.expressions)."""

from __future__ import annotations

import pickle
import threading
import time
from datetime import date
from decimal import Decimal

import pytest

from jizuo.platform.expressions import (
    Expression,
    ExpressionError,
    check_expression,
    evaluate,
    parse_expression,
)

DEFECTS = [{"code": "A", "count": 2}, {"code": "B", "count": 3}]


def shown(source: str) -> str:
    """How an error message quotes an expression (long ones are cut)."""
    return source if len(source) <= 120 else source[:119] + "…"


def refused(source: object, names: dict | None = None) -> ExpressionError:
    """Evaluate expecting an ExpressionError within one second; return the error."""
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, names or {})  # type: ignore[arg-type]
    assert time.perf_counter() - start < 1.0
    return caught.value


# --------------------------------------------------------------------------------------------
# The rules of the design document


def test_design_rules() -> None:
    assert evaluate("source == 'customer'", {"source": "customer"}) is True
    assert evaluate("source == 'customer'", {"source": "internal"}) is False
    assert evaluate("qty_rejected * unit_cost", {"qty_rejected": 4, "unit_cost": 2.5}) == 10.0
    rule = "sum_of(defects, 'count') <= qty_rejected"
    assert evaluate(rule, {"defects": DEFECTS, "qty_rejected": 5}) is True
    assert evaluate(rule, {"defects": DEFECTS, "qty_rejected": 4}) is False


def test_record_and_user_fields() -> None:
    names = {"record": {"created_by": 7}, "user": {"id": 7}}
    assert evaluate("record.created_by == user.id", names) is True
    assert evaluate("record.created_by == user.id", {**names, "user": {"id": 8}}) is False


def test_callable_in_a_mapping() -> None:
    user = {"id": 1, "has_role": lambda role: role in {"QE", "QM"}}
    assert evaluate("user.has_role('QE')", {"user": user}) is True
    assert evaluate("user.has_role('OP')", {"user": user}) is False
    assert evaluate("has_role('QM')", {"has_role": user["has_role"]}) is True


# --------------------------------------------------------------------------------------------
# Parsing, names, caching


def test_expression_names_and_functions() -> None:
    parsed = parse_expression("qty_rejected * unit_cost + abs(x) if flag else sum_of(rows, 'n')")
    assert parsed.names == {"qty_rejected", "unit_cost", "x", "flag", "rows"}
    assert parsed.functions == {"abs", "sum_of"}
    assert parse_expression("record.created_by == user.id").names == {"record", "user"}
    assert parse_expression("user.has_role('QE')").names == {"user"}
    assert parse_expression("1 + 2").names == frozenset()
    # A field called like a function is a name; the function is still callable.
    assert parse_expression("year(year)").names == {"year"}
    assert evaluate("year(year)", {"year": "2024-03-01"}) == 2024


def test_parse_is_cached() -> None:
    assert parse_expression("a + 1") is parse_expression("a + 1")
    parsed = parse_expression("a + 1")
    assert parse_expression(parsed) is parsed
    assert evaluate(parsed, {"a": 1}) == 2


def test_hand_made_expression_is_reparsed() -> None:
    assert evaluate(Expression("a * 3", frozenset({"a"})), {"a": 2}) == 6
    with pytest.raises(ExpressionError):
        evaluate(Expression("().__class__", frozenset()), {})


def test_syntax_errors() -> None:
    for source in ["1 +", "a b", "(", "", "   ", "import os", "a = 1", "1; 2", "if x: y"]:
        error = refused(source)
        assert error.expression == source


@pytest.mark.parametrize(
    "source",
    ["9**9**9", "x * 10**10**10", "'a' * 10**9", "[1] * 10**9 + x", "x if c else 1 / 0", "'a' + 1"],
)
def test_constant_parts_that_cannot_be_evaluated_are_refused_when_saved(source: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        check_expression(source, ["x", "c"])
    assert time.perf_counter() - start < 1.0
    assert caught.value.expression == source
    assert source in str(caught.value)


def test_constant_parts_that_can_be_evaluated_are_accepted() -> None:
    for source in ["2 ** 10 * x", "x in [1, 2, 3]", "-1 + x", "'a' * 3", "{'a': 1}['a']"]:
        check_expression(source, ["x"])


def test_non_text_expression() -> None:
    with pytest.raises(ExpressionError, match="must be text"):
        parse_expression(42)  # type: ignore[arg-type]


def test_check_expression() -> None:
    known = ["qty_rejected", "unit_cost", "defects"]
    parsed = check_expression("qty_rejected * unit_cost", known)
    assert parsed.names == {"qty_rejected", "unit_cost"}
    check_expression("sum_of(defects, 'count') <= qty_rejected", known)
    with pytest.raises(ExpressionError) as caught:
        check_expression("qty_rejectd * unit_cost", known)
    assert "unknown name 'qty_rejectd'" in str(caught.value)
    assert "did you mean 'qty_rejected'" in str(caught.value)
    assert caught.value.expression == "qty_rejectd * unit_cost"
    with pytest.raises(ExpressionError, match="unknown names 'a', 'b'"):
        check_expression("a + b", known)
    with pytest.raises(ExpressionError, match="unknown function 'frobnicate'"):
        check_expression("frobnicate(unit_cost)", known)
    # A callable the caller will supply counts as known.
    check_expression("has_role('QE')", ["has_role"])
    check_expression("user.has_role('QE')", ["user"])
    with pytest.raises(ExpressionError, match="syntax error"):
        check_expression("qty +", known)


def test_unknown_name_at_evaluation() -> None:
    error = refused("qty * 2")
    assert str(error) == "unknown name 'qty' in expression 'qty * 2'"
    assert error.message == str(error)
    assert error.expression == "qty * 2"
    assert "did you mean 'qty_rejected'" in str(refused("qty_rejectd", {"qty_rejected": 1}))
    assert "is a function" in str(refused("abs + 1"))
    assert "unknown function 'nope'" in str(refused("nope(1)"))


def test_error_object() -> None:
    error = refused("1 / 0")
    assert isinstance(error, ValueError)
    assert str(error) == "division by zero in expression '1 / 0'"
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.expression == "1 / 0"
    long_source = "1 / 0 + " + " + ".join(["1"] * 100)
    assert len(str(refused(long_source))) < 200


# --------------------------------------------------------------------------------------------
# Empty values, comparisons, fields


def test_none_propagates_through_arithmetic() -> None:
    names = {"qty": 3, "unit_cost": None, "text": "a"}
    for source in [
        "qty * unit_cost",
        "unit_cost * qty",
        "qty + unit_cost",
        "qty - unit_cost",
        "qty / unit_cost",
        "qty // unit_cost",
        "qty % unit_cost",
        "qty ** unit_cost",
        "-unit_cost",
        "+unit_cost",
        "text + unit_cost",
        "(qty * unit_cost) + 1",
    ]:
        assert evaluate(source, names) is None, source


def test_comparisons_with_none() -> None:
    names = {"a": None, "b": 1}
    assert evaluate("a == None", names) is True
    assert evaluate("a is None", names) is True
    assert evaluate("b is not None", names) is True
    assert evaluate("a != b", names) is True
    assert evaluate("a == b", names) is False
    for op in ["<", "<=", ">", ">="]:
        assert evaluate(f"a {op} b", names) is False
        assert evaluate(f"b {op} a", names) is False
    assert evaluate("'x' in a", names) is False
    assert evaluate("'x' not in a", names) is True
    assert evaluate("a in 'abc'", names) is False
    assert evaluate("a in [None, 1]", names) is True
    assert evaluate("not a", names) is True
    assert evaluate("1 < b < 3", {"b": 2}) is True
    assert evaluate("1 < b < 3", {"b": 3}) is False


def test_operators_and_literals() -> None:
    assert evaluate("7 // 2 + 7 % 2 + 2 ** 3 - 1 / 4") == 3 + 1 + 8 - 0.25
    assert evaluate("x if c else y", {"x": 1, "y": 2, "c": False}) == 2
    assert evaluate("a or b", {"a": "", "b": "z"}) == "z"
    assert evaluate("a and b", {"a": 0, "b": "z"}) == 0
    assert evaluate("[1, 2] + [3]") == [1, 2, 3]
    assert evaluate("{'a': 1, 'b': [2, 3]}['b'][1]") == 3
    assert evaluate("(1, 2)[0]") == 1
    assert evaluate("2 in {1, 2}") is True
    assert evaluate("'ab' * 2 + 'c'") == "ababc"
    assert evaluate("s[1:3]", {"s": "abcd"}) == "bc"
    assert evaluate("f'{code}-{n}'", {"code": "NC", "n": 12}) == "NC-12"
    assert evaluate("'b' in 'abc' and 'z' not in 'abc'") is True
    assert evaluate("Decimal_value * 2.0", {"Decimal_value": Decimal("1.5")}) == 3.0
    assert evaluate("x > 1.0", {"x": Decimal("1.5")}) is True
    assert "not supported" in str(refused("'a' < 1"))


def test_mapping_fields() -> None:
    names = {"record": {"supplier": {"name": "ACME"}, "owner": None, "items": 3}}
    assert evaluate("record.supplier.name", names) == "ACME"
    assert evaluate("record['supplier']['name']", names) == "ACME"
    # A key named like a dict method reads the key, never the method.
    assert evaluate("record.items", names) == 3
    # An empty reference is empty all the way down.
    assert evaluate("record.owner.name", names) is None
    assert evaluate("record.owner.has_role('QE')", names) is None
    assert evaluate("record.owner['x']", names) is None
    error = refused("record.suppliers", names)
    assert "'record' has no field 'suppliers'" in str(error)
    assert "did you mean 'supplier'" in str(error)
    assert "no key 'x'" in str(refused("record['x']", names))
    assert "out of range" in str(refused("rows[5]", {"rows": DEFECTS}))
    assert evaluate("rows[1].count", {"rows": DEFECTS}) == 3


def test_attributes_of_other_objects_are_refused() -> None:
    names = {"d": date(2024, 1, 1), "s": "abc", "n": 5, "obj": object()}
    assert "have no fields" in str(refused("d.year", names))
    assert "write upper(value)" in str(refused("s.upper()", names))
    assert "write upper(value)" in str(refused("'abc'.upper()"))
    assert "have no fields" in str(refused("n.real", names))
    assert "have no fields" in str(refused("obj.anything", names))
    assert "cannot index" in str(refused("obj[0]", names))


def test_caller_callables_are_checked() -> None:
    for value in [eval, getattr, __import__, dict, object, open, pickle, str.format, 5]:
        error = refused("f('x')", {"f": value})
        assert "cannot be called" in str(error)
        error = refused("m.f('x')", {"m": {"f": value}})
        assert "cannot be called" in str(error) or "modules are not allowed" in str(error)
    assert "modules are not allowed" in str(refused("m", {"m": pickle}))
    assert "modules are not allowed" in str(refused("m.p", {"m": {"p": pickle}}))
    # Calling anything but a name or a mapping field is refused when parsing.
    assert "only functions can be called" in str(refused("rows[0]('x')"))
    assert "only functions can be called" in str(refused("f()()"))


def test_errors_raised_by_functions_are_wrapped() -> None:
    def broken(_: object) -> None:
        raise RuntimeError("database is down")

    error = refused("f(1)", {"f": broken})
    assert str(error) == "f() failed: database is down in expression 'f(1)'"
    assert isinstance(error.__cause__, RuntimeError)
    assert "sqrt() failed" in str(refused("sqrt(-1)"))
    assert "abs() takes 1 positional argument" in str(refused("abs(1, 2)"))
    assert "division by zero" in str(refused("x / 0", {"x": 1}))
    assert "division by zero" in str(refused("x % 0", {"x": 1}))


def test_nested_evaluation_error_names_the_outer_expression() -> None:
    def rule(name: str) -> object:
        return evaluate(name + " + 1", {})

    error = refused("check('zzz')", {"check": rule})
    assert error.expression == "check('zzz')"
    assert "unknown name 'zzz'" in str(error)
    assert evaluate("check('1')", {"check": rule}) == 2


# --------------------------------------------------------------------------------------------
# Speed and threads


def test_cached_evaluation_is_fast() -> None:
    names = {"qty_rejected": 4, "unit_cost": 2.5, "defects": DEFECTS}
    start = time.perf_counter()
    for _ in range(20_000):
        evaluate("qty_rejected * unit_cost", names)
        evaluate("sum_of(defects, 'count') <= qty_rejected", names)
    # About 5 µs each on a laptop; the bound only catches parsing on every call.
    assert time.perf_counter() - start < 3.0


def test_concurrent_evaluation() -> None:
    failures: list[str] = []

    def work(offset: int) -> None:
        for i in range(2_000):
            if evaluate("a * 2 + b", {"a": i, "b": offset}) != i * 2 + offset:
                failures.append(f"{offset}:{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
