"""Benchmark: reports over the generic record store against the same work on native tables.

    python bench/reports.py [--database-url URL] [--records N] [--repeat N] [--section NAME]

Prints one table per section and a summary table of every measurement with its target:

* ``aggregation`` — group-by + measures over N records (default 100 000; the target is stated
  for 1 000 000: ``--records 1000000``): a published report run through ``run_report`` (plan,
  permissions, SQL over the JSON records, JSON-safe rows) against the same GROUP BY on a native
  typed table holding the same data, median of ``--repeat`` runs after a warm-up (target: at
  most 3x). Also, informational: a group-by through a reference (a join), and a median per group
  (pandas on the fetched values, against PostgreSQL's ``percentile_cont`` or pandas on SQLite).

* ``imports`` — rows/s of an import with validation (``--import-rows``, default 10 000; the
  figure is stated for 100 000) against ``create_many`` of the same rows already converted,
  through ``bench/imports.py``'s own measurement, in a database of its own (a second SQLite
  file; on PostgreSQL the same database, emptied again after the aggregation section).
* ``charts`` — SVG export time per chart type (``--chart-rows`` rows, default 200, median of
  ``--repeat`` runs) against vl-convert rendering a one-point chart, through
  ``bench/charts.py``'s tables and timings.

More sections add a function to ``SECTIONS``.

Default database: a fresh SQLite file in a temporary folder, removed afterwards. A PostgreSQL URL
starts from an empty ``public`` schema (DROP SCHEMA public CASCADE), so never point it at a
database whose data matters. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from flask import Flask
from records import fresh_database  # bench/records.py, beside this file
from sqlalchemy import Engine, insert, text

from jizuo import create_app
from jizuo.platform import catalog, definitions, publishing
from jizuo.platform.actor import Actor
from jizuo.platform.auth import add_member, create_user
from jizuo.platform.db import WRITE_OPTION, engine_of, new_session
from jizuo.platform.models import Record, utcnow
from jizuo.platform.report_engine import run_report

APP_KEY = "bench"
LINES = [f"L{n:02d}" for n in range(1, 21)]
SUPPLIERS = 50
AGGREGATION_TARGET = 3.0  # the report at most 3x the native GROUP BY
CHUNK = 10_000

SUPPLIER = {
    "key": "supplier",
    "title": "Supplier",
    "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
}
LOT = {
    "key": "lot",
    "title": "Lot",
    "schema": {
        "type": "object",
        "properties": {
            "line": {"type": "string", "enum": LINES},
            "supplier": {"type": "integer", "x-ref": "bench.supplier"},
            "date": {"type": "string", "format": "date"},
            "qty": {"type": "integer", "minimum": 0},
            "value": {"type": "number"},
        },
        "required": ["line", "date", "qty"],
    },
}
REPORTS = {
    "by_line_month": {
        "title": "By line and month",
        "source": {"entity": "lot"},
        "group_by": [{"field": "line"}, {"field": "date", "bucket": "month", "key": "month"}],
        "measures": [
            {"key": "n", "agg": "count"},
            {"key": "qty", "agg": "sum", "field": "qty"},
            {"key": "mean", "agg": "avg", "field": "value"},
            {"key": "high", "agg": "max", "field": "value"},
        ],
    },
    "by_supplier_quarter": {
        "title": "By supplier and quarter",
        "source": {"entity": "lot"},
        "group_by": [
            {"field": "supplier.name", "key": "supplier"},
            {"field": "date", "bucket": "quarter", "key": "quarter"},
        ],
        "measures": [{"key": "n", "agg": "count"}, {"key": "qty", "agg": "sum", "field": "qty"}],
    },
    "median_by_line": {
        "title": "Median by line",
        "source": {"entity": "lot"},
        "group_by": [{"field": "line"}],
        "measures": [{"key": "median", "agg": "median", "field": "value"}],
    },
}
NATIVE_TABLES = """
CREATE TABLE native_supplier (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE native_lot (id INTEGER PRIMARY KEY, line TEXT NOT NULL, supplier_id INTEGER,
                         date DATE NOT NULL, qty INTEGER NOT NULL, value DOUBLE PRECISION)
"""
NATIVE_SQL = {
    ("by_line_month", "postgresql"): "SELECT line, date_trunc('month', date)::date AS month, "
    "count(*), sum(qty), avg(value), max(value) FROM native_lot GROUP BY 1, 2",
    ("by_line_month", "sqlite"): "SELECT line, date(date, 'start of month') AS month, "
    "count(*), sum(qty), avg(value), max(value) FROM native_lot GROUP BY 1, 2",
    ("by_supplier_quarter", "postgresql"): "SELECT s.name, date_trunc('quarter', l.date)::date, "
    "count(*), sum(l.qty) FROM native_lot l LEFT JOIN native_supplier s ON s.id = l.supplier_id "
    "GROUP BY 1, 2",
    ("by_supplier_quarter", "sqlite"): "SELECT s.name, date(l.date, 'start of month', "
    "printf('-%d months', (CAST(strftime('%m', l.date) AS INTEGER) - 1) % 3)), count(*), "
    "sum(l.qty) FROM native_lot l LEFT JOIN native_supplier s ON s.id = l.supplier_id "
    "GROUP BY 1, 2",
    ("median_by_line", "postgresql"): "SELECT line, percentile_cont(0.5) WITHIN GROUP "
    "(ORDER BY value) FROM native_lot GROUP BY line",
    ("median_by_line", "sqlite"): "SELECT line, value FROM native_lot",
}


@dataclass
class Bench:
    """The app, its database and the workspace admin the reports run as."""

    app: Flask
    engine: Engine
    actor: Actor
    records: int
    repeat: int
    entity_ids: dict[str, int] = field(default_factory=dict)
    url: str = ""
    folder: str = ""
    import_rows: int = 10_000
    chart_rows: int = 200


@dataclass
class Row:
    """One line of the summary: a measurement, its baseline and target."""

    section: str
    what: str
    ours: str
    baseline: str
    ratio: str = ""
    target: str = ""
    result: str = ""


# -- set-up --------------------------------------------------------------------------------


def set_up(url: str, folder: str, records: int, repeat: int) -> Bench:
    """The app, a workspace with an admin, the two entities and the published reports."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": folder,
            "DATABASE_URL": url,
            "REDIS_URL": None,
            "SECRET_KEY": "bench-secret",
        }
    )
    with new_session(app, write=True) as session:
        ws = catalog.create_workspace(session, "bench", {"en": "Bench", "zh": "基准"})
        user = create_user(session, "bench", "correct horse battery")
        membership = add_member(session, user, ws, ["admin"])
        actor = Actor(ws.id, user.id, user.username, frozenset(membership.roles))
        catalog.create_app_definition(session, actor, APP_KEY, "Bench")
        bench = Bench(app, engine_of(app), actor, records, repeat)
        for definition in (SUPPLIER, LOT):
            entity = catalog.create_entity(session, actor, APP_KEY, definition)
            publishing.publish_entity(session, actor, APP_KEY, definition["key"])
            bench.entity_ids[definition["key"]] = entity.id
        for key, body in REPORTS.items():
            definitions.save_draft_definition(session, actor, APP_KEY, "report", key, body)
            definitions.publish_definition(session, actor, APP_KEY, "report", key)
        session.commit()
    return bench


def lot(i: int, supplier_ids: list[int]) -> dict[str, Any]:
    """Lot ``i``: spread over lines, suppliers (one lot in 25 has none) and two years."""
    data: dict[str, Any] = {
        "line": LINES[i * 7 % len(LINES)],
        "date": (date(2023, 1, 1) + timedelta(days=i * 13 % 730)).isoformat(),
        "qty": i * 31 % 1000 + 1,
        "value": round(10 + (i * 17 % 2001 - 1000) / 250, 3),
    }
    if i % 25:
        data["supplier"] = supplier_ids[i * 11 % len(supplier_ids)]
    return data


def load(bench: Bench) -> float:
    """Insert the records (Core, as a bulk import would) and the same rows natively."""
    started = time.perf_counter()
    engine = bench.engine.execution_options(**{WRITE_OPTION: True})
    records = Record.__table__
    now = utcnow()

    def values(entity: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "workspace_id": bench.actor.workspace_id,
                "entity_id": bench.entity_ids[entity],
                "entity_version": 1,
                "data": data,
                "version": 1,
                "created_at": now,
                "created_by": bench.actor.user_id,
                "updated_at": now,
                "updated_by": bench.actor.user_id,
            }
            for data in rows
        ]

    with engine.begin() as conn:
        for statement in NATIVE_TABLES.split(";"):
            conn.execute(text(statement))
        suppliers = [{"name": f"Supplier {n:02d}"} for n in range(SUPPLIERS)]
        statement = insert(records).returning(records.c.id, sort_by_parameter_order=True)
        ids = list(conn.execute(statement, values("supplier", suppliers)).scalars())
        conn.execute(
            text("INSERT INTO native_supplier (id, name) VALUES (:id, :name)"),
            [{"id": i, "name": s["name"]} for i, s in zip(ids, suppliers, strict=True)],
        )
    native = text(
        "INSERT INTO native_lot (id, line, supplier_id, date, qty, value) "
        "VALUES (:id, :line, :supplier_id, :date, :qty, :value)"
    )
    for start in range(0, bench.records, CHUNK):
        rows = [lot(i, ids) for i in range(start, min(start + CHUNK, bench.records))]
        with engine.begin() as conn:
            conn.execute(insert(records), values("lot", rows))
            conn.execute(
                native,
                [
                    {
                        **r,
                        "id": start + n,
                        "supplier_id": r.get("supplier"),
                        "date": date.fromisoformat(r["date"]),
                        "value": r.get("value"),
                    }
                    for n, r in enumerate(rows)
                ],
            )
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


# -- timing --------------------------------------------------------------------------------


def timed_pair(
    ours: Callable[[], Any], native: Callable[[], Any], repeat: int
) -> tuple[float, float, Any, Any]:
    """Median seconds of ``repeat`` runs of each after one warm-up, run in turns so that other
    load on the machine slows both alike; and the last results."""
    results = [ours(), native()]
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for i, work in enumerate((ours, native)):
            started = time.perf_counter()
            results[i] = work()
            times[i].append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1]), results[0], results[1]


def run_ours(bench: Bench, key: str) -> Any:
    with new_session(bench.app) as session:
        return run_report(session, bench.actor, APP_KEY, key)


def run_native(bench: Bench, key: str) -> Any:
    dialect = bench.engine.dialect.name
    with bench.engine.connect() as conn:
        rows = conn.execute(text(NATIVE_SQL[(key, dialect)])).all()
    if key == "median_by_line" and dialect == "sqlite":
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["line", "value"])
        return list(frame.groupby("line")["value"].median().items())
    return rows


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A plain fixed-width table under a title."""
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    print(f"\n== {title} ==")
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  " + "   ".join(cells).rstrip())


# -- sections --------------------------------------------------------------------------------


def bench_aggregation(bench: Bench) -> list[Row]:
    """Group-by + measures: the report engine against a native typed table."""
    seconds = load(bench)
    print(f"\nloaded {bench.records:,} records and native rows in {seconds:.0f} s")
    rows, table = [], []
    for key, targeted in (
        ("by_line_month", True),
        ("by_supplier_quarter", False),
        ("median_by_line", False),
    ):
        ours, native, result, baseline = timed_pair(
            lambda k=key: run_ours(bench, k), lambda k=key: run_native(bench, k), bench.repeat
        )
        if len(result.rows) != len(baseline):
            raise AssertionError(f"{key}: {len(result.rows)} groups, native {len(baseline)}")
        ratio = ours / native
        target = f"<= {AGGREGATION_TARGET:g}x" if targeted else "(information)"
        verdict = ("PASS" if ratio <= AGGREGATION_TARGET else "MISS") if targeted else ""
        what = f"{key} ({len(result.rows)} groups)"
        table.append(
            [what, f"{ours * 1000:.0f}", f"{native * 1000:.0f}", f"{ratio:.2f}x", target, verdict]
        )
        rows.append(
            Row(
                "aggregation",
                what,
                f"{ours * 1000:.0f} ms",
                f"{native * 1000:.0f} ms",
                f"{ratio:.2f}x",
                target,
                verdict,
            )
        )
    print_table(
        f"aggregation over {bench.records:,} records: median of {bench.repeat} runs",
        ["report", "ours ms", "native ms", "ratio", "target", "result"],
        table,
    )
    return rows


def bench_imports(bench: Bench) -> list[Row]:
    """Import rows/s with validation against ``create_many`` of converted rows."""
    import imports  # bench/imports.py, beside this file

    folder = Path(bench.folder) / "imports"
    folder.mkdir()
    engine_of(bench.app).dispose()
    url = bench.url if bench.url.startswith("postgresql") else None
    url = imports.fresh_database(url, str(folder))
    path = folder / "parts.csv"
    imports.write_file(path, bench.import_rows)
    table = imports.measure(url, str(folder), path, bench.import_rows, 500)
    imports.print_table(
        f"import of {bench.import_rows:,} validated rows",
        ["measurement", "rows/s", "vs baseline", "peak memory growth MiB"],
        table,
    )
    baseline = table[0][1]
    rows = [
        Row("imports", label, f"{rate} rows/s", f"{baseline} rows/s", share)
        for label, rate, share, _ in table[1:-1]
    ]
    rows[1].target, rows[1].result = table[-1][1], table[-1][2]  # valid rows vs the baseline
    return rows


def bench_charts(bench: Bench) -> list[Row]:
    """SVG export time per chart type against vl-convert rendering a one-point chart."""
    import charts  # bench/charts.py, beside this file

    from jizuo.platform.charts import chart_spec, export_chart, register_cjk_fonts

    register_cjk_fonts()
    rows_ = charts.table(bench.chart_rows)
    base, _ = charts.timings(charts.baseline("svg"), bench.repeat)
    table, rows = [], []
    for kind, config in charts.CONFIGS.items():
        spec = chart_spec({**config, "title": kind}, charts.COLUMNS, rows_, "en")
        ms, _ = charts.timings(lambda spec=spec: export_chart(spec, "svg"), bench.repeat)
        table.append([kind, f"{ms:.1f}", f"{base:.1f}", f"{ms / base:.1f}x"])
        rows.append(Row("charts", f"SVG of a {kind} chart", f"{ms:.1f} ms", f"{base:.1f} ms",
                        f"{ms / base:.1f}x", "(information)"))  # fmt: skip
    print_table(
        f"chart SVG export, {bench.chart_rows} rows: median of {bench.repeat} runs",
        ["chart", "ours ms", "one-point chart ms", "ratio"],
        table,
    )
    return rows


#: Sections in the order they run; each returns its lines of the summary.
SECTIONS: dict[str, Callable[[Bench], list[Row]]] = {
    "aggregation": bench_aggregation,
    "imports": bench_imports,
    "charts": bench_charts,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    parser.add_argument("--records", type=int, default=100_000, help="default 100 000")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query (default 5)")
    parser.add_argument("--section", action="append", choices=list(SECTIONS), help="repeatable")
    parser.add_argument("--import-rows", type=int, default=10_000, help="default 10 000")
    parser.add_argument("--chart-rows", type=int, default=200, help="default 200")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the sections; the exit status is 1 if any target was missed."""
    args = parse_args(argv)
    folder = tempfile.mkdtemp(prefix="jizuo-bench-")
    bench = None
    try:
        url = fresh_database(args.database_url, folder)
        bench = set_up(url, folder, args.records, args.repeat)
        bench.url, bench.folder = url, folder
        bench.import_rows, bench.chart_rows = args.import_rows, args.chart_rows
        print(f"database: {bench.engine.dialect.name} ({bench.engine.url!r})")
        summary: list[Row] = []
        for name in args.section or list(SECTIONS):
            summary += SECTIONS[name](bench)
    finally:
        if bench is not None:
            engine_of(bench.app).dispose()
        shutil.rmtree(folder, ignore_errors=True)
    print_table(
        "summary",
        ["section", "measurement", "ours", "baseline", "ratio", "target", "result"],
        [[r.section, r.what, r.ours, r.baseline, r.ratio, r.target, r.result] for r in summary],
    )
    missed = [r for r in summary if r.result == "MISS"]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
