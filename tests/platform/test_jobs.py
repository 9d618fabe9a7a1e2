"""The jobs facade: in-process after commit without Redis, through rq with it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jizuo.platform import registry
from jizuo.platform.jobs import enqueue
from jizuo.platform.models import Job, Workspace
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
    queue = Queue("jizuo-test", connection=connection)
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
