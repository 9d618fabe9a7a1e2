"""Benchmark: importing a CSV file against creating the same records from ready data.

    python bench/imports.py [--rows N] [--database-url URL] [--batch N]

Writes a CSV of N rows (default 10 000; ``--rows 100000`` for the full measurement) of a
12-field entity — a unique code, a supplier referenced by its code, decimals with a comma,
day-first dates, selects by their Chinese label, booleans as 是/否 — then measures, each
in a forked process of its own so its peak memory is its own:

1. baseline: ``EntityRecords.create_many`` of the same rows already converted (typed data,
   supplier ids known), a batch at a time with one commit per batch;
2. dry run: reading, converting, looking up and checking every row, writing nothing;
3. import, valid rows only: the import job (in-process), writing batch by batch;
4. import, all or nothing: the import job, checking every row, then writing them in one
   transaction.

It prints rows/second, the ratio to the baseline and the growth of the process's peak
resident memory during the measurement, next to what holding the parsed file at once
takes (measured with tracemalloc). A streaming import's growth stays flat as N grows.
Default database: a fresh SQLite file in a temporary folder. A PostgreSQL URL starts from
an empty ``public`` schema (DROP SCHEMA public CASCADE): never point it at data that
matters. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from records import fresh_database  # bench/records.py, beside this file

from jizuo import create_app
from jizuo.platform import catalog, publishing
from jizuo.platform.actor import Actor
from jizuo.platform.auth import add_member, create_user
from jizuo.platform.db import make_engine, new_session
from jizuo.platform.import_runs import ImportLimits, dry_run, start_import, store_import_file
from jizuo.platform.imports import ImportOptions
from jizuo.platform.models import Job
from jizuo.platform.records import RecordStore

APP_KEY = "bench"
SUPPLIERS = 200
GRADES = {"a": "甲级", "b": "乙级", "c": "丙级"}
HEADER = ["零件编号", "名称", "供应商", "重量", "数量", "到货日期", "启用", "等级",
          "批次", "备注", "长度", "宽度"]  # fmt: skip
VALID_ROWS_TARGET = 0.5  # the valid-rows import at least half of create_many's rows/second


def part_definition(key: str) -> dict[str, Any]:
    """The imported entity: 12 columns, one of them a reference, one unique."""

    def titled(schema: dict[str, Any], zh: str) -> dict[str, Any]:
        return {**schema, "title": {"en": zh, "zh": zh}}

    properties = {
        "code": titled({"type": "string", "maxLength": 20, "x-unique": True}, "零件编号"),
        "name": titled({"type": "string", "maxLength": 100}, "名称"),
        "supplier": titled({"type": "integer", "x-ref": f"{APP_KEY}.supplier"}, "供应商"),
        "weight": titled({"type": "number", "minimum": 0}, "重量"),
        "qty": titled({"type": "integer", "minimum": 0}, "数量"),
        "received": titled({"type": "string", "format": "date"}, "到货日期"),
        "active": titled({"type": "boolean"}, "启用"),
        "grade": titled(
            {
                "type": "string",
                "enum": list(GRADES),
                "x-enum-labels": {k: {"en": k, "zh": v} for k, v in GRADES.items()},
            },
            "等级",
        ),
        "lot": titled({"type": "string", "maxLength": 32, "x-index": True}, "批次"),
        "note": titled({"type": "string"}, "备注"),
        "length": titled({"type": "number", "minimum": 0}, "长度"),
        "width": titled({"type": "number", "minimum": 0}, "宽度"),
        "total": {"type": "number", "x-formula": "coalesce(qty, 0) * coalesce(weight, 0)"},
    }
    return {
        "key": key,
        "title": {"en": "Part", "zh": "零件"},
        "title_field": "code",
        "schema": {"type": "object", "properties": properties, "required": ["code", "name"]},
    }


SUPPLIER = {
    "key": "supplier",
    "title": {"en": "Supplier", "zh": "供应商"},
    "title_field": "code",
    "schema": {
        "type": "object",
        "properties": {"code": {"type": "string", "x-index": True}, "name": {"type": "string"}},
        "required": ["code"],
    },
}
ENTITIES = ("part_base", "part_dry", "part_valid", "part_all")


def cells(i: int) -> list[str]:
    """Row ``i`` of the file, written the way a Chinese spreadsheet would."""
    day = date(2026, 1, 1) + timedelta(days=i % 300)
    weight = (i % 997) / 10
    return [
        f"P-{i:07d}",
        f"零件 {i}",
        f"S-{i % SUPPLIERS:03d}",
        f"{weight:.1f}".replace(".", ","),
        str(i % 500),
        day.strftime("%d.%m.%Y"),
        "是" if i % 2 else "否",
        GRADES["abc"[i % 3]],
        f"L-{i % 5000:05d}",
        "来料检验，批次抽样合格",
        f"{(i % 300) / 4:.2f}",
        f"{(i % 200) / 8:.3f}",
    ]


def converted(i: int, supplier_ids: dict[str, int]) -> dict[str, Any]:
    """Row ``i`` as typed record data: what the import's conversion produces."""
    row = cells(i)
    day, month, year = (int(p) for p in row[5].split("."))
    weight = float(row[3].replace(",", "."))
    return {
        "code": row[0],
        "name": row[1],
        "supplier": supplier_ids[row[2]],
        "weight": int(weight) if weight.is_integer() else weight,
        "qty": int(row[4]),
        "received": date(year, month, day).isoformat(),
        "active": row[6] == "是",
        "grade": "abc"[i % 3],
        "lot": row[8],
        "note": row[9],
        "length": float(row[10]),
        "width": float(row[11]),
    }


# -- set-up --------------------------------------------------------------------------------


def make_app(url: str, folder: str, batch: int):  # noqa: ANN201
    return create_app(
        {
            "INSTANCE_PATH": folder,
            "DATABASE_URL": url,
            "REDIS_URL": None,
            "SECRET_KEY": "bench-secret",
            "IMPORT_BATCH_ROWS": batch,
            "IMPORT_MAX_BYTES": 2 * 1024**3,
        }
    )


def set_up(app) -> tuple[Actor, dict[str, int]]:  # noqa: ANN001
    """A workspace, an admin, the suppliers and one empty part entity per measurement."""
    with app.app_context(), new_session(app, write=True) as session:
        ws = catalog.create_workspace(session, "bench", {"en": "Bench", "zh": "基准"})
        user = create_user(session, "bench", "correct horse battery")
        membership = add_member(session, user, ws, ["admin"])
        actor = Actor(ws.id, user.id, user.username, frozenset(membership.roles))
        catalog.create_app_definition(session, actor, APP_KEY, "Bench")
        for definition in [SUPPLIER] + [part_definition(k) for k in ENTITIES]:
            catalog.create_entity(session, actor, APP_KEY, definition)
            publishing.publish_entity(session, actor, APP_KEY, definition["key"])
        suppliers = RecordStore(session, actor).entity(APP_KEY, "supplier")
        rows = [{"code": f"S-{n:03d}", "name": f"供应商 {n}"} for n in range(SUPPLIERS)]
        ids = suppliers.create_many(rows)
        session.commit()
    return actor, {row["code"]: rid for row, rid in zip(rows, ids, strict=True)}


def write_file(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(cells(i))


# -- measurements --------------------------------------------------------------------------


def peak_kib() -> int:
    """The process's peak resident memory so far, in KiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def in_child(work: Callable[[], int]) -> tuple[float, int, int]:
    """Run ``work`` (returning rows done) in a forked process: seconds, rows, peak growth KiB."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def run() -> None:
        start_peak = peak_kib()
        started = time.perf_counter()
        done = work()
        results.put((time.perf_counter() - started, done, peak_kib() - start_peak))

    child = context.Process(target=run)
    child.start()
    outcome = results.get()
    child.join()
    return outcome


def batched(rows: int, size: int) -> Iterator[range]:
    for start in range(0, rows, size):
        yield range(start, min(start + size, rows))


def measure(url: str, folder: str, path: Path, rows: int, batch: int) -> list[list[str]]:
    app = make_app(url, folder, batch)
    actor, supplier_ids = set_up(app)
    app.extensions["jizuo"]["engine"].dispose()  # the children open their own connections
    options = {"reference_keys": {"supplier": "code"}, "date_order": "day_first"}

    def baseline() -> int:
        child_app = make_app(url, folder, batch)
        with child_app.app_context(), new_session(child_app, write=True) as session:
            records = RecordStore(session, actor).entity(APP_KEY, "part_base")
            for part in batched(rows, batch):
                records.create_many([converted(i, supplier_ids) for i in part])
                session.commit()
        return rows

    def checked() -> int:
        child_app = make_app(url, folder, batch)
        with child_app.app_context(), new_session(child_app) as session:
            records = RecordStore(session, actor).entity(APP_KEY, "part_dry")
            limits = ImportLimits.of(child_app)
            report = dry_run(records, path, path.name, ImportOptions.from_json(options), limits)
        assert report["valid"] == rows, report["errors"][:3]
        return report["rows"]

    def imported(entity: str, mode: str) -> Callable[[], int]:
        def work() -> int:
            child_app = make_app(url, folder, batch)
            with child_app.app_context(), new_session(child_app, write=True) as session:
                records = RecordStore(session, actor).entity(APP_KEY, entity)
                limits = ImportLimits.of(child_app)
                with path.open("rb") as stream:
                    stored = store_import_file(session, actor, limits, path.name, "", stream)
                chosen = ImportOptions.from_json({**options, "mode": mode})
                job = start_import(records, stored.id, chosen, limits)
                session.commit()  # the job runs here, in this process
                session.expire_all()
                result = session.get(Job, job.id).result
            assert result["written"] == rows, result
            return result["written"]

        return work

    figures = [
        ("create_many of converted rows (baseline)", in_child(baseline)),
        ("dry run: convert, look up, check", in_child(checked)),
        ("import job, valid rows only", in_child(imported("part_valid", "valid_rows"))),
        ("import job, all or nothing", in_child(imported("part_all", "all_or_nothing"))),
    ]
    base_rate = figures[0][1][1] / figures[0][1][0]
    table = []
    for label, (seconds, done, growth) in figures:
        rate = done / seconds
        table.append([label, f"{rate:,.0f}", f"{rate / base_rate:.0%}", f"{growth / 1024:.1f}"])
    valid_rate = figures[2][1][1] / figures[2][1][0]
    verdict = "PASS" if valid_rate >= VALID_ROWS_TARGET * base_rate else "MISS"
    target = f"≥ {VALID_ROWS_TARGET:.0%}"
    table.append(["target: valid-rows import vs baseline", target, verdict, ""])
    return table


def parsed_file_mib(path: Path) -> float:
    """What the parsed file takes when held at once (a list of rows of strings)."""
    tracemalloc.start()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        whole = list(csv.reader(handle))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del whole
    return peak / 1024**2


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    print(f"\n== {title} ==")
    for row in [header, *rows]:
        cells_ = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  " + "   ".join(cells_).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the file (10 000)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    parser.add_argument("--batch", type=int, default=500, help="rows per batch (500)")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="jizuo-bench-imports-")
    try:
        url = fresh_database(args.database_url, folder)
        path = Path(folder) / "parts.csv"
        write_file(path, args.rows)
        size = path.stat().st_size / 1024**2
        whole = parsed_file_mib(path)
        print(f"{args.rows:,} rows, {size:.1f} MiB of CSV on {make_engine(url).dialect.name}; "
              f"held at once, the parsed file takes {whole:.1f} MiB")  # fmt: skip
        table = measure(url, folder, path, args.rows, args.batch)
        print_table(
            f"import of {args.rows:,} validated rows",
            ["measurement", "rows/s", "vs baseline", "peak memory growth MiB"],
            table,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
