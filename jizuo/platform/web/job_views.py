"""Background jobs pages: the workspace's recent jobs, one job, and retrying a failed one."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.db import get_session
from jizuo.platform.errors import Conflict, NotFound, PermissionDenied
from jizuo.platform.jobs import FINAL, STATUSES, get_job, list_jobs, may_retry, retry_job
from jizuo.platform.models import Job
from jizuo.platform.security import MEMBER_RULE, access
from jizuo.platform.web.blueprints import auth


def download_link(job: Job, actor: Actor) -> str | None:
    """Where the file a finished job wrote (an export) is downloaded, for whoever may."""
    link = (job.result or {}).get("download") if job.status == "finished" else None
    if not isinstance(link, str) or not link.startswith("/api/v1/attachments/"):
        return None
    return link if actor.has_role(ADMIN) or job.created_by == actor.user_id else None


@auth.get("/jobs")
@access(MEMBER_RULE)
def jobs_page() -> str:
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        abort(400)
    rows = list_jobs(get_session(), g.actor.workspace_id, status=status, limit=100)
    return render_template(
        "jobs/list.html",
        rows=rows,
        status=status,
        statuses=STATUSES,
        can_retry={j.id for j in rows if j.status == "failed" and may_retry(g.actor, j)},
        downloads={j.id: download_link(j, g.actor) for j in rows},
    )


@auth.get("/jobs/<job_id>")
@access(MEMBER_RULE)
def job_page(job_id: str) -> str:
    job = get_job(get_session(), job_id, g.actor.workspace_id)
    if job is None:
        abort(404)
    return render_template(
        "jobs/detail.html",
        job=job,
        can_retry=job.status == "failed" and may_retry(g.actor, job),
        download=download_link(job, g.actor),
        running=job.status not in FINAL,
    )


@auth.post("/jobs/<job_id>/retry")
@access(MEMBER_RULE)
def retry_job_page(job_id: str) -> Response:
    session = get_session()
    try:
        retry_job(session, g.actor, job_id)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except Conflict as exc:
        session.rollback()
        flash(exc.detail)
        return redirect(url_for("auth.job_page", job_id=job_id))
    session.commit()
    flash(_("The job was queued again."))
    return redirect(url_for("auth.job_page", job_id=job_id))
