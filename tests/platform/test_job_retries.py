"""Retries: transient failures are tried again up to JOB_MAX_ATTEMPTS, permanent ones fail at
once; failed jobs are retried by hand through the API; queues by kind."""

from __future__ import annotations

import pytest

from jizuo.platform import jobs, registry
from jizuo.platform.errors import ValidationFailed
from jizuo.platform.jobs import enqueue, queue_of
from jizuo.platform.models import Job
from tests import factories
from tests.conftest import REDIS_URL

#: How many more times each flaky job fails, by label.
FAILS_LEFT: dict[str, int] = {}
RUNS: list[str] = []


@registry.job("test.flaky")
def flaky(ctx, label: str) -> dict:
    RUNS.append(label)
    if FAILS_LEFT.get(label, 0) > 0:
        FAILS_LEFT[label] -= 1
        raise ConnectionError(f"{label}: database went away")
    return {"label": label, "attempt": ctx.attempt}


@registry.job("test.invalid")
def invalid(ctx) -> None:
    RUNS.append("invalid")
    raise ValidationFailed("Bad input.", errors=[{"field": "x", "message": "missing"}])


@pytest.fixture(autouse=True)
def _reset(app):
    FAILS_LEFT.clear()
    RUNS.clear()
    app.config.update(JOB_MAX_ATTEMPTS=4, JOB_INPROCESS_RETRY_SECONDS=0)


def _row(session, job_id: str) -> Job:
    session.expire_all()
    row = session.get(Job, job_id)
    session.expunge(row)  # keeps its values: reading them starts no transaction
    session.rollback()  # no open read: SQLite would otherwise keep the app from writing
    return row


def test_transient_failures_are_retried_in_process_until_success(session):
    FAILS_LEFT["a"] = 2
    job = enqueue(session, "test.flaky", {"label": "a"})
    session.commit()
    row = _row(session, job.id)
    assert RUNS == ["a", "a", "a"]
    assert row.status == "finished" and row.attempts == 3 and row.error is None
    assert row.result == {"label": "a", "attempt": 3}


def test_a_job_failing_every_time_fails_after_the_last_attempt_keeping_its_error(app, session):
    app.config["JOB_MAX_ATTEMPTS"] = 3
    FAILS_LEFT["b"] = 99
    job = enqueue(session, "test.flaky", {"label": "b"})
    session.commit()
    row = _row(session, job.id)
    assert RUNS == ["b"] * 3
    assert row.status == "failed" and row.attempts == 3
    assert row.error == "ConnectionError: b: database went away" and row.finished_at


def test_a_permanent_error_fails_at_once(session):
    job = enqueue(session, "test.invalid", {})
    session.commit()
    row = _row(session, job.id)
    assert RUNS == ["invalid"] and row.status == "failed" and row.attempts == 1
    assert row.error.startswith("ValidationFailed: Bad input.")
    assert jobs.is_permanent(jobs.PermanentJobError("x")) and not jobs.is_permanent(OSError())


def test_a_finished_job_delivered_again_does_not_run_again(app, session):
    job = enqueue(session, "test.flaky", {"label": "c"})
    session.commit()
    assert jobs.execute_job(job.id) == "finished"
    assert RUNS == ["c"]


def test_a_job_left_started_by_a_dead_run_runs_again(app, session):
    job = enqueue(session, "test.flaky", {"label": "d"})
    session.commit()
    writer = factories_writer(app)
    row = writer.get(Job, job.id)
    row.status, row.attempts = "started", 1  # as a worker killed mid-job leaves it
    writer.commit()
    writer.close()
    assert jobs.execute_job(job.id) == "finished"
    row = _row(session, job.id)
    assert RUNS == ["d", "d"] and row.attempts == 2


def factories_writer(app):  # noqa: ANN001, ANN201
    from jizuo.platform.db import new_session

    return new_session(app, write=True)


def test_queues_by_kind():
    assert queue_of("platform.migrate_records") == "low"
    assert queue_of("platform.tick") == "high"
    assert queue_of("automations.run") == "high"
    assert queue_of("platform.run_automation") == "high"
    assert queue_of("webhooks.deliver") == "high"
    assert queue_of("imports.csv") == "low"
    assert queue_of("test.flaky") == "default"
    jobs.set_job_queue("test.flaky", "low")
    try:
        assert queue_of("test.flaky") == "low"
    finally:
        jobs._KIND_QUEUES.pop("test.flaky")
    with pytest.raises(ValueError, match="unknown queue"):
        jobs.set_job_queue("test.flaky", "urgent")


def test_enqueue_records_the_queue(session):
    job = enqueue(session, "test.flaky", {"label": "q"}, queue="low")
    assert job.queue == "low"
    session.commit()
    with pytest.raises(ValueError, match="unknown queue"):
        enqueue(session, "test.flaky", {"label": "q"}, queue="urgent")


# API ----------------------------------------------------------------------------------------


@pytest.fixture
def people(session):
    ws = factories.workspace(session)
    alice, _ = factories.member(session, ws, "alice", ("admin",))
    bob, _ = factories.member(session, ws, "bob", ("member",))
    carol, _ = factories.member(session, ws, "carol", ("member",))
    other_ws = factories.workspace(session, "other")
    dave, _ = factories.member(session, other_ws, "dave", ("admin",))
    session.commit()
    tokens = {
        "alice": factories.token(session, ws, alice),
        "bob": factories.token(session, ws, bob),
        "carol": factories.token(session, ws, carol),
        "bob-ro": factories.token(session, ws, bob, read_only=True),
        "dave": factories.token(session, other_ws, dave),
    }
    session.commit()
    return {"ws": ws, "bob": bob, "tokens": tokens}


def _auth(people, who: str) -> dict:
    return {"Authorization": f"Bearer {people['tokens'][who]}"}


def test_jobs_list_and_filter(client, session, people):
    ws, bob = people["ws"], people["bob"]
    FAILS_LEFT["f"] = 99
    failed = enqueue(session, "test.flaky", {"label": "f"}, workspace_id=ws.id, created_by=bob.id)
    session.commit()
    done = enqueue(session, "test.flaky", {"label": "g"}, workspace_id=ws.id)
    session.commit()
    enqueue(session, "test.flaky", {"label": "elsewhere"})
    session.commit()

    items = client.get("/api/v1/jobs", headers=_auth(people, "bob")).json["items"]
    assert {i["id"] for i in items} == {failed.id, done.id}
    only_failed = client.get("/api/v1/jobs?status=failed", headers=_auth(people, "bob")).json
    assert [i["id"] for i in only_failed["items"]] == [failed.id]
    item = only_failed["items"][0]
    assert item["attempts"] == 4 and item["queue"] == "default" and item["can_retry"] is True
    assert "database went away" in item["error"]
    assert client.get("/api/v1/jobs?status=odd", headers=_auth(people, "bob")).status_code == 400
    assert client.get("/api/v1/jobs?limit=0", headers=_auth(people, "bob")).status_code == 400
    assert client.get("/api/v1/jobs", headers=_auth(people, "dave")).json["items"] == []


def test_retry_a_failed_job_through_the_api(client, session, people):
    ws, bob = people["ws"], people["bob"]
    FAILS_LEFT["h"] = 4  # fails all four attempts, then works when retried
    job = enqueue(session, "test.flaky", {"label": "h"}, workspace_id=ws.id, created_by=bob.id)
    session.commit()
    assert _row(session, job.id).status == "failed"

    url = f"/api/v1/jobs/{job.id}/retry"
    assert client.post(url, headers=_auth(people, "carol")).status_code == 403  # not hers
    assert client.post(url, headers=_auth(people, "bob-ro")).status_code == 403
    assert client.post(url, headers=_auth(people, "dave")).status_code == 404  # other workspace
    retried = client.post(url, headers=_auth(people, "bob"))
    assert retried.status_code == 202, retried.json
    assert retried.json["status"] == "finished" and retried.json["attempts"] == 1
    assert retried.json["error"] is None
    again = client.post(url, headers=_auth(people, "alice"))
    assert again.status_code == 409  # only failed jobs

    FAILS_LEFT["i"] = 99
    other = enqueue(session, "test.flaky", {"label": "i"}, workspace_id=ws.id, created_by=bob.id)
    session.commit()
    FAILS_LEFT["i"] = 0
    by_admin = client.post(f"/api/v1/jobs/{other.id}/retry", headers=_auth(people, "alice"))
    assert by_admin.status_code == 202 and by_admin.json["status"] == "finished"


def test_job_status_shows_attempts(client, session, people):
    FAILS_LEFT["j"] = 1
    job = enqueue(session, "test.flaky", {"label": "j"}, workspace_id=people["ws"].id)
    session.commit()
    body = client.get(f"/api/v1/jobs/{job.id}", headers=_auth(people, "bob")).json
    assert body["status"] == "finished" and body["attempts"] == 2
    assert body["can_retry"] is False


def test_jobs_retry_command(app, session):
    from jizuo.cli import main

    FAILS_LEFT["k"] = 99
    job = enqueue(session, "test.flaky", {"label": "k"})
    session.commit()
    FAILS_LEFT["k"] = 0
    session.rollback()
    result = app.test_cli_runner().invoke(main, ["jobs", "retry", job.id], obj={"app": app})
    assert result.exit_code == 0, result.output
    assert "finished" in result.output
    again = app.test_cli_runner().invoke(main, ["jobs", "retry", job.id], obj={"app": app})
    assert again.exit_code == 1 and "Only failed jobs" in again.output


# rq -----------------------------------------------------------------------------------------


@pytest.fixture
def rq_app(app):
    from redis import Redis

    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME="jizuo-retries", JOB_RETRY_SECONDS=0)
    connection = Redis.from_url(REDIS_URL)
    for queue in jobs.rq_queues(app, connection):
        queue.empty()
        for registry_ in (queue.failed_job_registry, queue.finished_job_registry):
            for job_id in registry_.get_job_ids():
                registry_.remove(job_id, delete_job=True)
    return app, connection


@pytest.mark.redis
def test_rq_retries_transient_failures_with_growing_intervals(rq_app, session):
    from rq import SimpleWorker

    app, connection = rq_app
    app.config["JOB_RETRY_SECONDS"] = 10
    assert jobs.retry_intervals(app) == [10, 30, 90]
    app.config["JOB_RETRY_SECONDS"] = 0
    FAILS_LEFT["r"] = 2
    job = enqueue(session, "test.flaky", {"label": "r"}, queue="high")
    session.commit()
    high = jobs.rq_queues(app, connection, ("high",))[0]
    assert high.count == 1
    session.rollback()
    SimpleWorker(jobs.rq_queues(app, connection), connection=connection).work(burst=True)
    row = _row(session, job.id)
    assert RUNS == ["r"] * 3 and row.status == "finished" and row.attempts == 3


@pytest.mark.redis
def test_rq_fails_a_permanent_error_at_once_and_a_retry_by_hand_runs_it_again(rq_app, session):
    from rq import SimpleWorker

    app, connection = rq_app
    job = enqueue(session, "test.invalid", {})
    session.commit()
    session.rollback()
    worker = SimpleWorker(jobs.rq_queues(app, connection), connection=connection)
    worker.work(burst=True)
    assert RUNS == ["invalid"] and _row(session, job.id).status == "failed"

    FAILS_LEFT["s"] = 99
    flaky_job = enqueue(session, "test.flaky", {"label": "s"})
    session.commit()
    session.rollback()
    worker.work(burst=True)
    row = _row(session, flaky_job.id)
    assert row.status == "failed" and row.attempts == 4
    assert jobs.rq_queues(app, connection)[1].failed_job_registry.count == 1

    FAILS_LEFT["s"] = 0
    writer = factories_writer(app)
    jobs.requeue_failed(writer, writer.get(Job, flaky_job.id))
    writer.commit()
    writer.close()
    assert _row(session, flaky_job.id).status == "queued"
    worker.work(burst=True)
    row = _row(session, flaky_job.id)
    assert row.status == "finished" and row.attempts == 1
