"""Benchmark: record-created → create-record through rq workers, against a do-nothing job.

    python bench/automations.py [--database-url URL] [--redis-url URL] [--events N] [--quick]

Each event is a record created by the bench in one transaction. A published automation
(trigger: ``bench.event`` created; action: create a ``bench.effect`` record from it) enqueues
its run in that transaction, and the run creates the effect with its action receipt. The
baseline is a do-nothing job enqueued with a record of an entity no automation watches: the
difference is the automation's own cost (loading it, the condition, the action, the receipt).

1. Throughput: N events enqueued first, then 1 or 2 ``jizuo worker --burst`` processes
   (fork per job, as in production) drain them; events/s from the first start to the last
   job finished.
2. Latency from the event's commit to the effect's commit, p50/p95, with one worker running
   and events created one at a time.

Default database: a fresh SQLite file in a temporary folder. A
PostgreSQL URL starts from an empty ``public`` schema (DROP SCHEMA public CASCADE), so never
point it at a database whose data matters. Redis: db 12 by default, queue prefix
``jizuo-bench`` (its keys are deleted first). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from jizuo import create_app
from jizuo.platform import jobs, registry
from jizuo.platform.auth import system_actor
from jizuo.platform.db import engine_of, make_engine, new_session
from jizuo.platform.definitions import publish_definition, save_draft_definition
from jizuo.platform.models import ActionReceipt, Job, Workspace
from jizuo.platform.records import RecordStore
from jizuo.platform.schema import upgrade_database

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "jizuo-bench"
AUTOMATION = "platform.run_automation"
NOOP_JOB = "bench.noop"
EVENT = {
    "key": "event",
    "title": {"en": "Event"},
    "title_field": "label",
    "schema": {
        "type": "object",
        "properties": {"label": {"type": "string", "maxLength": 100}, "qty": {"type": "integer"}},
        "required": ["label"],
    },
}
PING = {**EVENT, "key": "ping", "title": {"en": "Ping"}}
CREATE_EFFECT = {
    "trigger": {"on": "created", "entity": "bench.event"},
    "actions": [
        {
            "type": "create_record",
            "entity": "bench.effect",
            "values": {"label": "'effect of ' + record.label", "source": "record.id"},
        }
    ],
}
EFFECT = {
    "key": "effect",
    "title": {"en": "Effect"},
    "title_field": "label",
    "schema": {
        "type": "object",
        "properties": {
            "label": {"type": "string", "maxLength": 100},
            "source": {"type": "integer"},
        },
        "required": ["label"],
    },
}


@registry.job(NOOP_JOB)
def noop(ctx, workspace_id: int, source_id: int, label: str) -> dict[str, Any]:  # noqa: ANN001
    return {}


def _setup(database_url: str | None, redis_url: str, folder: str) -> Any:
    url = database_url or f"sqlite:///{folder}/bench.sqlite"
    if database_url and database_url.startswith("postgresql"):
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "QUEUE_NAME": QUEUE,
            "INSTANCE_PATH": folder,
            "SECRET_KEY": "bench",
            "JOB_RETRY_SECONDS": 1,
        }
    )
    upgrade_database(engine_of(app))
    from redis import Redis

    connection = Redis.from_url(redis_url)
    for key in connection.scan_iter(f"*{QUEUE}*"):
        connection.delete(key)
    from jizuo.platform import catalog, publishing

    with app.app_context():
        session = new_session(app, write=True)
        ws = catalog.create_workspace(session, "bench", {"en": "Bench"})
        actor = system_actor(ws)
        catalog.create_app_definition(session, actor, "bench", {"en": "Bench"})
        for entity in (EVENT, PING, EFFECT):
            catalog.create_entity(session, actor, "bench", entity)
            publishing.publish_entity(session, actor, "bench", entity["key"])
        save_draft_definition(session, actor, "bench", "automation", "effects", CREATE_EFFECT)
        publish_definition(session, actor, "bench", "automation", "effects")
        session.commit()
        workspace_id = ws.id
        session.close()
    return app, workspace_id


def _event(app: Any, workspace_id: int, kind: str, label: str) -> tuple[str, float]:
    """Create one event record; its job is enqueued in the same transaction (by the
    automation, or here for the baseline). Returns the job's id and the commit time."""
    session = new_session(app, write=True)
    try:
        actor = system_actor(session.get(Workspace, workspace_id))
        entity = "event" if kind == AUTOMATION else "ping"
        record = RecordStore(session, actor).entity("bench", entity).create({"label": label})
        if kind == AUTOMATION:
            job_id = session.scalar(
                select(Job.id).where(Job.kind == AUTOMATION).order_by(Job.created_at.desc())
            )
        else:
            args = {"workspace_id": workspace_id, "source_id": record.id, "label": label}
            job_id = jobs.enqueue(session, kind, args, workspace_id=workspace_id).id
        session.commit()
        return job_id, time.time()
    finally:
        session.close()


def _worker(app: Any, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "JIZUO_DATABASE_URL": app.config["DATABASE_URL"],
        "JIZUO_REDIS_URL": app.config["REDIS_URL"],
        "JIZUO_QUEUE_NAME": QUEUE,
        "JIZUO_INSTANCE_PATH": app.instance_path,
        "JIZUO_SECRET_KEY": "bench",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from jizuo.cli import main; main()", "worker"]
        + ["--import", "bench.automations", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _finished(app: Any, ids: list[str]) -> list[Job]:
    session = new_session(app)
    try:
        return list(session.scalars(select(Job).where(Job.id.in_(ids), Job.status == "finished")))
    finally:
        session.close()


def throughput(app: Any, workspace_id: int, kind: str, events: int, workers: int) -> float:
    ids = [_event(app, workspace_id, kind, f"{kind}-{workers}-{i}")[0] for i in range(events)]
    started = time.perf_counter()
    procs = [_worker(app, "--burst") for _ in range(workers)]
    for proc in procs:
        proc.wait()
    elapsed = time.perf_counter() - started
    done = _finished(app, ids)
    if len(done) != events:
        raise SystemExit(f"only {len(done)} of {events} {kind} jobs finished")
    # The workers' start-up (imports, connecting) is part of the run: measure from the
    # first job's start to the last one's end instead.
    first = min(j.started_at for j in done)
    last = max(j.finished_at for j in done)
    span = (last - first).total_seconds() or elapsed
    return events / span


def _epoch(at: datetime) -> float:
    # SQLite hands timestamps back without their zone; everything is stored in UTC.
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def latency(app: Any, workspace_id: int, kind: str, events: int) -> tuple[float, float]:
    proc = _worker(app)
    try:
        # Warm up: the worker is ready once a first job finished.
        warm, _ = _event(app, workspace_id, kind, "warm-up")
        deadline = time.time() + 60
        while not _finished(app, [warm]):
            if time.time() > deadline:
                raise SystemExit("the worker did not start")
            time.sleep(0.05)
        committed = {}
        for i in range(events):
            job_id, at = _event(app, workspace_id, kind, f"lat-{kind}-{i}")
            committed[job_id] = at
            while not _finished(app, [job_id]):
                time.sleep(0.002)
        done = _finished(app, list(committed))
        waits = sorted(1000 * (_epoch(j.finished_at) - committed[j.id]) for j in done)
    finally:
        proc.terminate()
        proc.wait()
    return statistics.median(waits), waits[int(0.95 * (len(waits) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--latency-events", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="100 events, 30 for latency")
    args = parser.parse_args()
    if args.quick:
        args.events, args.latency_events = 100, 30
    folder = tempfile.mkdtemp(prefix="jizuo-bench-")
    try:
        app, workspace_id = _setup(args.database_url, args.redis_url, folder)
        with app.app_context():
            print(f"database: {engine_of(app).dialect.name}; redis: {args.redis_url}")
            print(f"\n== throughput, {args.events} events (events/s) ==")
            print(f"  {'workers':>7}  {'noop job':>9}  {'automation':>13}  {'ratio':>6}")
            for workers in (1, 2):
                base = throughput(app, workspace_id, NOOP_JOB, args.events, workers)
                ours = throughput(app, workspace_id, AUTOMATION, args.events, workers)
                print(f"  {workers:>7}  {base:>9.1f}  {ours:>13.1f}  {ours / base:>6.0%}")
            print(f"\n== latency commit → effect, 1 worker, {args.latency_events} events (ms) ==")
            print(f"  {'job':>13}  {'p50':>7}  {'p95':>7}")
            for kind, name in ((NOOP_JOB, "noop job"), (AUTOMATION, "automation")):
                p50, p95 = latency(app, workspace_id, kind, args.latency_events)
                print(f"  {name:>13}  {p50:>7.1f}  {p95:>7.1f}")
            session = new_session(app)
            effects = session.scalar(select(func.count()).select_from(ActionReceipt))
            session.close()
            print(f"\neffects written: {effects} (one receipt per automation action)")
        engine_of(app).dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
