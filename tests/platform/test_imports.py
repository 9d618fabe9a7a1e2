"""Imports of CSV and XLSX files: dry runs, all-or-nothing and valid-rows runs, mapping,
references by key, permissions, bad files, jobs (in-process and rq) and memory."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from jizuo.platform.import_runs import ImportLimits, dry_run, importing_records
from jizuo.platform.imports import ImportOptions
from jizuo.platform.models import Attachment, Job, RecordHistory
from tests.platform.import_support import GOOD_CODES, MIXED, Shop, csv_bytes

KEYS = json.dumps({"supplier": "code"})


@pytest.fixture
def shop(session, client):  # noqa: ANN001, ANN201
    return Shop(session, client)


def test_a_dry_run_lists_the_bad_rows_with_reasons_and_writes_nothing(shop):
    before = shop.counts()
    r = shop.post(csv_bytes(MIXED), dry_run="true", reference_keys=KEYS)
    assert r.status_code == 200, r.json
    report = r.json
    assert (report["rows"], report["valid"], report["invalid"]) == (6, 3, 3)
    by_row = {}
    for e in report["errors"]:
        by_row.setdefault(e["row"], []).append(e)
    assert sorted(by_row) == [3, 5, 7]  # file rows: the header is row 1
    [weight] = by_row[3]
    assert (weight["column"], weight["field"]) == ("Weight", "weight")
    assert "'abc' is not a number" in weight["message"]
    [name] = by_row[5]
    assert name["field"] == "name" and name["code"] == "required"
    [supplier] = by_row[7]
    assert supplier["column"] == "Supplier" and "code 'S-999'" in supplier["message"]
    assert report["errors_by_column"] == {"Weight": 1, "Name": 1, "Supplier": 1}
    assert report["mapping"]["Part code"] == "code" and report["mapping"]["Grade"] == "grade"
    assert shop.counts() == before
    assert shop.session.scalars(select(Attachment)).all() == []  # a dry run keeps no file


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(shop):
    before = shop.counts()
    r = shop.post(csv_bytes(MIXED), reference_keys=KEYS)
    assert r.status_code == 202, r.json
    job = shop.client.get(r.headers["Location"], headers=shop.headers).json
    assert job["status"] == "finished" and job["result"]["outcome"] == "refused"
    assert job["result"]["written"] == 0 and job["result"]["invalid"] == 3
    assert sorted({e["row"] for e in job["result"]["errors"]}) == [3, 5, 7]
    assert shop.counts() == before  # no record, no history entry


def test_valid_rows_mode_writes_exactly_the_good_rows(shop):
    r = shop.post(csv_bytes(MIXED), reference_keys=KEYS, mode="valid_rows")
    assert r.status_code == 202, r.json
    result = r.json["result"]
    assert (result["written"], result["invalid"], result["outcome"]) == (3, 3, "imported")
    parts = shop.parts()
    assert [p["code"] for p in parts] == GOOD_CODES
    p1, p3, p5 = parts
    # Values checked against the file, converted by hand.
    assert p1 == {"code": "P-1", "name": "Bolt M6", "supplier": shop.acme, "weight": 1.5,
                  "qty": 10, "received": "2026-11-25", "active": True, "grade": "a",
                  "total": 15.0}  # fmt: skip
    assert (p3["weight"], p3["received"], p3["grade"], p3["supplier"]) == (
        0.25, "2026-11-26", "a", shop.bolt)  # fmt: skip
    assert (p5["weight"], p5["received"], p5["active"], p5["grade"]) == (
        1234.5, "2026-11-27", True, "b")  # fmt: skip


def test_imported_records_have_history_entries_marked_as_imported(shop):
    good = [MIXED[0]] + [row for row in MIXED[1:] if row[0] in GOOD_CODES]
    r = shop.post(csv_bytes(good), filename="收货.csv", reference_keys=KEYS)
    assert r.status_code == 202 and r.json["result"]["outcome"] == "imported", r.json
    job_id = r.json["id"]
    entries = shop.session.scalars(
        select(RecordHistory).where(RecordHistory.action == "create")
    ).all()
    imported = [e for e in entries if e.reason == f"import 收货.csv (job {job_id})"]
    assert len(imported) == 3 and len(entries) == 5  # the two suppliers were made by hand
    assert [p["code"] for p in shop.parts()] == GOOD_CODES


def test_a_finished_import_job_run_again_writes_nothing_twice(shop, app):
    from jizuo.platform.jobs import execute_job

    good = [MIXED[0], MIXED[1], MIXED[3]]
    for mode in ("all_or_nothing", "valid_rows"):
        r = shop.post(csv_bytes(good), reference_keys=KEYS, mode=mode)
        assert r.json["result"]["written"] == 2, r.json
        # A crash after the commit but before the job row said so: the row is re-run.
        shop.session.get(Job, r.json["id"]).status = "started"
        shop.session.commit()
        assert execute_job(r.json["id"]) == "finished"
        shop.session.expire_all()
        assert shop.session.get(Job, r.json["id"]).result["written"] == 2
        shop.session.rollback()
        assert len(shop.parts()) == 2
        # Clear the entity for the next mode.
        records = importing_records(shop.session, shop.admin, "erp", "part")
        for part in records.list().items:
            records.delete(part.id)
        shop.session.commit()


def test_values_in_every_common_form_are_converted(shop):
    rows = [
        ["code", "name", "weight", "received", "inspected_at", "active", "colours", "owner"],
        ["A", "a", "1 234,5", "11/25/2026", "2026-11-25 08:30", "Y", "red; blue", "ROOT"],
        ["B", "b", "1,234", "2026年11月25日", "11/25/2026 17:05:09", "否", "green,red", ""],
    ]
    r = shop.post(csv_bytes(rows), mode="valid_rows", date_order="month_first")
    assert r.json["result"]["written"] == 2, r.json
    a, b = shop.parts()
    assert (a["weight"], a["received"], a["inspected_at"]) == (1234.5, "2026-11-25",
                                                                "2026-11-25T08:30:00")  # fmt: skip
    assert (a["active"], a["colours"], a["owner"]) == (True, ["red", "blue"], shop.user.id)
    assert (b["weight"], b["received"], b["inspected_at"]) == (1234, "2026-11-25",
                                                                "2026-11-25T17:05:09")  # fmt: skip
    assert (b["active"], b["colours"], "owner" in b) == (False, ["green", "red"], False)


def test_a_year_last_date_is_read_in_the_chosen_order_only(shop):
    rows = [["code", "name", "received"], ["A", "a", "11/25/2026"]]
    report = shop.post(csv_bytes(rows), dry_run="true").json
    [problem] = report["errors"]
    assert "day/month/year" in problem["message"] and problem["column"] == "received"


def test_references_are_resolved_by_a_chosen_key_in_one_query_per_batch(shop, app):
    from sqlalchemy import event

    rows = [["code", "name", "supplier"]]
    rows += [[f"P{i}", "x", "S-001" if i % 2 else "S-002"] for i in range(40)]
    rows += [["Q1", "x", "S-404"]]
    statements = []
    engine = app.extensions["jizuo"]["engine"]
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        report = shop.post(csv_bytes(rows), dry_run="true", reference_keys=KEYS).json
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert report["valid"] == 40 and report["invalid"] == 1
    assert report["errors"][0]["message"] == "no 'erp.supplier' record with code 'S-404'"
    reads_code = ("'$.code')", "->> 'code'")  # SQLite, PostgreSQL
    by_code = [s for s in statements if any(r in s for r in reads_code) and " IN (" in s]
    # One look-up of the supplier codes, and the record store's one check of the part codes.
    assert len(by_code) == 2, by_code
    # Two suppliers with one code: the key names no single record.
    importing_records(shop.session, shop.admin, "erp", "supplier").create(
        {"name": "Acme again", "code": "S-001"}
    )
    shop.session.commit()
    again = shop.post(csv_bytes([rows[0], ["Z", "x", "S-001"]]), dry_run="true",
                      reference_keys=KEYS).json  # fmt: skip
    assert "2 'erp.supplier' records have code 'S-001'" in again["errors"][0]["message"]


def test_record_ids_are_the_default_key_of_a_reference(shop):
    rows = [["code", "name", "supplier"], ["A", "a", str(shop.bolt)], ["B", "b", "99999"]]
    report = shop.post(csv_bytes(rows), dry_run="true").json
    assert report["valid"] == 1
    assert report["errors"][0]["message"] == "no 'erp.supplier' record with id 99999"


def test_unique_values_repeated_in_the_file_are_reported_by_a_dry_run(shop):
    rows = [["code", "name"], ["A", "a"], ["B", "b"]] + [[f"C{i}", "c"] for i in range(5)]
    rows += [["A", "again"]]
    limits = ImportLimits(batch_rows=3)  # the repeat is in another batch
    records = importing_records(shop.session, shop.admin, "erp", "part")
    path = _write(rows)
    report = dry_run(records, path, "parts.csv", ImportOptions(), limits)
    assert report["invalid"] == 1
    assert report["errors"][0]["row"] == 9
    assert "already used by row 2 of the file" in report["errors"][0]["message"]


def _write(rows: list[list]) -> object:
    import tempfile
    from pathlib import Path

    handle = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
    handle.write(csv_bytes(rows))
    handle.close()
    return Path(handle.name)


def test_headers_are_mapped_by_key_or_title_in_either_language():
    from jizuo.platform.catalog import compile_definition
    from jizuo.platform.imports import suggest_mapping
    from tests.platform.import_support import PART

    definition, _ = compile_definition(PART)
    headers = ["PART CODE", "名称", "supplier", " Weight ", "total", "Remarks", "零件编号"]
    assert suggest_mapping(definition, headers, "zh") == {
        "PART CODE": "code",
        "名称": "name",
        "supplier": "supplier",
        " Weight ": "weight",
        "total": None,  # computed: no column fills it
        "Remarks": None,
        "零件编号": None,  # the part code has a column already
    }
    writable = lambda key: key != "weight"  # noqa: E731
    assert suggest_mapping(definition, ["weight"], "en", writable) == {"weight": None}


def test_the_mapping_can_be_adjusted_and_is_checked(shop):
    rows = [["Part code", "Description", "Remarks"], ["A", "a", "x"]]
    adjusted = json.dumps({"Description": "name", "Remarks": None})
    ok = shop.post(csv_bytes(rows), dry_run="true", mapping=adjusted).json
    assert ok["valid"] == 1 and ok["mapping"] == {
        "Part code": "code",
        "Description": "name",
        "Remarks": None,
    }
    bad = json.dumps({"Nope": "name", "Remarks": "colour", "Part code": "total"})
    r = shop.post(csv_bytes(rows), dry_run="true", mapping=bad)
    assert r.status_code == 422
    paths = {e["path"]: e["message"] for e in r.json["errors"]}
    assert paths["/mapping/Nope"] == "the file has no column 'Nope'"
    assert paths["/mapping/Remarks"] == "'part' has no field 'colour'"
    assert paths["/mapping/Part code"] == "'total' is computed by the platform"
    required = sorted(e["message"] for e in r.json["errors"] if e["path"] == "/mapping")
    assert required == ["no column fills 'code'", "no column fills 'name'"]
    # Naming a suggested field for another column moves it there; naming it twice is refused.
    moved = shop.post(csv_bytes(rows), dry_run="true", mapping=json.dumps({"Description": "code"}))
    assert moved.status_code == 422 and moved.json["errors"] == [
        {"path": "/mapping", "message": "no column fills 'name'", "code": "required"}
    ]
    twice = json.dumps({"Description": "code", "Part code": "code", "Remarks": "name"})
    r = shop.post(csv_bytes(rows), dry_run="true", mapping=twice)
    assert r.status_code == 422
    assert {e["path"] for e in r.json["errors"]} == {"/mapping/Description", "/mapping/Part code"}
    r = shop.post(csv_bytes(rows), dry_run="true", mapping="{not json")
    assert r.status_code == 400 and r.json["errors"][0]["path"] == "/mapping"
    refs = [["code", "name", "supplier"], ["A", "a", "S-001"]]
    r = shop.post(csv_bytes(refs), dry_run="true", reference_keys=json.dumps({"supplier": "x"}))
    assert r.status_code == 422 and r.json["errors"] == [{
        "path": "/reference_keys/supplier",
        "message": "'erp.supplier' has no field 'x' to find records by",
        "code": "reference"}]  # fmt: skip


def test_bad_files_are_refused_clearly_and_nothing_is_kept(shop, app):
    before = shop.counts()
    cases = [
        (b"", "parts.csv", 422, "empty"),
        (b"%PDF-1.4 ...", "parts.pdf", 422, "CSV (.csv) or Excel (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "parts.xls", 422, ".xls"),
        (b"not a zip", "parts.xlsx", 422, "not an Excel workbook"),
        (b"\n\n", "parts.csv", 422, "no column names"),
    ]
    for content, name, status, text in cases:
        r = shop.post(content, filename=name)
        assert r.status_code == status, (name, r.json)
        assert text in r.json["detail"], (name, r.json)
        assert r.json["errors"][0]["path"] == "/file"
    r = shop.post(None)
    assert r.status_code == 400 and r.json["errors"][0]["path"] == "/file"
    rows = [["code", "name"]] + [[f"P{i}", "x"] for i in range(5)]
    app.config["IMPORT_MAX_ROWS"] = 4
    assert shop.post(csv_bytes(rows)).status_code == 413
    assert shop.post(csv_bytes(rows), dry_run="true").status_code == 413
    app.config["IMPORT_MAX_ROWS"] = None
    app.config["IMPORT_MAX_BYTES"] = 20
    r = shop.post(csv_bytes(rows))
    assert r.status_code == 413 and "at most 20 bytes" in r.json["detail"]
    assert shop.post(csv_bytes(rows), dry_run="true").status_code == 413
    assert shop.counts() == before
    shop.session.expire_all()
    assert shop.session.scalars(select(Attachment)).all() == []
    assert shop.session.scalars(select(Job)).all() == []


def test_importing_needs_the_create_right_and_writable_fields(shop):
    from jizuo.platform.models import App
    from jizuo.platform.permissions import define_role, save_app_permissions
    from tests import factories

    define_role(shop.session, shop.admin, "clerk", "Clerk")
    define_role(shop.session, shop.admin, "viewer", "Viewer")
    app = shop.session.scalar(select(App).where(App.key == "erp"))
    save_app_permissions(shop.session, shop.admin, app, {"entities": {
        "part": {"clerk": {"actions": ["read", "create"],
                           "fields": {"weight": "read", "qty": "hidden"},
                           "scope": "record.grade == 'a'"},
                 "viewer": {"actions": ["read"]}},
        "supplier": {"clerk": {"actions": []}}}})  # fmt: skip
    headers = {}
    for name in ("clerk", "viewer"):
        user, _ = factories.member(shop.session, shop.ws, name, (name,))
        headers[name] = {"Authorization": f"Bearer {factories.token(shop.session, shop.ws, user)}"}
    shop.session.commit()
    rows = [["code", "name", "grade"], ["A", "a", "a"], ["B", "b", "b"]]
    r = shop.post(csv_bytes(rows), headers=headers["viewer"])
    assert r.status_code == 403
    # The clerk may create grade-a parts only (the row scope): B is refused.
    report = shop.post(csv_bytes(rows), headers=headers["clerk"], dry_run="true").json
    assert report["valid"] == 1 and report["errors"][0]["row"] == 3
    assert report["errors"][0]["code"] == "scope"
    # Fields it may only read, or not see, cannot be filled; suppliers it cannot read cannot
    # be linked.
    more = [["code", "name", "weight", "qty", "supplier"], ["A", "a", "1", "2", "1"]]
    mapping = json.dumps({"weight": "weight", "qty": "qty", "supplier": "supplier"})
    r = shop.post(csv_bytes(more), headers=headers["clerk"], dry_run="true", mapping=mapping)
    assert r.status_code == 422
    paths = {e["path"]: e["message"] for e in r.json["errors"]}
    assert paths["/mapping/weight"] == "you may not change 'weight'"
    assert paths["/mapping/qty"] == "'part' has no field 'qty'"
    assert "may not read 'erp.supplier'" in paths["/reference_keys/supplier"]
    # Unmapped by the suggestion: only the columns it may write.
    plain = shop.post(csv_bytes(more), headers=headers["clerk"], dry_run="true")
    assert plain.status_code == 422  # the supplier column still names unreadable records
    assert plain.json["errors"][0]["path"] == "/reference_keys/supplier"


def test_an_import_job_is_shown_to_its_importer_only(shop):
    from tests import factories

    r = shop.post(csv_bytes([["code", "name"], ["A", "a"]]))
    location = r.headers["Location"]
    assert shop.client.get(location, headers=shop.headers).json["result"]["written"] == 1
    other, _ = factories.member(shop.session, shop.ws, "other", ("member",))
    token = factories.token(shop.session, shop.ws, other)
    shop.session.commit()
    assert (
        shop.client.get(location, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    )
    wrong = location.replace("/part/", "/supplier/")
    assert shop.client.get(wrong, headers=shop.headers).status_code == 404


def test_an_idempotency_key_starts_one_import(shop):
    content = csv_bytes([["code", "name"], ["A", "a"]])
    first = shop.post(content, headers={"Idempotency-Key": "k-1"})
    again = shop.post(content, headers={"Idempotency-Key": "k-1"})
    assert first.json["id"] == again.json["id"] and len(shop.parts()) == 1


def test_csv_files_of_chinese_excel_and_other_delimiters_are_read(shop):
    rows = [["零件编号", "名称", "等级"], ["甲-1", "螺栓", "甲级"], ["甲-2", "螺母", "乙级"]]
    for content in (
        csv_bytes(rows, encoding="gb18030"),
        "\ufeff".encode() + csv_bytes(rows, delimiter=";"),
        csv_bytes(rows, delimiter="\t", encoding="utf-16"),
    ):
        report = shop.post(content, dry_run="true").json
        assert report["valid"] == 2, report
        assert report["mapping"] == {"零件编号": "code", "名称": "name", "等级": "grade"}


def test_xlsx_with_chinese_headers_maps_to_fields_by_their_chinese_titles(shop):
    import io
    from datetime import date, datetime

    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.active.append(["this sheet is not the table"])
    sheet = book.create_sheet("零件")
    sheet.append(
        ["零件编号", "名称", "供应商", "重量", "数量", "到货日期", "检验时间", "启用", "等级"]
    )
    sheet.append(["P-1", "螺栓", "S-001", 1.5, 10, date(2026, 11, 25),
                  datetime(2026, 11, 25, 8, 30), True, "甲级"])  # fmt: skip
    sheet.append([None] * 9)  # a blank row is skipped
    sheet.append([1001, "螺母", "S-002", "2,5", 3.0, datetime(2026, 11, 26), None, "否", "b"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = shop.post(buffer.getvalue(), filename="零件.xlsx", sheet="零件", reference_keys=KEYS)
    assert r.status_code == 202 and r.json["result"]["written"] == 2, r.json
    first, second = shop.parts()
    assert first == {"code": "1001", "name": "螺母", "supplier": shop.bolt, "weight": 2.5,
                     "qty": 3, "received": "2026-11-26", "active": False, "grade": "b",
                     "total": 7.5}  # fmt: skip
    assert second == {"code": "P-1", "name": "螺栓", "supplier": shop.acme, "weight": 1.5,
                      "qty": 10, "received": "2026-11-25", "inspected_at": "2026-11-25T08:30:00",
                      "active": True, "grade": "a", "total": 15.0}  # fmt: skip
    missing = shop.post(buffer.getvalue(), filename="零件.xlsx", sheet="Sheet9", dry_run="true")
    assert missing.status_code == 422 and missing.json["errors"][0]["path"] == "/sheet"


@pytest.mark.redis
def test_an_import_runs_through_rq_with_redis(shop, app):
    from redis import Redis
    from rq import SimpleWorker

    from jizuo.platform import jobs
    from tests.conftest import REDIS_URL

    app.config["REDIS_URL"] = REDIS_URL
    app.config["QUEUE_NAME"] = "jizuo-test-imports"
    connection = Redis.from_url(REDIS_URL)
    low = jobs.rq_queues(app, connection, ("low",))[0]
    low.empty()
    r = shop.post(csv_bytes(MIXED), reference_keys=KEYS, mode="valid_rows")
    assert r.status_code == 202 and r.json["status"] == "queued"
    assert low.count == 1 and shop.parts() == []
    SimpleWorker([low], connection=connection).work(burst=True)
    job = shop.client.get(r.headers["Location"], headers=shop.headers).json
    assert job["status"] == "finished" and job["result"]["written"] == 3
    assert [p["code"] for p in shop.parts()] == GOOD_CODES


def test_a_valid_rows_import_retried_after_a_crash_does_not_duplicate(shop, app, monkeypatch):
    from jizuo.platform.records import EntityRecords

    app.config["IMPORT_BATCH_ROWS"] = 2
    real = EntityRecords.create_valid
    calls = []

    def crash_once_on_the_second_batch(self, rows, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append(len(rows))
        if len(calls) == 2:
            raise ConnectionError("the database went away")
        return real(self, rows, **kw)

    monkeypatch.setattr(EntityRecords, "create_valid", crash_once_on_the_second_batch)
    rows = [["code", "name"]] + [[f"P{i}", "x"] for i in range(5)]
    r = shop.post(csv_bytes(rows), mode="valid_rows")
    assert r.json["status"] == "finished" and r.json["attempts"] == 2, r.json
    assert r.json["result"]["written"] == 5 and r.json["result"]["rows"] == 5
    assert [p["code"] for p in shop.parts()] == [f"P{i}" for i in range(5)]
    # Batch 1 was committed with its receipt before the crash, and not written again.
    assert calls == [2, 2, 2, 1]


def test_a_large_file_is_imported_a_batch_at_a_time(shop, app, tmp_path):
    """20 000 rows: the peak of Python memory while importing stays far below what holding
    the parsed file at once takes (measured here the same way)."""
    import csv
    import tracemalloc

    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "name", "qty", "weight", "received"])
        for i in range(20_000):
            writer.writerow([f"P{i:06d}", f"part number {i} of the big file", i % 900,
                             f"{i % 97},5", "2026-11-25"])  # fmt: skip

    tracemalloc.start()
    with path.open(newline="", encoding="utf-8") as handle:
        whole = list(csv.reader(handle))
    _, whole_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del whole

    records = importing_records(shop.session, shop.admin, "erp", "part")
    tracemalloc.start()
    report = dry_run(records, path, "big.csv", ImportOptions(), ImportLimits())
    _, import_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    shop.session.rollback()
    assert report["valid"] == 20_000, report["errors"][:3]
    assert import_peak < whole_peak / 2, (import_peak, whole_peak)


@pytest.mark.parametrize(
    ("text", "sign", "expected"),
    [
        ("1,5", "auto", "1.5"),
        ("1.5", "auto", "1.5"),
        ("1,234", "auto", "1234"),
        ("1,234", ",", "1.234"),
        ("1,234.5", "auto", "1234.5"),
        ("1.234,5", "auto", "1234.5"),
        ("1.234.567", "auto", "1234567"),
        ("1 234 567,25", "auto", "1234567.25"),
        ("-0,75", "auto", "-0.75"),
        ("1'234.5", ".", "1234.5"),
    ],
)
def test_decimals_with_a_point_or_a_comma(text, sign, expected):
    from decimal import Decimal

    from jizuo.platform.import_values import parse_decimal

    assert parse_decimal(text, sign) == Decimal(expected)


@pytest.mark.parametrize("text", ["1,2,3.4.5", "1.2.3,4,5", "abc", "1e", "NaN", "inf"])
def test_what_is_not_a_number_is_refused(text):
    from jizuo.platform.import_values import CellError, parse_decimal

    with pytest.raises(CellError):
        parse_decimal(text)


def test_dates_year_first_always_and_year_last_in_the_chosen_order():
    from datetime import date

    from jizuo.platform.import_values import CellError, parse_date

    for text in ("2026-11-05", "2026/11/5", "2026.11.05", "2026年11月5日"):
        assert parse_date(text, "month_first") == date(2026, 11, 5)
    assert parse_date("05.11.2026") == date(2026, 11, 5)
    assert parse_date("11/05/2026", "month_first") == date(2026, 11, 5)
    for text, order in (("11/25/2026", "day_first"), ("25.11.2026", "month_first"),
                        ("2026-02-30", "day_first"), ("25.11.26", "day_first")):  # fmt: skip
        with pytest.raises(CellError):
            parse_date(text, order)
