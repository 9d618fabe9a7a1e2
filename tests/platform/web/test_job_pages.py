"""The jobs pages: list with status, progress and error; a job's page; retry with CSRF."""

from __future__ import annotations

import pytest

from jizuo.platform import registry
from jizuo.platform.jobs import enqueue
from jizuo.platform.models import Job
from tests import factories

BROKEN = {"on": True}


@registry.job("test.page_job")
def page_job(ctx, label: str) -> dict:
    ctx.progress(1, 4, "a quarter")
    if BROKEN["on"]:
        raise RuntimeError(f"{label} could not reach the printer")
    return {"printed": label}


@pytest.fixture
def site(app, session):
    app.config.update(JOB_MAX_ATTEMPTS=2, JOB_INPROCESS_RETRY_SECONDS=0)
    BROKEN["on"] = True
    ws = factories.workspace(session)
    alice, _ = factories.member(session, ws, "alice", ("admin",))
    bob, _ = factories.member(session, ws, "bob", ("member",))
    session.commit()
    failed = enqueue(session, "test.page_job", {"label": "L-1"}, workspace_id=ws.id)
    session.commit()
    mine = enqueue(
        session, "test.page_job", {"label": "L-2"}, workspace_id=ws.id, created_by=bob.id
    )
    session.commit()
    other_ws = factories.workspace(session, "other")
    hidden = enqueue(session, "test.page_job", {"label": "L-3"}, workspace_id=other_ws.id)
    session.commit()
    return {"failed": failed.id, "mine": mine.id, "hidden": hidden.id}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _status(session, job_id: str) -> str:
    session.expire_all()
    status = session.get(Job, job_id).status
    session.rollback()
    return status


def test_jobs_page_lists_the_workspaces_jobs(client, site):
    factories.login(client, "bob")
    page = client.get("/jobs")
    assert page.status_code == 200
    text = _text(page)
    assert "test.page_job" in text and "L-1 could not reach the printer" in text
    assert '<progress max="100" value="25.0">' in text
    assert site["hidden"] not in text
    # bob may retry the job he started, not the other one
    assert f"/jobs/{site['mine']}/retry" in text and f"/jobs/{site['failed']}/retry" not in text
    assert "<script" not in text and "style=" not in text
    assert site["failed"] not in _text(client.get("/jobs?status=finished"))
    assert client.get("/jobs?status=nonsense").status_code == 400


def test_job_page_shows_status_error_and_retry(client, site):
    factories.login(client, "alice")
    page = client.get(f"/jobs/{site['failed']}")
    text = _text(page)
    assert page.status_code == 200 and "failed" in text
    assert "RuntimeError: L-1 could not reach the printer" in text and "a quarter" in text
    assert f"/jobs/{site['failed']}/retry" in text
    assert client.get(f"/jobs/{site['hidden']}").status_code == 404


def test_retry_from_the_page_needs_csrf_and_runs_the_job_again(client, session, site):
    factories.login(client, "bob")
    url = f"/jobs/{site['mine']}/retry"
    assert client.post(url).status_code == 400  # no CSRF token
    assert (
        factories.post_form(client, f"/jobs/{site['failed']}/retry", {}, "/jobs").status_code == 403
    )
    BROKEN["on"] = False
    done = factories.post_form(client, url, {}, "/jobs")
    assert done.status_code == 302 and done.location.endswith(f"/jobs/{site['mine']}")
    assert _status(session, site["mine"]) == "finished"
    page = _text(client.get(f"/jobs/{site['mine']}"))
    assert "printed" in page and "The job was queued again." in page
    again = factories.post_form(client, url, {}, "/jobs")
    assert again.status_code == 302
    assert "Only failed jobs can be retried" in _text(client.get(again.location))


def test_jobs_pages_need_sign_in(client, site):
    assert client.get("/jobs").status_code == 302
    assert client.get(f"/jobs/{site['failed']}").status_code == 302
