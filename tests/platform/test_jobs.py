"""The jobs facade: in-process after commit without Redis, through rq with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from jizuo.platform import registry
from jizuo.platform.db import new_session
from jizuo.platform.jobs import enqueue
from jizuo.platform.models import Job, Workspace
from jizuo.platform.periodic import register_periodic, run_due_periodic
from tests import factories
from tests.conftest import REDIS_URL

CALLS: list[dict] = []


@registry.job("test.count_workspaces")
def count_workspaces(ctx, label: str) -> dict:
    ctx.progress(1, 2, "half way")
    CALLS.append({"label": label, "progress": ctx.job.progress})
    return {"label": label, "workspaces": len(ctx.session.scalars(select(Workspace)).all())}


@registry.job("test.explode")
def explode(ctx) -> None:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()


def test_in_process_job_runs_after_commit_only(session):
    factories.workspace(session)
    job = enqueue(session, "test.count_workspaces", {"label": "a"})
    session.flush()
    assert CALLS == []  # not before the transaction commits
    session.commit()
    assert CALLS == [{"label": "a", "progress": 50.0}]
    session.expire_all()
    done = session.get(Job, job.id)
    assert done.status == "finished" and done.progress == 100.0
    assert done.result == {"label": "a", "workspaces": 1}
    assert done.message == "half way"


def test_rolled_back_job_never_runs(session):
    enqueue(session, "test.count_workspaces", {"label": "b"})
    session.rollback()
    assert CALLS == [] and session.scalars(select(Job)).all() == []


def test_failed_job_is_recorded(session):
    job = enqueue(session, "test.explode", {})
    session.commit()
    session.expire_all()
    failed = session.get(Job, job.id)
    assert failed.status == "failed" and "boom" in failed.error


def test_idempotency_key_returns_the_earlier_job(session):
    first = enqueue(session, "test.count_workspaces", {"label": "c"}, idempotency_key="k1")
    session.commit()
    again = enqueue(session, "test.count_workspaces", {"label": "c"}, idempotency_key="k1")
    session.commit()
    assert again.id == first.id and len(CALLS) == 1


def test_unknown_job_kind_is_refused(session):
    with pytest.raises(KeyError, match="no job function 'nope'"):
        enqueue(session, "nope", {})


def test_job_status_api(session, client):
    ws = factories.workspace(session)
    user, _ = factories.member(session, ws)
    token = factories.token(session, ws, user)
    job = enqueue(session, "test.count_workspaces", {"label": "d"}, workspace_id=ws.id)
    other = enqueue(session, "test.count_workspaces", {"label": "e"})
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/jobs/{job.id}", headers=headers).json
    assert body["status"] == "finished" and body["result"]["label"] == "d"
    assert client.get(f"/api/v1/jobs/{other.id}", headers=headers).status_code == 404


@pytest.mark.redis
def test_jobs_go_through_rq_when_redis_is_configured(app, session):
    from redis import Redis
    from rq import Queue, SimpleWorker

    app.config["REDIS_URL"] = REDIS_URL
    app.config["QUEUE_NAME"] = "jizuo-test"
    connection = Redis.from_url(REDIS_URL)
    queue = Queue("jizuo-test:default", connection=connection)
    queue.empty()
    factories.workspace(session)
    job = enqueue(session, "test.count_workspaces", {"label": "rq"})
    session.commit()
    assert CALLS == [] and queue.count == 1
    session.expire_all()
    assert session.get(Job, job.id).status == "queued"
    session.rollback()  # end the read before the worker writes (SQLite allows one writer)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert CALLS == [{"label": "rq", "progress": 50.0}]
    session.expire_all()
    assert session.get(Job, job.id).status == "finished"
    assert queue.fetch_job(job.id).return_value() == "finished"


# Periodic work ---------------------------------------------------------------------------

TICKS: list[tuple[str, datetime]] = []


def _tick_a(app, now) -> None:
    TICKS.append(("a", now))


def _tick_broken(app, now) -> None:
    raise RuntimeError("periodic boom")


register_periodic("test.a", _tick_a, every_seconds=60)
register_periodic("test.broken", _tick_broken, every_seconds=60)


def test_periodic_functions_run_when_due(app):
    TICKS.clear()
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert "test.a" in run_due_periodic(app, start)
    assert "test.a" not in run_due_periodic(app, start + timedelta(seconds=59))
    assert "test.a" in run_due_periodic(app, start + timedelta(seconds=60))
    assert [name for name, _ in TICKS] == ["a", "a"]
    assert TICKS[1][1] == start + timedelta(seconds=60)


def test_a_failing_periodic_function_is_tried_again_and_does_not_stop_others(app):
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    ran = run_due_periodic(app, start)
    assert "test.broken" not in ran and "test.a" in ran
    assert "test.broken" not in run_due_periodic(app, start + timedelta(seconds=1))


def test_periodic_registration_is_checked():
    with pytest.raises(ValueError, match="registered already"):
        register_periodic("test.a", _tick_broken)
    with pytest.raises(ValueError, match="at least 1"):
        register_periodic("test.c", _tick_a, every_seconds=0)
    register_periodic("test.a", _tick_a)  # the same function again is fine


def test_tick_command_runs_due_functions(app):
    from jizuo.cli import main

    TICKS.clear()
    result = app.test_cli_runner().invoke(main, ["tick"], obj={"app": app})
    assert result.exit_code == 0 and "test.a" in result.output
    again = app.test_cli_runner().invoke(main, ["tick"], obj={"app": app})
    assert "test.a" not in again.output  # the state file remembers the last run
    assert len(TICKS) == 1


@pytest.mark.redis
def test_one_tick_per_interval_however_many_workers_and_it_runs_periodic_work(app):
    from redis import Redis
    from rq import SimpleWorker

    from jizuo.platform import jobs
    from jizuo.platform.periodic import reset_periodic_state

    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME="jizuo-tick-test", TICK_SECONDS=10)
    connection = Redis.from_url(REDIS_URL)
    for key in connection.scan_iter("*jizuo-tick-test*"):
        connection.delete(key)
    reset_periodic_state(app)
    TICKS.clear()
    assert jobs.enqueue_tick(app, connection, now=1000.0) is True
    assert jobs.enqueue_tick(app, connection, now=1005.0) is False  # same interval
    high = jobs.rq_queues(app, connection, ("high",))[0]
    assert high.count == 1
    SimpleWorker([high], connection=connection).work(burst=True)
    assert [name for name, _ in TICKS] == ["a"]
    reset_periodic_state(app)


@pytest.mark.redis
def test_sweep_redispatches_rows_whose_queue_entry_was_lost(app, session):
    from redis import Redis
    from rq import SimpleWorker

    from jizuo.platform import jobs
    from jizuo.platform.db import new_session

    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME="jizuo-sweep-test")
    connection = Redis.from_url(REDIS_URL)
    for key in connection.scan_iter("*jizuo-sweep-test*"):
        connection.delete(key)
    factories.workspace(session)
    job = enqueue(session, "test.count_workspaces", {"label": "lost"})
    session.commit()
    for queue in jobs.rq_queues(app, connection):
        queue.empty()  # Redis lost it
    writer = new_session(app, write=True)
    writer.get(Job, job.id).created_at = datetime(2020, 1, 1)
    writer.commit()
    writer.close()
    session.rollback()
    assert jobs.sweep_jobs(app)["redispatched"] == [job.id]
    SimpleWorker(jobs.rq_queues(app, connection), connection=connection).work(burst=True)
    session.expire_all()
    assert session.get(Job, job.id).status == "finished"


def test_a_job_enqueued_in_a_savepoint_waits_for_the_real_commit(app, session, monkeypatch):
    from jizuo.platform import jobs

    dispatched = []
    monkeypatch.setattr(jobs, "dispatch", lambda _app, job_id: dispatched.append(job_id))
    write = new_session(app, write=True)
    try:
        with write.begin_nested():
            inner = jobs.enqueue(write, "test.count_workspaces", {"label": "x"})
        assert dispatched == []  # the savepoint was released, nothing is committed yet
        write.commit()
        assert dispatched == [inner.id]
        lost = jobs.enqueue(write, "test.count_workspaces", {"label": "x"})
        write.rollback()
        write.commit()  # a later commit of the same session does not bring it back
        assert lost.id not in dispatched and dispatched == [inner.id]
        kept = jobs.enqueue(write, "test.count_workspaces", {"label": "kept"})
        savepoint = write.begin_nested()
        dropped = jobs.enqueue(write, "test.count_workspaces", {"label": "dropped"})
        savepoint.rollback()
        write.commit()
        assert dispatched == [inner.id, kept.id] and dropped.id not in dispatched
    finally:
        write.close()
