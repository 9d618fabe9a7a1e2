"""Background jobs: one ``enqueue`` whatever runs them.

With ``JIZUO_REDIS_URL`` set, jobs go to rq and ``jizuo worker`` runs them; without
it they run in-process right after the enqueuing transaction commits, so a single
machine needs nothing else. Either way a ``jobs`` row records status and progress.
"""

from __future__ import annotations

import logging
import os
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from jizuo.platform.db import new_session
from jizuo.platform.models import Job, utcnow
from jizuo.platform.registry import job_function

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What a job function gets: its own session, its row, and a way to report progress."""

    session: Session
    job: Job

    def progress(self, done: int, total: int, message: str | None = None) -> None:
        """Commit the work so far together with the progress the UI shows."""
        self.job.progress = round(100.0 * done / total, 1) if total else 100.0
        if message:
            self.job.message = message
        self.session.commit()


def enqueue(
    session: Session,
    kind: str,
    args: dict[str, Any],
    *,
    workspace_id: int | None = None,
    created_by: int | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """Record a job in ``session``'s transaction; it is dispatched once that transaction commits.

    An ``idempotency_key`` seen before returns the earlier job instead of a new one.
    """
    job_function(kind)  # fail now, not in the worker, on an unknown kind
    if idempotency_key:
        earlier = session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
        if earlier is not None:
            return earlier
    job = Job(
        id=str(uuid.uuid4()),
        workspace_id=workspace_id,
        kind=kind,
        args=args,
        status="queued",
        progress=0.0,
        created_by=created_by,
        idempotency_key=idempotency_key,
    )
    session.add(job)
    session.flush()
    app = current_app._get_current_object()

    @event.listens_for(session, "after_commit", once=True)
    def _dispatch(_session: Session) -> None:
        dispatch(app, job.id)

    return job


def dispatch(app: Flask, job_id: str) -> None:
    """Hand a committed job to rq, or run it here and now."""
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        from redis import Redis
        from rq import Queue, Retry

        queue = Queue(app.config["QUEUE_NAME"], connection=Redis.from_url(redis_url))
        queue.enqueue(
            "jizuo.platform.jobs.execute_job",
            job_id,
            job_id=job_id,
            retry=Retry(max=3, interval=[10, 30, 60]),
        )
    else:
        with app.app_context():
            try:
                execute_job(job_id)
            except Exception:  # noqa: BLE001 - recorded on the job row and logged
                pass


def execute_job(job_id: str) -> str:
    """Run one job by id (the rq entry point; needs an app context)."""
    app = current_app._get_current_object()
    _dispose_engine_after_fork(app)
    session = new_session(app, write=True)
    try:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"no job {job_id}")
        if job.status == "finished":
            return job.status  # a retried delivery must not apply the effect twice
        job.status, job.started_at, job.error = "started", utcnow(), None
        session.commit()
        try:
            result = job_function(job.kind)(JobContext(session, job), **job.args)
        except Exception as exc:
            session.rollback()
            job = session.get(Job, job_id)
            job.status, job.finished_at = "failed", utcnow()
            job.error = f"{type(exc).__name__}: {exc}"
            session.commit()
            log.error("job %s (%s) failed:\n%s", job_id, job.kind, traceback.format_exc())
            raise
        job.status, job.progress, job.finished_at = "finished", 100.0, utcnow()
        job.result = result if isinstance(result, dict) else {"value": result}
        session.commit()
        return job.status
    finally:
        session.close()


def _dispose_engine_after_fork(app: Flask) -> None:
    # A forked rq work horse must not reuse the parent's pooled connections.
    state = app.extensions["jizuo"]
    if state.setdefault("pid", os.getpid()) != os.getpid():
        state["engine"].dispose(close=False)
        state["pid"] = os.getpid()


def get_job(session: Session, job_id: str, workspace_id: int) -> Job | None:
    """A job of the workspace, or None."""
    return session.scalar(select(Job).where(Job.id == job_id, Job.workspace_id == workspace_id))
