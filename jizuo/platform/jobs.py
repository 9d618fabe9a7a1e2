"""Background jobs: one ``enqueue`` whatever runs them.

With ``JIZUO_REDIS_URL`` set, jobs go to rq and ``jizuo worker`` runs them; without
it they run in-process right after the enqueuing transaction commits, so a single
machine needs nothing else. Either way a ``jobs`` row records status and progress.

Queues: every job kind goes to ``high``, ``default`` or ``low`` (``queue_of``); workers
take ``high`` first. Statuses: ``queued`` → ``started`` → ``finished``, or ``retrying``
(a transient failure, tried again) and ``failed`` (a permanent error, or
``JOB_MAX_ATTEMPTS`` attempts used up; the row keeps the last error).

Errors: a ``JizuoError`` (validation, permissions, not found…) or ``PermanentJobError``
is permanent and fails the job at once; anything else (a lost connection, a deadlock, a
killed process) is transient and retried: through rq with growing intervals
(``JOB_RETRY_SECONDS`` × 1, 3, 9…), in-process at once after a short pause
(``JOB_INPROCESS_RETRY_SECONDS``), which holds up the request that enqueued the job.

Crashes: a job may run again after its worker died mid-way (rq retries work horses
that were killed; ``sweep_jobs`` retries the jobs of workers that died altogether), so a
job function must make its effect idempotent (e.g. by its job id). ``execute_job``
re-runs a row left ``started``, and never re-runs a ``finished`` one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.db import new_session
from jizuo.platform.errors import BadRequest, Conflict, JizuoError, NotFound, PermissionDenied
from jizuo.platform.models import Job, utcnow
from jizuo.platform.periodic import register_periodic, run_due_periodic
from jizuo.platform.registry import job, job_function

log = logging.getLogger(__name__)

#: Queues in the order workers take from them.
QUEUES = ("high", "default", "low")
STATUSES = ("queued", "started", "retrying", "finished", "failed")
#: Statuses after which a job runs again only when retried by hand.
FINAL = ("finished", "failed")

_KIND_QUEUES: dict[str, str] = {
    "platform.tick": "high",
    "platform.run_automation": "high",
    "platform.migrate_records": "low",
}
_PREFIX_QUEUES: tuple[tuple[str, str], ...] = (
    ("automations.", "high"),
    ("webhooks.", "high"),
    ("notifications.", "default"),
    ("imports.", "low"),
    ("exports.", "low"),
    ("reports.", "low"),
)

DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_RETRY_SECONDS = 10
DEFAULT_INPROCESS_RETRY_SECONDS = 0.2
DEFAULT_TIMEOUT_SECONDS = 3600
DEFAULT_TICK_SECONDS = 10


class PermanentJobError(Exception):
    """Raised by a job that must not be retried (bad input, a missing record…)."""


def is_permanent(exc: BaseException) -> bool:
    """Whether a job failing with ``exc`` fails for good rather than being retried."""
    return isinstance(exc, JizuoError | PermanentJobError)


def set_job_queue(kind: str, queue: str) -> None:
    """Send jobs of ``kind`` to ``queue`` (``high``, ``default`` or ``low``)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; use one of {', '.join(QUEUES)}")
    _KIND_QUEUES[kind] = queue


def queue_of(kind: str) -> str:
    """The queue a job kind goes to: set by ``set_job_queue``, else by its name's prefix."""
    if kind in _KIND_QUEUES:
        return _KIND_QUEUES[kind]
    for prefix, queue in _PREFIX_QUEUES:
        if kind.startswith(prefix):
            return queue
    return "default"


def max_attempts(app: Flask) -> int:
    """How many times a job runs at most (``JIZUO_JOB_MAX_ATTEMPTS``, default 4)."""
    return max(1, int(app.config.get("JOB_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS))


def retry_intervals(app: Flask) -> list[int]:
    """Seconds rq waits before each retry: ``JOB_RETRY_SECONDS`` × 1, 3, 9, …"""
    base = app.config.get("JOB_RETRY_SECONDS")
    base = DEFAULT_RETRY_SECONDS if base is None else int(base)
    return [base * 3**i for i in range(max_attempts(app) - 1)]


@dataclass
class JobContext:
    """What a job function gets: its own session, its row, and a way to report progress."""

    session: Session
    job: Job

    @property
    def attempt(self) -> int:
        """Which run of the job this is (1 for the first)."""
        return self.job.attempts

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
    queue: str | None = None,
) -> Job:
    """Record a job in ``session``'s transaction; it is dispatched once that transaction commits.

    An ``idempotency_key`` seen before returns the earlier job instead of a new one.
    ``queue`` overrides the kind's queue (``queue_of``).
    """
    job_function(kind)  # fail now, not in the worker, on an unknown kind
    queue = queue or queue_of(kind)
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    if idempotency_key:
        earlier = session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
        if earlier is not None:
            return earlier
    row = Job(
        id=str(uuid.uuid4()),
        workspace_id=workspace_id,
        kind=kind,
        args=args,
        status="queued",
        progress=0.0,
        created_by=created_by,
        idempotency_key=idempotency_key,
        queue=queue,
        attempts=0,
    )
    session.add(row)
    session.flush()
    _dispatch_after_commit(session, row.id, queue)
    return row


def _dispatch_after_commit(session: Session, job_id: str, queue: str) -> None:
    """Dispatch when the enqueuing transaction commits, and never if it rolls back.

    SQLAlchemy also reports a released savepoint as ``after_commit``; the job's row is
    committed only with the outermost transaction, so that is the one waited for. (The
    listeners stay on the session, which lives for one request or job, answering no more.)
    """
    app = current_app._get_current_object()
    settled = False
    # The transaction (or savepoint) the row was written in, and those around it.
    holders = []
    holder = session.get_nested_transaction() or session.get_transaction()
    while holder is not None:
        holders.append(holder)
        holder = holder.parent

    def _dispatch(committed: Session) -> None:
        nonlocal settled
        if settled or committed.in_nested_transaction():
            return
        settled = True
        _QUEUE_HINTS[job_id] = queue
        dispatch(app, job_id)

    def _abandon(_session: Session, previous: Any) -> None:
        nonlocal settled
        if any(previous is h for h in holders):
            settled = True  # the row went with the rollback

    event.listen(session, "after_commit", _dispatch)
    event.listen(session, "after_soft_rollback", _abandon)


#: The queue of jobs being dispatched, so dispatching needs no query to find it.
_QUEUE_HINTS: dict[str, str] = {}


def dispatch(app: Flask, job_id: str) -> None:
    """Hand a committed job to rq, or run it here and now (retrying transient failures)."""
    queue = _QUEUE_HINTS.pop(job_id, None)
    if app.config.get("REDIS_URL"):
        _rq_enqueue(app, _redis(app), job_id, queue or _queue_of_row(app, job_id))
        return
    with app.app_context():
        pause = app.config.get("JOB_INPROCESS_RETRY_SECONDS")
        pause = DEFAULT_INPROCESS_RETRY_SECONDS if pause is None else float(pause)
        while True:
            try:
                execute_job(job_id)
                return
            except Exception:  # noqa: BLE001 - recorded on the job row and logged
                if _status_of(app, job_id) != "retrying":
                    return
            time.sleep(pause)


def _status_of(app: Flask, job_id: str) -> str | None:
    session = new_session(app)
    try:
        return session.scalar(select(Job.status).where(Job.id == job_id))
    finally:
        session.close()


def _queue_of_row(app: Flask, job_id: str) -> str:
    session = new_session(app)
    try:
        return session.scalar(select(Job.queue).where(Job.id == job_id)) or "default"
    finally:
        session.close()


def execute_job(job_id: str) -> str:
    """Run one job by id (the rq entry point; needs an app context); return its status.

    Raises the job's error when it failed transiently, so rq retries it; a permanent
    failure is recorded and returned as ``failed`` without raising.
    """
    app = current_app._get_current_object()
    _dispose_engine_after_fork(app)
    session = new_session(app, write=True)
    try:
        row = session.get(Job, job_id)
        if row is None:
            log.error("job %s: no such row", job_id)
            return "missing"
        if row.status in FINAL:
            return row.status  # a repeated delivery must not apply the effect again
        # A row left "started" belongs to a run that died: run it again.
        row.status, row.started_at, row.finished_at = "started", utcnow(), None
        row.attempts = (row.attempts or 0) + 1
        session.commit()
        try:
            result = job_function(row.kind)(JobContext(session, row), **row.args)
        except Exception as exc:
            session.rollback()
            row = session.get(Job, job_id)
            permanent = is_permanent(exc)
            exhausted = row.attempts >= max_attempts(app)
            row.error = f"{type(exc).__name__}: {exc}"
            if permanent or exhausted:
                row.status, row.finished_at = "failed", utcnow()
            else:
                row.status = "retrying"
            session.commit()
            log.error(
                "job %s (%s) attempt %s %s:\n%s",
                job_id,
                row.kind,
                row.attempts,
                "failed" if row.status == "failed" else "will be retried",
                traceback.format_exc(),
            )
            if permanent:
                return "failed"
            raise
        row.status, row.progress, row.finished_at = "finished", 100.0, utcnow()
        row.result = result if isinstance(result, dict) else {"value": result}
        row.error = None
        session.commit()
        return row.status
    finally:
        session.close()


def _dispose_engine_after_fork(app: Flask) -> None:
    # A forked rq work horse must not reuse the parent's pooled connections.
    state = app.extensions["jizuo"]
    if state.setdefault("pid", os.getpid()) != os.getpid():
        state["engine"].dispose(close=False)
        state["pid"] = os.getpid()


# Reading and retrying jobs ----------------------------------------------------------------


def get_job(session: Session, job_id: str, workspace_id: int) -> Job | None:
    """A job of the workspace, or None."""
    return session.scalar(select(Job).where(Job.id == job_id, Job.workspace_id == workspace_id))


def list_jobs(
    session: Session, workspace_id: int, *, status: str | None = None, limit: int = 50
) -> list[Job]:
    """The workspace's most recent jobs, newest first, optionally of one status."""
    if status is not None and status not in STATUSES:
        raise BadRequest(f"Unknown job status '{status}'; use one of {', '.join(STATUSES)}.")
    query = select(Job).where(Job.workspace_id == workspace_id)
    if status:
        query = query.where(Job.status == status)
    query = query.order_by(Job.created_at.desc(), Job.id).limit(max(1, min(limit, 500)))
    return list(session.scalars(query))


def may_retry(actor: Actor, row: Job) -> bool:
    """Admins may retry any job of their workspace; members the jobs they started."""
    if actor.read_only or row.workspace_id != actor.workspace_id:
        return False
    return ADMIN in actor.roles or (row.created_by is not None and row.created_by == actor.user_id)


def retry_job(session: Session, actor: Actor, job_id: str) -> Job:
    """Run a failed job of the actor's workspace again, once ``session`` commits."""
    row = get_job(session, job_id, actor.workspace_id)
    if row is None:
        raise NotFound(f"No job '{job_id}'.")
    if not may_retry(actor, row):
        raise PermissionDenied("Only admins and the job's creator may retry it.")
    return requeue_failed(session, row)


def requeue_failed(session: Session, row: Job) -> Job:
    """Reset a failed job to its first attempt and dispatch it once ``session`` commits
    (the last error stays on the row until a run succeeds)."""
    if row.status != "failed":
        raise Conflict(f"Only failed jobs can be retried; this one is {row.status}.")
    row.status, row.attempts, row.finished_at, row.started_at = "queued", 0, None, None
    row.message = "retried by hand"
    session.flush()
    _dispatch_after_commit(session, row.id, row.queue)
    return row


# rq ---------------------------------------------------------------------------------------


def _redis(app: Flask):  # noqa: ANN202 - redis is imported only when configured
    from redis import Redis

    return Redis.from_url(app.config["REDIS_URL"])


def rq_queue_name(app: Flask, queue: str) -> str:
    """The rq queue of one of ``QUEUES`` (prefixed by ``QUEUE_NAME``: installations may
    share a Redis)."""
    return f"{app.config['QUEUE_NAME']}:{queue}"


def rq_queues(app: Flask, connection, names: tuple[str, ...] = QUEUES) -> list:  # noqa: ANN001
    """rq queues, in priority order."""
    from rq import Queue

    return [Queue(rq_queue_name(app, name), connection=connection) for name in names]


def _rq_enqueue(app: Flask, connection, job_id: str, queue: str) -> None:  # noqa: ANN001
    from rq import Queue, Retry
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RqJob
    from rq.job import JobStatus

    try:
        earlier = RqJob.fetch(job_id, connection=connection)
    except NoSuchJobError:
        earlier = None
    if earlier is not None:
        status = earlier.get_status(refresh=False)
        if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED):
            return  # on its way already
        earlier.delete()  # a finished or failed delivery: start afresh (a retry by hand)
    intervals = retry_intervals(app)
    Queue(rq_queue_name(app, queue), connection=connection).enqueue(
        "jizuo.platform.jobs.execute_job",
        job_id,
        job_id=job_id,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        job_timeout=int(app.config.get("JOB_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
        description=f"jizuo job {job_id}",
    )


def sweep_jobs(app: Flask) -> dict[str, list[str]]:
    """Retry the jobs of workers that died, and settle rows rq has lost track of.

    rq itself retries a job whose work horse was killed (its worker survives), and
    abandoned jobs once their heartbeat expires (a minute or more). This finds, at
    once, the running jobs of workers on this machine whose process is gone and lets
    rq retry them (or fail them when out of retries); it frees the scheduler locks of
    such workers; and it re-dispatches job rows whose rq job vanished, or fails rows
    whose rq job failed while the row still says it is running.
    """
    if not app.config.get("REDIS_URL"):
        return {"requeued": [], "redispatched": [], "failed": []}
    connection = _redis(app)
    requeued = _requeue_dead_workers_jobs(app, connection)
    _free_dead_scheduler_locks(app, connection)
    redispatched, failed = _reconcile_rows(app, connection)
    return {"requeued": requeued, "redispatched": redispatched, "failed": failed}


def _process_alive(hostname: str | None, pid: int | None) -> bool:
    """False only when the process is certainly gone (on this machine, no such pid)."""
    if not pid or hostname != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_alive(connection, name: str) -> bool:  # noqa: ANN001
    if not name:
        return False
    data = connection.hgetall(f"rq:worker:{name}")
    if not data:
        return False
    if data.get(b"death"):
        return False
    pid = data.get(b"pid")
    return _process_alive((data.get(b"hostname") or b"").decode(), int(pid) if pid else None)


def _requeue_dead_workers_jobs(app: Flask, connection) -> list[str]:  # noqa: ANN001
    from rq.executions import Execution

    requeued = []
    for queue in rq_queues(app, connection):
        registry = queue.started_job_registry
        dead = []
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            try:
                execution = Execution.fetch(execution_id, job_id, connection=connection)
                alive = _worker_alive(connection, execution.worker_name)
            except ValueError:
                alive = False  # the execution's record expired with its worker
            if not alive:
                dead.append((job_id, execution_id))
        if not dead:
            continue
        # Expire their entries now and let rq's own cleanup retry (or fail) them.
        connection.zadd(registry.key, {f"{j}:{e}": 1 for j, e in dead}, xx=True)
        registry.cleanup(timestamp=1)
        requeued.extend(j for j, _ in dead)
        log.warning("re-queued jobs of dead workers: %s", ", ".join(j for j, _ in dead))
    return requeued


def _free_dead_scheduler_locks(app: Flask, connection) -> None:  # noqa: ANN001
    from rq.scheduler import RQScheduler

    for queue in rq_queues(app, connection):
        lock = RQScheduler.get_locking_key(queue.name)
        holder = connection.get(lock)
        if not holder:
            continue
        data = connection.hgetall(f"rq:scheduler:{holder.decode()}")
        pid = data.get(b"pid") if data else None
        if pid and not _process_alive((data.get(b"hostname") or b"").decode(), int(pid)):
            connection.delete(lock)


def _reconcile_rows(app: Flask, connection) -> tuple[list[str], list[str]]:  # noqa: ANN001
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RqJob
    from rq.job import JobStatus

    settled_before = utcnow() - timedelta(seconds=60)
    session = new_session(app, write=True)
    redispatched, failed = [], []
    try:
        rows = session.scalars(
            select(Job).where(
                Job.status.in_(("queued", "started", "retrying")), Job.created_at < settled_before
            )
        ).all()
        for row in rows:
            try:
                status = RqJob.fetch(row.id, connection=connection).get_status(refresh=False)
            except NoSuchJobError:
                status = None
            if status is None:
                redispatched.append(row.id)
            elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                row.status, row.finished_at = "failed", utcnow()
                row.error = row.error or "The worker running it stopped before it ended."
                failed.append(row.id)
        session.commit()
        for job_id in redispatched:
            row = session.get(Job, job_id)
            _rq_enqueue(app, connection, job_id, row.queue if row else "default")
    finally:
        session.close()
    return redispatched, failed


# Periodic work ----------------------------------------------------------------------------


def run_tick() -> list[str]:
    """rq entry point of the ticker: run the periodic functions that are due."""
    app = current_app._get_current_object()
    _dispose_engine_after_fork(app)
    return run_due_periodic(app, datetime.now(UTC))


@job("platform.tick")
def tick_job(ctx: JobContext) -> dict[str, Any]:
    """Run the periodic functions that are due (as a job with a row, when wanted)."""
    return {"ran": run_due_periodic(current_app._get_current_object(), datetime.now(UTC))}


def enqueue_tick(app: Flask, connection, now: float | None = None) -> bool:  # noqa: ANN001
    """Put one tick on the high queue for the current interval (once, however many workers
    call this); True if this call did."""
    every = tick_seconds(app)
    slot = int((now or time.time()) // every)
    marker = f"{app.config['QUEUE_NAME']}:tick:{slot}"
    if not connection.set(marker, "1", nx=True, ex=every * 3):
        return False
    rq_queues(app, connection, ("high",))[0].enqueue(
        "jizuo.platform.jobs.run_tick",
        job_id=f"{app.config['QUEUE_NAME']}-tick-{slot}",
        result_ttl=every * 6,
        failure_ttl=3600,
        job_timeout=max(60, every * 6),
        description="jizuo periodic tick",
    )
    return True


def tick_seconds(app: Flask) -> int:
    return max(1, int(app.config.get("TICK_SECONDS") or DEFAULT_TICK_SECONDS))


def start_ticker(app: Flask) -> threading.Event:
    """Enqueue a tick every ``TICK_SECONDS`` from a daemon thread (``jizuo worker``); set the
    returned event to stop it."""
    stop = threading.Event()
    connection = _redis(app)

    def loop() -> None:
        while True:
            try:
                enqueue_tick(app, connection)
            except Exception:  # noqa: BLE001 - Redis away: try again next time
                log.exception("could not enqueue the periodic tick")
            if stop.wait(tick_seconds(app)):
                return

    threading.Thread(target=loop, name="jizuo-ticker", daemon=True).start()
    return stop


def _sweep_periodically(app: Flask, _now: datetime) -> None:
    sweep_jobs(app)


register_periodic("platform.sweep_jobs", _sweep_periodically, every_seconds=60)
