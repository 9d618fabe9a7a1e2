"""Fault tests with real ``jizuo worker`` processes: a worker killed mid-job, a work horse
killed mid-job, a job failing twice, a job failing until retried by hand. Every time the
job's effect (a record guarded by an action receipt) must exist exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jizuo.platform import jobs
from jizuo.platform.auth import system_actor
from jizuo.platform.models import ActionReceipt, Job, Record
from tests import factories
from tests.conftest import REDIS_URL
from tests.platform.fault_jobs import MARK

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "jizuo-faults"


@pytest.fixture
def lab(app, session, tmp_path):
    from redis import Redis

    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME=QUEUE, JOB_RETRY_SECONDS=0)
    connection = Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"*{QUEUE}*"):
        connection.delete(key)
    ws = factories.workspace(session)
    factories.published(session, system_actor(ws), "lab", MARK)
    user, _ = factories.member(session, ws, "alice", ("admin",))
    token = factories.token(session, ws, user)
    session.commit()
    gate = tmp_path / "gate"
    gate.mkdir()
    workers: list[subprocess.Popen] = []
    state = {"ws": ws, "user": user, "token": token, "gate": gate, "workers": workers}
    state["connection"] = connection
    yield state
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def _start_worker(app, lab, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "JIZUO_DATABASE_URL": app.config["DATABASE_URL"],
        "JIZUO_REDIS_URL": REDIS_URL,
        "JIZUO_QUEUE_NAME": QUEUE,
        "JIZUO_SECRET_KEY": "test-secret",
        "JIZUO_INSTANCE_PATH": app.instance_path,
        "JIZUO_JOB_RETRY_SECONDS": "0",
        "JIZUO_JOB_MAX_ATTEMPTS": "4",
    }
    with open(lab["gate"] / f"worker-{len(lab['workers'])}.log", "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-c", "from jizuo.cli import main; main()", "worker"]
            + ["--import", "tests.platform.fault_jobs", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )
    lab["workers"].append(worker)
    return worker


def _enqueue(session, lab, label: str, **args) -> str:  # noqa: ANN001
    job = jobs.enqueue(
        session,
        "tests.faults.mark",
        {"workspace_id": lab["ws"].id, "label": label, "gate": str(lab["gate"]), **args},
        workspace_id=lab["ws"].id,
        created_by=lab["user"].id,
    )
    session.commit()
    return job.id


def _wait_for(predicate, what: str, lab, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            logs = "\n".join(p.read_text() for p in sorted(lab["gate"].glob("worker-*.log")))
            raise AssertionError(f"timed out waiting for {what}; worker logs:\n{logs[-4000:]}")
        time.sleep(0.1)


def _row(session, job_id: str) -> Job:  # noqa: ANN001
    session.expire_all()
    row = session.get(Job, job_id)
    session.expunge(row)
    session.rollback()  # no open read: SQLite would otherwise keep the workers from writing
    return row


def _effects(session, label: str) -> tuple[int, int]:  # noqa: ANN001
    """How many marks carry ``label``, and how many receipts exist."""
    marks = session.scalars(select(Record.data)).all()
    receipts = session.scalar(select(func.count()).select_from(ActionReceipt))
    session.rollback()
    return sum(1 for d in marks if d.get("label") == label), receipts


def _finished(session, job_id: str):  # noqa: ANN001, ANN202
    return lambda: _row(session, job_id).status == "finished"


def test_a_worker_killed_mid_job_leaves_the_job_to_the_next_worker(app, session, lab):
    job_id = _enqueue(session, lab, "killed", block=True)
    worker = _start_worker(app, lab)
    reached = lab["gate"] / "killed.reached"
    _wait_for(reached.exists, "the job to commit its effect", lab)
    horse = int(reached.read_text())
    os.killpg(worker.pid, signal.SIGKILL)  # the worker, its scheduler…
    os.kill(horse, signal.SIGKILL)  # …and its work horse (a process group of its own)
    worker.wait()
    assert _row(session, job_id).status == "started"
    assert _effects(session, "killed") == (1, 1)

    (lab["gate"] / "killed.go").touch()
    restarted = _start_worker(app, lab, "--burst")
    assert restarted.wait(timeout=30) == 0
    row = _row(session, job_id)
    assert row.status == "finished" and row.attempts == 2, row.error
    assert _effects(session, "killed") == (1, 1)


def test_a_killed_work_horse_is_retried_by_its_worker(app, session, lab):
    job_id = _enqueue(session, lab, "horse", block=True)
    worker = _start_worker(app, lab)
    reached = lab["gate"] / "horse.reached"
    _wait_for(reached.exists, "the job to commit its effect", lab)
    horse = int(reached.read_text())
    (lab["gate"] / "horse.go").touch()
    reached.unlink()
    os.kill(horse, signal.SIGKILL)
    _wait_for(_finished(session, job_id), "the retried job to finish", lab)
    row = _row(session, job_id)
    assert row.attempts == 2 and _effects(session, "horse") == (1, 1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) is not None


def test_a_job_failing_twice_is_retried_until_it_succeeds(app, session, lab):
    job_id = _enqueue(session, lab, "flaky", fails=2)
    worker = _start_worker(app, lab, "--burst")
    assert worker.wait(timeout=30) == 0
    row = _row(session, job_id)
    assert row.status == "finished" and row.attempts == 3 and row.error is None
    assert row.result == {"label": "flaky", "attempt": 3}
    assert _effects(session, "flaky") == (1, 1)


def test_a_failing_job_is_shown_failed_and_can_be_retried(app, client, session, lab):
    job_id = _enqueue(session, lab, "broken", fail_until_fixed=True)
    assert _start_worker(app, lab, "--burst").wait(timeout=30) == 0
    row = _row(session, job_id)
    assert row.status == "failed" and row.attempts == 4

    headers = {"Authorization": f"Bearer {lab['token']}"}
    body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json
    assert body["status"] == "failed" and body["can_retry"] is True
    assert body["error"] == "RuntimeError: broken: the printer is out of paper"
    factories.login(client, "alice")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "broken: the printer is out of paper" in page and f"/jobs/{job_id}/retry" in page

    (lab["gate"] / "broken.fixed").touch()
    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=headers)
    assert retried.status_code == 202 and retried.json["status"] == "queued"
    assert _start_worker(app, lab, "--burst").wait(timeout=30) == 0
    row = _row(session, job_id)
    assert row.status == "finished" and row.attempts == 1 and row.error is None
    assert _effects(session, "broken") == (1, 1)
