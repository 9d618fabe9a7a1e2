"""Row scopes: compiled to SQL, and selecting exactly the records the evaluator accepts."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from jizuo.platform.expressions import ExpressionError
from jizuo.platform.metadata import validate_definition
from jizuo.platform.models import Record
from jizuo.platform.query import field_sql
from jizuo.platform.records import RecordStore
from jizuo.platform.row_scope import (
    ScopeError,
    compile_scope,
    record_names,
    stored_record_names,
)
from tests import factories

CASE = {
    "key": "case",
    "title": "Case",
    "schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "source": {"type": "string", "enum": ["iqc", "ipqc", "oqc", "customer"]},
            "qty": {"type": "integer", "x-index": True},
            "cost": {"type": "number"},
            "urgent": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["major", "minor"]}},
            "levels": {"type": "array", "items": {"type": "integer", "enum": [0, 1, 2]}},
            "answers": {"type": "array", "items": {"type": "boolean", "enum": [True, False]}},
            "supplier": {"type": "integer", "x-ref": "erp.supplier", "x-index": True},
            "due": {"type": "string", "format": "date"},
            "spec": {
                "type": "object",
                "properties": {"grade": {"type": "string"}, "level": {"type": "integer"}},
            },
            "lines": {
                "type": "array",
                "items": {"type": "object", "properties": {"code": {"type": "string"}}},
            },
        },
    },
}

# (creator, data, state); supplier is an index into the suppliers made by the fixture.
ROWS = [
    ("alice", {"title": "Crack", "source": "iqc", "qty": 12, "cost": 2.5, "urgent": True, "tags": ["major"], "supplier": 0, "due": "2024-05-01", "spec": {"grade": "A", "level": 2}}, "open"),
    ("alice", {"title": "crack", "source": "oqc", "qty": 3, "cost": 0.1, "urgent": False, "tags": ["minor", "major"], "levels": [1], "supplier": 1}, "closed"),
    ("alice", {"title": "Zinc", "qty": 0, "tags": [], "levels": [0, 2], "answers": [True], "spec": {"grade": "B"}}, None),
    ("alice", {}, None),
    ("bob", {"title": "Épée", "source": "customer", "qty": 10, "cost": 0.30000000000000004, "urgent": True, "supplier": 2, "due": "2030-01-01", "spec": {}}, "open"),
    ("bob", {"source": "ipqc", "qty": -4, "cost": -1, "urgent": False, "tags": ["minor"], "levels": [2], "answers": [False], "spec": {"level": 0}}, "closed"),
    ("bob", {"title": "a", "source": "iqc", "cost": 1, "supplier": 0, "lines": [{"code": "D1"}]}, None),
]  # fmt: skip
DEFINITION = validate_definition(copy.deepcopy(CASE))
NAIVE = datetime(2020, 1, 15, 23, 30)
# created_at of the first two rows: the 15th in UTC, the 16th in Shanghai.
OLD = datetime(2020, 1, 15, 23, 30, tzinfo=UTC)


@pytest.fixture
def cases(session):
    ws = factories.workspace(session)
    alice, admin = factories.member(session, ws)
    bob, other = factories.member(session, ws, "bob")
    factories.published(session, admin, "erp", factories.SUPPLIER)
    factories.published(session, admin, "qms", CASE)
    suppliers = [
        RecordStore(session, admin).entity("erp", "supplier").create({"name": f"S{i}"}).id
        for i in range(3)
    ]
    actors = {"alice": admin, "bob": other}
    ids = []
    for creator, data, state in ROWS:
        data = dict(data, supplier=suppliers[data["supplier"]]) if "supplier" in data else data
        ids.append(RecordStore(session, actors[creator]).entity("qms", "case").create(data).id)
        if state:
            session.execute(update(Record).where(Record.id == ids[-1]).values(state=state))
    session.execute(update(Record).where(Record.id.in_(ids[:2])).values(created_at=OLD))
    session.commit()
    entity = RecordStore(session, admin).entity("qms", "case")
    users = {
        "alice": user_names(alice.id, "alice", ["admin"], suppliers=suppliers[:2], level=2),
        "bob": user_names(bob.id, "bob", ["QE"], suppliers=[], level=None, since=None),
        "carol": user_names(
            bob.id + 1, "carol", [], suppliers=(suppliers[2],), level=Decimal("2.5"), since=NAIVE
        ),
    }
    users["alice"].update(since=OLD, start=date(2024, 1, 1))
    return {"entity": entity, "ids": ids, "users": users, "suppliers": suppliers}


def user_names(user_id: int, username: str, roles: list[str], **attributes) -> dict:
    """The ``user`` of expressions: who it is, its roles (admins hold every role), attributes."""
    has_role = lambda role: role in roles or "admin" in roles  # noqa: E731
    return {"id": user_id, "username": username, "roles": roles, "has_role": has_role, **attributes}


def selected(session, cases, source: str, user: str = "alice") -> set[int] | None:
    """Ids the scope selects in SQL, after checking the evaluator selects the same ones.

    When building the clause fails, the evaluator must fail on some record too. PostgreSQL
    sessions run in Shanghai time, so days are seen to be taken in UTC on both sides.
    """
    entity, who = cases["entity"], cases["users"][user]
    scope = compile_scope(source, entity.definition)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SET LOCAL TIME ZONE 'Asia/Shanghai'"))
    query = select(Record).where(Record.entity_id == entity.entity_id)
    records = session.scalars(query.execution_options(populate_existing=True)).all()
    in_python, failures = set(), 0
    for r in records:
        try:
            if scope.matches(stored_record_names(entity.definition, r), who):
                in_python.add(r.id)
        except ExpressionError:
            failures += 1
    try:
        clause = scope.clause(dialect, who)
    except ExpressionError:
        assert failures, f"{source}: the clause fails, the evaluator does not"
        session.rollback()
        return None
    assert not failures, f"{source}: the evaluator fails, the clause does not"
    query = select(Record.id).where(Record.entity_id == entity.entity_id, clause)
    in_sql = set(session.scalars(query))
    session.rollback()
    assert in_sql == in_python, source
    return in_sql


def rows(cases, *indexes: int) -> set[int]:
    return {cases["ids"][i] for i in indexes}


@pytest.mark.parametrize(
    ("source", "user", "expected"),
    [
        ("record.created_by == user.id", "alice", [0, 1, 2, 3]),
        ("user.id == record.created_by", "bob", [4, 5, 6]),
        ("record.supplier in user.suppliers", "alice", [0, 1, 6]),
        ("record.supplier in user.suppliers", "bob", []),
        ("record.supplier not in user.suppliers", "alice", [2, 3, 4, 5]),
        ("record.source == 'iqc'", "alice", [0, 6]),
        ("record.source != 'iqc'", "alice", [1, 2, 3, 4, 5]),
        ("record.source in ['iqc', 'oqc', None]", "alice", [0, 1, 2, 3, 6]),
        ("'major' in record.tags", "alice", [0, 1]),
        ("'major' not in record.tags", "alice", [2, 3, 4, 5, 6]),
        ("2 in record.levels", "alice", [2, 5]),
        ("True in record.levels", "alice", [1]),
        ("1 in record.answers", "alice", [2]),
        ("0.0 in record.answers", "alice", [5]),
        ("None in record.answers", "alice", []),
        ("'ck' in record.title", "alice", [0, 1]),
        ("record.urgent", "alice", [0, 4]),
        ("not record.urgent", "alice", [1, 2, 3, 5, 6]),
        ("record.urgent == False", "alice", [1, 5]),
        ("record.qty == None", "alice", [3, 6]),
        ("record.qty is not None", "alice", [0, 1, 2, 4, 5]),
        ("record.qty >= 10", "alice", [0, 4]),
        ("not (record.qty < 5)", "alice", [0, 3, 4, 6]),
        ("record.qty", "alice", [0, 1, 4, 5]),
        ("record.cost == 0.30000000000000004", "alice", [4]),
        ("record.cost < 0.3", "alice", [1, 5]),
        ("record.qty > 'x' if False else record.qty == True", "alice", []),
        ("record.spec.level == user.level", "alice", [0]),
        ("record.spec.grade == None", "alice", [1, 3, 4, 5, 6]),
        ("record.title < 'a'", "alice", [0, 2]),
        ("record.due <= today()", "alice", [0]),
        ("record.state != 'closed'", "alice", [0, 2, 3, 4, 6]),
        ("record.created_at < '2021-01-01'", "alice", [0, 1]),
        ("record.created_at == '2020-01-15'", "alice", [0, 1]),
        ("record.created_at > add_days(now(), 1)", "alice", []),
        ("record.created_at > '2020-01-15T09:59:59.999999+00:00'", "alice", [0, 1, 2, 3, 4, 5, 6]),
        ("record.created_at <= '2020-01-16T00:30:00+01:00'", "alice", [0, 1]),
        ("record.created_at < '2020-01-16T00:30:00+01:00'", "alice", []),
        ("record.created_at == user.since", "alice", [0, 1]),
        ("record.created_at < '2020-01-16'", "alice", [0, 1]),
        ("record.created_at in [user.since]", "alice", [0, 1]),
        ("record.created_at != user.since", "carol", [0, 1, 2, 3, 4, 5, 6]),
        ("record.supplier in user.suppliers", "carol", [4]),
        ("record.cost >= user.level", "carol", [0]),
        ("record.source in 'iqc oqc'", "alice", [0, 1, 6]),
        ("record.source in {'iqc': 1, 'customer': 2}", "alice", [0, 4, 6]),
        ("record.qty in {12, 0}", "alice", [0, 2]),
        ("user.has_role('QE') or record.source == 'iqc'", "alice", [0, 1, 2, 3, 4, 5, 6]),
        ("user.has_role('QE') or record.source == 'iqc'", "bob", [0, 1, 2, 3, 4, 5, 6]),
        ("user.has_role('auditor') and record.urgent", "bob", []),
        ("record.qty >= 10 and not (record.title == 'Crack')", "alice", [4]),
        ("record.qty == 'x' or record.source == 5", "alice", []),
        ("record.qty != 'x'", "alice", [0, 1, 2, 3, 4, 5, 6]),
    ],
)
def test_each_form_selects_the_expected_records(session, cases, source, user, expected):
    assert selected(session, cases, source, user) == rows(cases, *expected)


def test_admins_hold_every_role_so_a_folded_role_test_opens_everything(session, cases):
    everything = rows(cases, *range(len(ROWS)))
    assert selected(session, cases, "user.has_role('auditor') or record.qty > 100") == everything
    assert selected(session, cases, "user.has_role('auditor') or record.qty > 100", "bob") == set()


OPERANDS = {
    "number": ["record.qty", "record.cost", "record.spec.level", "record.id", "record.created_by"],
    "text": ["record.source", "record.title", "record.due", "record.spec.grade", "record.state"],
    "boolean": ["record.urgent"],
    "datetime": ["record.created_at", "record.updated_at"],
}
ORDERED = {
    "number": ["0", "1", "2", "10", "-1", "2.5", "0.1", "True", "None", "user.level", "1e999"],
    "text": ["'iqc'", "'a'", "''", "'Crack'", "'crack'", "'Épée'", "'2024-05-01'", "today()"],
    "boolean": ["True", "False", "None", "0", "1", "2", "0.5"],
    "datetime": ["today()", "now()", "'2020-01-15'", "'2020-01-15T23:30:00Z'", "None"],
}
# Equal to nothing of the field's type; ordering them fails (for carol: a naive date-time).
MISMATCHED = {
    "number": ["'2'", "user.username", "[1]"],
    "text": ["2", "user.id", "None"],
    "boolean": ["'x'"],
    "datetime": ["'2020-01-15T23:30:00'", "user.since", "2"],
}
CONTAINERS = ["[1, 2, None]", "['iqc', 'oqc']", "[]", "[True, 12]", "user.suppliers",
              "[0.1, 2.5]", "{'iqc': 1, 12: 0}", "{0, 3}", "[user.since]", "(None,)"]  # fmt: skip
OPTIONS = ["'major'", "'minor'", "'x'", "0", "1", "2", "True", "False", "None", "2.0"]


def written(draw: st.DrawFn, field: str, op: str, value: str) -> str:
    return f"{value} {op} {field}" if draw(st.booleans()) else f"{field} {op} {value}"


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    """Comparisons the evaluator answers on every record; SQL must agree."""
    sql_type = draw(st.sampled_from(sorted(OPERANDS)))
    field = draw(st.sampled_from(OPERANDS[sql_type]))
    form = draw(st.sampled_from(["order", "equal", "in", "truth"]))
    if form == "in":
        containers = CONTAINERS + (["'Crack iqc a'"] if sql_type == "text" else [])
        return (
            f"{field} {draw(st.sampled_from(['in', 'not in']))} {draw(st.sampled_from(containers))}"
        )
    if form == "truth":
        return field
    if form == "equal":
        value = draw(st.sampled_from(ORDERED[sql_type] + MISMATCHED[sql_type]))
        return written(draw, field, draw(st.sampled_from(["==", "!="])), value)
    return written(
        draw,
        field,
        draw(st.sampled_from(["<", "<=", ">", ">="])),
        draw(st.sampled_from(ORDERED[sql_type])),
    )


@st.composite
def failing(draw: st.DrawFn) -> str:
    """Orderings against a value of another type: the evaluator fails on the filled records,
    so the clause must fail too (not part of larger scopes, where a branch may be skipped)."""
    sql_type = draw(st.sampled_from(sorted(OPERANDS)))
    field = draw(st.sampled_from(OPERANDS[sql_type]))
    value = draw(st.sampled_from([v for v in MISMATCHED[sql_type] if v != "None"]))
    return written(draw, field, draw(st.sampled_from(["<", "<=", ">", ">="])), value)


ATOMS = st.one_of(
    comparisons(),
    st.builds(lambda v, f: f"{v} in {f}", st.sampled_from(OPTIONS), st.sampled_from(["record.tags", "record.levels", "record.answers"])),
    st.builds(lambda v: f"{v} in record.title", st.sampled_from(["'a'", "''", "'ck'", "'Z'"])),
    st.sampled_from(["user.has_role('QE')", "user.suppliers", "record.qty > user.level"]),
)  # fmt: skip
SCOPES = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda a, b, c: f"({a}) if ({b}) else ({c})", inner, inner, inner),
    ),
    max_leaves=5,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(source=st.one_of(SCOPES, failing()), user=st.sampled_from(["alice", "bob", "carol"]))
def test_sql_agrees_with_the_evaluator(session, cases, source, user):
    selected(session, cases, source, user)  # asserts the agreement


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("record.qty < record.cost", "record.qty is compared with record.cost"),
        ("len(record.title) > 3", "'len(record.title)' is not supported in row scopes"),
        ("record.qty * 2 > 5", "'record.qty * 2' is not supported"),
        ("record['qty'] == 1", "only plain record fields"),
        ("1 < record.qty < 5", "chained comparisons"),
        ("record.lines == None", "record.lines is a child table"),
        ("record.lines.code == 'D1'", "record.lines is a child table"),
        ("record.spec == {'grade': 'A'}", "record.spec is a group field"),
        ("record.tags == ['major']", "record.tags is a multi-select field"),
        ("record.tags in [['major']]", "cannot be looked up in a list"),
        ("record.tags", "is a multi-select field, not a condition"),
        ("'x' in record.qty", "'in' needs a text or multi-select field on its right"),
        ("record.qty is 1", "'is' is supported only as 'is None'"),
        ("record == None", "'record' as a whole"),
        ("record.qyt > 1", "record has no field 'qyt' (did you mean 'qty'?)"),
        ("record.spec.grde == 'A'", "record.spec has no field 'grde' (did you mean 'grade'?)"),
        ("record.qty.unit == 'x'", "record.qty has no fields"),
        ("recrod.qty > 1", "unknown name 'recrod' (did you mean 'record'?)"),
        ("qty > 1", "a row scope reads only 'record' and 'user'"),
        ("record.__class__ == 1", "attributes starting with '_' are not allowed"),
        ("nosuch(user.id) == record.qty", "unknown function 'nosuch'"),
        (" or ".join(["record.qty == 1"] * 200), "the expression is too long"),
        ("(" * 60 + "record.qty" + ")" * 60, "nested too deeply"),
        ("record.qty == 'a' * 10**9", "too long"),
    ],
)
def test_refused_forms_name_the_expression_and_the_reason(source, reason):
    with pytest.raises(ScopeError) as caught:
        compile_scope(source, DEFINITION)
    assert reason in caught.value.reason
    assert source[:60] in str(caught.value)


def test_a_missing_user_attribute_fails_when_the_clause_is_built():
    scope = compile_scope("record.supplier in user.suppliers", DEFINITION)
    user = {"id": 1, "username": "carol", "roles": [], "has_role": lambda role: False}
    with pytest.raises(ExpressionError, match="'user' has no field 'suppliers'") as caught:
        scope.clause("sqlite", user)
    assert "record.supplier in user.suppliers" in str(caught.value)
    with pytest.raises(ExpressionError):
        scope.matches(record_names(DEFINITION, {}), user)


@pytest.mark.parametrize(
    ("source", "reason", "evaluator_fails"),
    [
        (
            "record.qty < user.username",
            "record.qty cannot be ordered against a value of type str",
            True,
        ),
        (
            "record.title < user.id",
            "record.title cannot be ordered against a value of type int",
            True,
        ),
        (
            "record.created_at < '2020-01-15T10:00'",
            "cannot be ordered against a value of type str",
            True,
        ),
        ("record.qty in user.id", "'in' needs a text or a list on its right", True),
        ("user.id in record.title", "only text can be found in record.title", True),
        ("record.qty in 'abc'", "record.qty is not text and cannot be found in a text", True),
        # Refused although the evaluator would compare them: SQL could not do it exactly.
        ("record.due < user.start", "compare it with ISO text such as today()", False),
        ("record.qty < 10**30", "too large for a row scope", False),
        ("record.cost > 1e300", "too large to compare exactly", False),
    ],
)
def test_values_of_the_wrong_type_fail_when_the_clause_is_built(source, reason, evaluator_fails):
    """The clause fails (callers fail closed) where the evaluator fails on a filled record."""
    scope = compile_scope(source, DEFINITION)
    alice = user_names(1, "alice", [], start=date(2024, 1, 1))
    for dialect in ("sqlite", "postgresql"):
        with pytest.raises(ExpressionError) as caught:
            scope.clause(dialect, alice)
        assert reason in caught.value.reason and source in str(caught.value)
    data = {"qty": 1, "cost": 2.5, "title": "t", "due": "2024-05-01"}
    record = record_names(DEFINITION, data, created_at=OLD)
    if evaluator_fails:
        with pytest.raises(ExpressionError):
            scope.matches(record, alice)
    else:
        scope.matches(record, alice)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=str)
def test_the_clause_reads_fields_with_the_indexed_expressions(dialect):
    scope = compile_scope("record.supplier in user.suppliers", DEFINITION)
    compiled = str(scope.clause(dialect.name, {"suppliers": [1, 2]}).compile(dialect=dialect))
    supplier = field_sql(dialect.name, DEFINITION.fields["supplier"])
    assert str(supplier.compile(dialect=dialect)) in compiled


def test_text_is_ordered_by_code_point_on_postgresql():
    """Python orders 'Zinc' before 'apple'; so does the C collation, whatever the database's."""
    scope = compile_scope("record.title < 'a'", DEFINITION)
    compiled = str(scope.clause("postgresql", {}).compile(dialect=postgresql.dialect()))
    assert 'COLLATE "C"' in compiled


def test_compiled_scopes_are_cached_per_definition():
    definition = validate_definition(copy.deepcopy(CASE))
    scope = compile_scope("record.qty > 1", definition)
    assert compile_scope("record.qty > 1", definition) is scope
    assert scope.definition is definition and scope.source == "record.qty > 1"
    assert compile_scope("record.qty > 1", DEFINITION).definition is DEFINITION


def test_record_names_fill_every_field_and_give_times_in_utc():
    definition = DEFINITION
    naive = datetime(2024, 5, 1, 23, 30)
    names = record_names(definition, {"qty": 3, "spec": {"grade": "A"}}, id=7, created_at=naive)
    assert names["qty"] == 3 and names["title"] is None and names["tags"] is None
    assert names["spec"] == {"grade": "A", "level": None}
    assert names["id"] == 7 and names["state"] is None
    assert names["created_at"] == naive.replace(tzinfo=UTC)
    shanghai = datetime(2024, 5, 2, 7, 30, tzinfo=timezone(timedelta(hours=8)))
    assert record_names(definition, {}, updated_at=shanghai)["updated_at"].tzinfo is UTC
