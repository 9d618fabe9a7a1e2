"""The record store, called directly (no HTTP)."""

from __future__ import annotations

import copy
import threading

import pytest
from sqlalchemy import event, func, select

from jizuo.platform.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from jizuo.platform.models import Attachment, Record, RecordLink
from jizuo.platform.query import parse_filters
from jizuo.platform.records import RecordStore
from tests import factories


@pytest.fixture
def qms(session):
    """A workspace with erp.supplier and qms.ncr published, and its admin."""
    ws = factories.workspace(session)
    user, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    factories.published(session, actor, "qms", factories.NCR)
    store = RecordStore(session, actor)
    supplier = store.entity("erp", "supplier").create({"name": "Acme Castings", "rating": 80})
    session.commit()
    return {"ws": ws, "user": user, "actor": actor, "store": store, "supplier": supplier}


def ncr_data(supplier_id: int, **extra) -> dict:
    data = {
        "supplier": supplier_id,
        "lot_no": "L-001",
        "source": "iqc",
        "qty_rejected": 5,
        "unit_cost": 2.5,
        "defects": [{"code": "D1", "count": 2}, {"code": "D2", "count": 3}],
    }
    data.update(extra)
    return data


def test_create_computes_formula_numbers_and_links(session, qms):
    ncrs = qms["store"].entity("qms", "ncr")
    record = ncrs.create(ncr_data(qms["supplier"].id))
    session.commit()
    assert record.data["cost"] == 12.5
    assert record.data["number"].startswith("NCR-") and record.data["number"].endswith("-00001")
    assert record.version == 1 and record.created_by == qms["user"].id
    links = session.scalars(select(RecordLink).where(RecordLink.source_id == record.id)).all()
    assert [(link.field, link.target_id) for link in links] == [("supplier", qms["supplier"].id)]


def test_every_field_type_round_trips(session, qms):
    factories.published(session, qms["actor"], "lab", factories.EVERY_TYPE)
    attachment = Attachment(
        workspace_id=qms["ws"].id,
        filename="cert.pdf",
        content_type="application/pdf",
        size=3,
        sha256="0" * 64,
        storage_key="x",
    )
    session.add(attachment)
    session.flush()
    data = {
        "text": "hello 你好",
        "long_text": "line 1\nline 2",
        "integer": 7,
        "decimal": 1.25,
        "boolean": True,
        "date": "2026-11-24",
        "datetime": "2026-11-24T08:30:00+08:00",
        "single_select": "b",
        "multi_select": ["red", "blue"],
        "reference": qms["supplier"].id,
        "child_table": [{"part": "P-1", "qty": 3, "price": 1.5}],
        "attachment": attachment.id,
        "user": qms["user"].id,
        "email": "qe@example.com",
        "url": "https://example.com/spec",
        "phone": "+86 21 5555 0100",
        "measurement": 10.02,
    }
    records = qms["store"].entity("lab", "specimen")
    created = records.create(copy.deepcopy(data))
    session.commit()
    session.expunge_all()
    stored = records.get(created.id).data
    expected = {
        **data,
        "child_table": [{"part": "P-1", "qty": 3, "price": 1.5, "amount": 4.5}],
        "computed": 8.75,
        "auto_number": "SP-0001",
    }
    assert stored == expected


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"qty_rejected": -1}, "/qty_rejected", "minimum"),
        ({"qty_rejected": "five"}, "/qty_rejected", "type"),
        ({"source": "nowhere"}, "/source", "enum"),
        ({"lot_no": None}, "/lot_no", "required"),
        ({"bogus": 1}, "/bogus", "unknown"),
        ({"cost": 99}, "/cost", "read_only"),
        ({"number": "NCR-1"}, "/number", "read_only"),
        ({"source": "customer"}, "/complaint", "required"),
        ({"qty_rejected": 1}, "", "validation"),
        ({"supplier": 999999}, "/supplier", "reference"),
        ({"defects": [{"code": "D1"}]}, "/defects/0/count", "required"),
    ],
)
def test_invalid_data_is_refused_and_nothing_written(session, qms, change, path, code):
    ncrs = qms["store"].entity("qms", "ncr")
    data = ncr_data(qms["supplier"].id)
    data.update(change)
    data = {k: v for k, v in data.items() if v is not None}
    before = session.scalar(select(func.count()).select_from(Record))
    with pytest.raises(ValidationFailed) as caught:
        ncrs.create(data)
    session.rollback()
    assert any(e["path"] == path and e["code"] == code for e in caught.value.errors), (
        caught.value.errors
    )
    assert session.scalar(select(func.count()).select_from(Record)) == before


def test_reference_to_another_workspace_is_refused(session, qms):
    other = factories.workspace(session, "other")
    _, other_actor = factories.member(session, other, "bob")
    factories.published(session, other_actor, "erp", factories.SUPPLIER)
    foreign = RecordStore(session, other_actor).entity("erp", "supplier").create({"name": "X"})
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        qms["store"].entity("qms", "ncr").create(ncr_data(foreign.id))
    assert caught.value.errors[0]["path"] == "/supplier"
    session.rollback()
    with pytest.raises(NotFound):
        qms["store"].entity("erp", "supplier").get(foreign.id)


def test_unique_values(session, qms):
    suppliers = qms["store"].entity("erp", "supplier")
    with pytest.raises(ValidationFailed) as caught:
        suppliers.create({"name": "Acme Castings"})
    assert caught.value.errors[0]["code"] == "unique"
    session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        suppliers.create_many([{"name": "Twin"}, {"name": "Twin"}])
    assert caught.value.errors[0]["path"] == "/1/name"


def test_update_merges_bumps_version_and_writes_history(session, qms):
    ncrs = qms["store"].entity("qms", "ncr")
    record = ncrs.create(ncr_data(qms["supplier"].id))
    session.commit()
    updated = ncrs.update(record.id, {"unit_cost": 4, "disposition": "scrap"}, 1, reason="recount")
    session.commit()
    assert updated.version == 2
    assert updated.data["cost"] == 20
    assert updated.data["lot_no"] == "L-001"
    history = ncrs.history(record.id)
    assert [h.action for h in history] == ["create", "update"]
    assert history[1].diff["unit_cost"] == [2.5, 4]
    assert history[1].diff["cost"] == [12.5, 20]
    assert history[1].reason == "recount"


def test_stale_update_is_refused_and_nothing_lost(session, qms):
    ncrs = qms["store"].entity("qms", "ncr")
    record = ncrs.create(ncr_data(qms["supplier"].id))
    session.commit()
    ncrs.update(record.id, {"unit_cost": 3}, 1)
    session.commit()
    with pytest.raises(StaleVersion) as caught:
        ncrs.update(record.id, {"unit_cost": 9}, 1)
    session.rollback()
    assert caught.value.extra["current_version"] == 2
    assert ncrs.get(record.id).data["unit_cost"] == 3


def test_delete_is_soft_and_refused_while_referenced(session, qms):
    store = qms["store"]
    ncr = store.entity("qms", "ncr").create(ncr_data(qms["supplier"].id))
    session.commit()
    with pytest.raises(Conflict):
        store.entity("erp", "supplier").delete(qms["supplier"].id)
    session.rollback()
    store.entity("qms", "ncr").delete(ncr.id)
    store.entity("erp", "supplier").delete(qms["supplier"].id)
    session.commit()
    with pytest.raises(NotFound):
        store.entity("qms", "ncr").get(ncr.id)
    assert session.get(Record, ncr.id).deleted_at is not None
    assert [h.action for h in store.entity("qms", "ncr").history(ncr.id)] == ["create", "delete"]


def _statements(session):
    """The SQL statements run from now on."""
    fetched = []

    @event.listens_for(session.get_bind(), "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):
        fetched.append(statement)

    return fetched


def test_filters_run_in_sql(session, qms):
    ncrs = qms["store"].entity("qms", "ncr")
    rows = [
        ncr_data(qms["supplier"].id, lot_no=f"L-{i:03}", qty_rejected=i + 5, source=src)
        for i, src in zip(range(40), ["iqc", "oqc"] * 20, strict=True)
    ]
    ncrs.create_many(rows)
    session.commit()
    statements = _statements(session)
    filters = parse_filters({"qty_rejected__gte": "30", "source": "oqc"}, set())
    page = ncrs.list(filters, limit=100)
    assert sorted(r.data["qty_rejected"] for r in page.items) == list(range(30, 45, 2))
    select_sql = [s for s in statements if "FROM records" in s][-1]
    assert "qty_rejected" in select_sql and "source" in select_sql


@pytest.mark.parametrize(
    ("params", "lots"),
    [
        ({"lot_no__in": "L-001,L-003"}, ["L-001", "L-003"]),
        ({"lot_no__contains": "00"}, ["L-001", "L-002", "L-003"]),
        ({"qty_rejected__lt": "7"}, ["L-001"]),
        ({"qty_rejected__lte": "7"}, ["L-001", "L-002"]),
        ({"qty_rejected__gt": "7"}, ["L-003"]),
        ({"disposition__null": "true"}, ["L-002", "L-003"]),
        ({"disposition": "scrap"}, ["L-001"]),
        ({"disposition__ne": "scrap"}, ["L-002", "L-003"]),
        ({"defects.code": "D9"}, ["L-003"]),
        ({"defects.count__gte": "3"}, ["L-001", "L-003"]),
    ],
)
def test_filter_operators(session, qms, params, lots):
    ncrs = qms["store"].entity("qms", "ncr")
    sid = qms["supplier"].id
    ncrs.create_many(
        [
            ncr_data(sid, lot_no="L-001", qty_rejected=6, disposition="scrap"),
            ncr_data(sid, lot_no="L-002", qty_rejected=7, defects=[{"code": "D1", "count": 1}]),
            ncr_data(sid, lot_no="L-003", qty_rejected=9, defects=[{"code": "D9", "count": 4}]),
        ]
    )
    session.commit()
    page = ncrs.list(parse_filters(params, set()), order_by="lot_no")
    assert [r.data["lot_no"] for r in page.items] == lots


def test_cursor_pagination_visits_every_record_once(session, qms):
    ncrs = qms["store"].entity("qms", "ncr")
    sid = qms["supplier"].id
    ncrs.create_many(
        [ncr_data(sid, lot_no=f"L-{i % 7}", qty_rejected=i + 5) for i in range(23)]
        + [{k: v for k, v in ncr_data(sid).items() if k != "supplier"}]
    )
    session.commit()
    for order in ("lot_no", "-lot_no", "-qty_rejected", "supplier", "-supplier", None):
        seen, cursor = [], None
        while True:
            page = ncrs.list(order_by=order, limit=5, cursor=cursor)
            seen.extend(r.id for r in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 24, order


def test_concurrent_auto_numbers_are_unique_and_gapless(app, qms):
    from jizuo.platform.db import new_session

    actor = qms["actor"]
    sid = qms["supplier"].id
    errors = []

    def worker(n: int) -> None:
        s = new_session(app, write=True)
        try:
            for _ in range(n):
                RecordStore(s, actor).entity("qms", "ncr").create(ncr_data(sid))
                s.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(10,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = new_session(app)
    numbers = sorted(
        int(r.data["number"][-5:])
        for r in s.scalars(
            select(Record).where(
                Record.entity_id == RecordStore(s, actor).entity("qms", "ncr").entity_id
            )
        )
    )
    s.close()
    assert numbers == list(range(1, 41))


def test_concurrent_patch_with_same_version_exactly_one_wins(app, qms, session):
    from jizuo.platform.db import new_session

    actor = qms["actor"]
    record = qms["store"].entity("qms", "ncr").create(ncr_data(qms["supplier"].id))
    session.commit()
    outcomes = []
    barrier = threading.Barrier(4)

    def worker(cost: float) -> None:
        s = new_session(app, write=True)
        try:
            barrier.wait()
            RecordStore(s, actor).entity("qms", "ncr").update(record.id, {"unit_cost": cost}, 1)
            s.commit()
            outcomes.append("won")
        except StaleVersion:
            outcomes.append("stale")
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in (1.0, 2.0, 3.0, 4.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stale", "stale", "stale", "won"]
    session.expire_all()
    final = session.get(Record, record.id)
    assert final.version == 2


def test_create_leaves_the_callers_input_untouched(session, qms):
    data = ncr_data(qms["supplier"].id)
    snapshot = copy.deepcopy(data)
    qms["store"].entity("qms", "ncr").create_many([data])
    assert data == snapshot


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"multi_select__contains": "red"}, [["red", "blue"]]),
        ({"multi_select": "green"}, [["green"]]),
        ({"multi_select__in": "green,blue"}, [["red", "blue"], ["green"]]),
        ({"multi_select__null": "true"}, [None]),
    ],
)
def test_multi_select_filters(session, qms, params, expected):
    factories.published(session, qms["actor"], "lab", factories.EVERY_TYPE)
    specimens = qms["store"].entity("lab", "specimen")
    specimens.create_many(
        [{"multi_select": ["red", "blue"]}, {"multi_select": ["green"]}, {"text": "none"}]
    )
    session.commit()
    page = specimens.list(parse_filters(params, set()), order_by="id")
    assert [r.data.get("multi_select") for r in page.items] == expected


def test_formulas_see_the_formulas_they_depend_on(session, qms):
    order = {
        "key": "order",
        "title": "Order",
        "schema": {
            "type": "object",
            "properties": {
                "with_tax": {"type": "number", "x-formula": "total * 1.13", "x-precision": 2},
                "total": {"type": "number", "x-formula": "sum_of(lines, 'amount')"},
                "lines": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "qty": {"type": "integer"},
                            "price": {"type": "number"},
                            "amount": {"type": "number", "x-formula": "qty * price"},
                        },
                    },
                },
            },
        },
    }
    factories.published(session, qms["actor"], "erp", order)
    record = (
        qms["store"]
        .entity("erp", "order")
        .create({"lines": [{"qty": 3, "price": 1.5}, {"qty": 2, "price": 0.25}]})
    )
    assert [line["amount"] for line in record.data["lines"]] == [4.5, 0.5]
    assert record.data["total"] == 5.0
    assert record.data["with_tax"] == 5.65


def test_filter_and_order_on_nested_object_fields(session, qms):
    site = {
        "key": "site",
        "title": "Site",
        "schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "address": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "floor": {"type": "integer"}},
                },
            },
        },
    }
    factories.published(session, qms["actor"], "mes", site)
    sites = qms["store"].entity("mes", "site")
    sites.create_many(
        [
            {"name": "A", "address": {"city": "Suzhou", "floor": 3}},
            {"name": "B", "address": {"city": "Ningbo", "floor": 1}},
            {"name": "C", "address": {"city": "Suzhou", "floor": 2}},
        ]
    )
    session.commit()
    page = sites.list(parse_filters({"address.city": "Suzhou"}, set()), order_by="address.floor")
    assert [r.data["name"] for r in page.items] == ["C", "A"]
    page = sites.list(parse_filters({"address.floor__gte": "2"}, set()), order_by="-address.floor")
    assert [r.data["name"] for r in page.items] == ["A", "C"]


def test_nul_characters_are_refused_by_the_record_store_too(session):
    import pytest

    from jizuo.platform.errors import ValidationFailed
    from jizuo.platform.records import RecordStore
    from tests import factories

    ws = factories.workspace(session)
    _, actor = factories.member(session, ws)
    factories.published(session, actor, "erp", factories.SUPPLIER)
    with pytest.raises(ValidationFailed) as caught:
        RecordStore(session, actor).entity("erp", "supplier").create({"name": "a\x00"})
    assert caught.value.errors[0]["path"] == "/name"
