"""Publishing: compatibility reports, migrations run as jobs, indexes, versions."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select, text

from jizuo.platform.errors import IncompatibleChange, ValidationFailed
from jizuo.platform.indexes import record_index_names
from jizuo.platform.models import Job, Record
from jizuo.platform.query import Filter
from jizuo.platform.records import RecordStore
from tests import factories

GAUGE = {
    "key": "gauge",
    "title": "Gauge",
    "schema": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "x-index": True},
            "kind": {"type": "string", "enum": ["caliper", "micrometer", "cmm"]},
            "range_mm": {"type": "string"},
        },
        "required": ["code"],
    },
}


@pytest.fixture
def lab(session):
    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    factories.published(session, actor, "lab", GAUGE)
    gauges = RecordStore(session, actor).entity("lab", "gauge")
    gauges.create_many(
        [
            {"code": "G-1", "kind": "caliper", "range_mm": "150"},
            {"code": "G-2", "kind": "cmm", "range_mm": "1000"},
            {"code": "G-3", "kind": "cmm"},
        ]
    )
    session.commit()
    return actor


def _change(**fields):
    definition = copy.deepcopy(GAUGE)
    for key, schema in fields.items():
        if schema is None:
            definition["schema"]["properties"].pop(key)
        else:
            definition["schema"]["properties"][key] = schema
    return definition


def _refused(session, actor, definition, migration=None):
    with pytest.raises(IncompatibleChange) as caught:
        factories.published(session, actor, "lab", definition, migration)
    session.rollback()
    return {(i["code"], i["path"]): i for i in caught.value.extra["report"]["issues"]}


def test_new_required_field_without_default_is_refused_then_accepted_with_one(session, lab):
    definition = _change(site={"type": "string"})
    definition["schema"]["required"].append("site")
    issues = _refused(session, lab, definition)
    assert issues[("required", "/site")]["count"] == 3
    result = factories.published(session, lab, "lab", definition, {"defaults": {"site": "SH"}})
    assert result.version == 2 and result.job_id
    session.expire_all()
    job = session.get(Job, result.job_id)
    assert job.status == "finished" and job.progress == 100.0
    assert job.result["migrated"] == 3
    records = session.scalars(select(Record).order_by(Record.id)).all()
    assert [r.data["site"] for r in records] == ["SH", "SH", "SH"]
    assert {r.entity_version for r in records} == {2}
    history = RecordStore(session, lab).entity("lab", "gauge").history(records[0].id)
    assert history[-1].action == "migrate" and history[-1].diff == {"site": [None, "SH"]}


def test_type_change_is_refused_then_converted(session, lab):
    definition = _change(range_mm={"type": "number"})
    issues = _refused(session, lab, definition)
    assert issues[("type", "/range_mm")]["count"] == 2
    factories.published(
        session, lab, "lab", definition, {"conversions": {"range_mm": "float(range_mm)"}}
    )
    session.expire_all()
    values = [r.data.get("range_mm") for r in session.scalars(select(Record).order_by(Record.id))]
    assert values == [150.0, 1000.0, None]


def test_removed_option_in_use_is_refused(session, lab):
    definition = _change(kind={"type": "string", "enum": ["caliper", "micrometer"]})
    issues = _refused(session, lab, definition)
    assert issues[("enum", "/kind")]["count"] == 2
    assert len(issues[("enum", "/kind")]["examples"]) == 2


def test_removed_field_needs_drop_or_rename(session, lab):
    definition = _change(range_mm=None)
    issues = _refused(session, lab, definition)
    assert issues[("unknown", "/range_mm")]["count"] == 2
    renamed = _change(range_mm=None, span={"type": "string"})
    factories.published(session, lab, "lab", renamed, {"renames": {"range_mm": "span"}})
    session.expire_all()
    assert session.scalars(select(Record).order_by(Record.id)).first().data["span"] == "150"


def test_compatible_change_needs_no_migration(session, lab):
    result = factories.published(session, lab, "lab", _change(note={"type": "string"}))
    assert result.version == 2 and result.job_id is None and result.report.added == ["note"]


@pytest.mark.parametrize(
    "migration",
    [
        {"rename": {}},
        {"renames": {"ghost": "code"}},
        {"defaults": {"ghost": 1}},
        {"conversions": {"code": "import os"}},
        "drop everything",
    ],
)
def test_malformed_migrations_are_refused(session, lab, migration):
    with pytest.raises(ValidationFailed):
        factories.published(session, lab, "lab", _change(note={"type": "string"}), migration)


def test_x_index_fields_get_expression_indexes_that_queries_use(session, lab):
    connection = session.connection()
    names = record_index_names(connection)
    assert any(name.startswith("ix_rec_e") and name.endswith("_code") for name in names)
    dialect = connection.dialect.name
    gauges = RecordStore(session, lab).entity("lab", "gauge")
    query, _ = gauges.list_query([Filter("code", "eq", "G-2")])
    compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
    if dialect == "postgresql":
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(r[0] for r in connection.execute(text(f"EXPLAIN {compiled}")))
        connection.execute(text("SET enable_seqscan = on"))
    else:
        plan = "\n".join(
            str(r[-1]) for r in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
    assert "ix_rec_e" in plan, plan
    # Dropping x-index drops the index.
    factories.published(session, lab, "lab", _change(code={"type": "string"}))
    assert not any(n.endswith("_code") for n in record_index_names(session.connection()))


def test_records_with_formulas_and_numbers_stay_compatible(session):
    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    factories.published(session, actor, "qms", factories.NCR)
    RecordStore(session, actor).entity("qms", "ncr").create(
        {"lot_no": "L", "source": "iqc", "qty_rejected": 2, "unit_cost": 1.5}
    )
    session.commit()
    changed = copy.deepcopy(factories.NCR)
    changed["schema"]["properties"]["cost"]["x-formula"] = "qty_rejected * unit_cost * 2"
    result = factories.published(session, actor, "qms", changed)
    assert result.report.compatible and result.report.changed == ["cost"]
    session.expire_all()
    assert session.scalars(select(Record).where(Record.entity_version == 2)).one().data["cost"] == 6


def test_reference_to_an_unknown_entity_is_refused(session):
    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    with pytest.raises(ValidationFailed) as caught:
        factories.published(session, actor, "qms", factories.NCR)  # erp.supplier missing
    assert caught.value.errors[0]["path"] == "/schema/properties/supplier/x-ref"


def test_records_left_behind_catch_up_on_update_and_in_later_jobs(session, lab, monkeypatch):
    import jizuo.platform.jobs as jobs

    monkeypatch.setattr(jobs, "dispatch", lambda app, job_id: None)  # the worker is down
    v2 = _change(site={"type": "string"})
    v2["schema"]["required"].append("site")
    factories.published(session, lab, "lab", v2, {"defaults": {"site": "SH"}})
    session.expire_all()
    assert {r.entity_version for r in session.scalars(select(Record))} == {1}
    gauges = RecordStore(session, lab).entity("lab", "gauge")
    first = session.scalars(select(Record).order_by(Record.id)).first()
    updated = gauges.update(first.id, {"range_mm": "200"}, 1)
    session.commit()
    assert updated.entity_version == 2 and updated.data["site"] == "SH"
    # v3 renames site; its job also replays v2's pending default for the others.
    monkeypatch.undo()
    v3 = _change(plant={"type": "string"})
    v3["schema"]["required"].append("plant")
    factories.published(session, lab, "lab", v3, {"renames": {"site": "plant"}})
    session.expire_all()
    records = session.scalars(select(Record).order_by(Record.id)).all()
    assert [(r.entity_version, r.data.get("plant")) for r in records] == [(3, "SH")] * 3
