"""Background jobs: the workspace's recent jobs, one job's status, and retrying a failed job."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from jizuo.platform.api import api
from jizuo.platform.api.problems import page_limit
from jizuo.platform.api.serialize import job_json
from jizuo.platform.db import get_session
from jizuo.platform.errors import NotFound
from jizuo.platform.jobs import get_job, list_jobs, may_retry, retry_job
from jizuo.platform.models import Job


def job_body(job: Job) -> dict[str, Any]:
    """A job as the API shows it: ``job_json`` plus its queue, attempts, creator and
    whether the caller may retry it."""
    return {
        **job_json(job),
        "queue": job.queue,
        "attempts": job.attempts,
        "created_by": job.created_by,
        "can_retry": job.status == "failed" and may_retry(g.actor, job),
    }


@api.get("/jobs")
def list_workspace_jobs() -> Response:
    limit = page_limit(50, 500)
    rows = list_jobs(
        get_session(), g.actor.workspace_id, status=request.args.get("status"), limit=limit
    )
    return jsonify({"items": [job_body(j) for j in rows]})


@api.get("/jobs/<job_id>")
def job_status(job_id: str) -> Response:
    job = get_job(get_session(), job_id, g.actor.workspace_id)
    if job is None:
        raise NotFound(f"No job '{job_id}'.")
    return jsonify(job_body(job))


@api.post("/jobs/<job_id>/retry")
def retry(job_id: str) -> tuple[Response, int]:
    session = get_session()
    job = retry_job(session, g.actor, job_id)
    session.commit()  # dispatches the job (without Redis it runs now)
    session.refresh(job)
    return jsonify(job_body(job)), 202
