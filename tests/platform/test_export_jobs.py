"""Large exports as jobs: in-process and through rq, progress, the stored file readable only
by its requester and admins, and the download link on the jobs pages."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from jizuo.platform.models import Attachment, Job
from tests import factories
from tests.conftest import REDIS_URL
from tests.plant import Plant

NCRS = "/api/v1/apps/qms/entities/ncr/records"


def _plant(session, app, n: int = 12) -> Plant:  # noqa: ANN001
    plant = Plant(session)
    for i in range(n):
        plant.ncr(lot_no=f"LOT-{i:03d}", source="iqc" if i % 3 else "oqc", qty_rejected=i)
    app.config["EXPORT_INLINE_ROWS"] = 5
    return plant


def _download(client, url: str, headers: dict | None = None) -> tuple[int, bytes]:  # noqa: ANN001
    """Status and bytes of a file download (the file is closed with the response)."""
    with client.get(url, headers=headers or {}) as response:
        return response.status_code, response.get_data()


def _sheet(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def test_a_large_export_is_a_job_whose_file_only_its_requester_and_admins_read(
    app, session, client
):
    plant = _plant(session, app)
    qe = plant.person("quinn", ("member",))
    answer = client.get(f"{NCRS}.xlsx?source=iqc&order_by=lot_no", headers=qe)
    assert answer.status_code == 202
    job = answer.json
    assert answer.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "platform.export_records" and job["queue"] == "low"
    # Without Redis it ran right after the request's commit.
    assert job["status"] == "finished" and job["progress"] == 100.0
    result = job["result"]
    assert result["rows"] == 8 and result["truncated"] is False
    assert result["filename"] == "qms-ncr.xlsx"
    status, data = _download(client, result["download"], qe)
    assert status == 200
    rows = _sheet(data)
    expected = sorted(f"LOT-{i:03d}" for i in range(12) if i % 3)
    assert [r[5] for r in rows[1:]] == expected
    assert [r[8] for r in rows[1:]] == [int(lot[-3:]) for lot in expected]  # qty_rejected
    # Another member gets a 404 for the file; an admin may read it.
    other = plant.person("olly", ("member",))
    assert _download(client, result["download"], other)[0] == 404
    admin = plant.person("ada", ("admin",))
    assert _download(client, result["download"], admin)[0] == 200
    # Another workspace sees neither the job nor the file.
    ws = factories.workspace(session, "elsewhere")
    user, _ = factories.member(session, ws, "eve", ("admin",))
    eve = {"Authorization": f"Bearer {factories.token(session, ws, user)}"}
    session.commit()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=eve).status_code == 404
    assert _download(client, result["download"], eve)[0] == 404


def test_small_exports_are_answered_at_once_and_the_threshold_is_configurable(app, session, client):
    plant = _plant(session, app, n=5)
    headers = plant.person("quinn", ("member",))
    answer = client.get(f"{NCRS}.csv", headers=headers)
    assert answer.status_code == 200 and answer.get_data(as_text=True).count("\n") == 6
    app.config["EXPORT_INLINE_ROWS"] = 4
    assert client.get(f"{NCRS}.csv", headers=headers).status_code == 202
    # A read-only token may download a small export but not have a file stored.
    read_only = factories.token(session, plant.ws, plant.admin_user, read_only=True)
    session.commit()
    refused = client.get(f"{NCRS}.csv", headers={"Authorization": f"Bearer {read_only}"})
    assert refused.status_code == 403


def test_the_export_cap_limits_the_rows_and_says_so(app, session, client):
    plant = _plant(session, app)
    app.config["EXPORT_MAX_ROWS"] = 7
    headers = plant.person("quinn", ("member",))
    result = client.get(f"{NCRS}.csv", headers=headers).json["result"]
    assert result["rows"] == 7 and result["truncated"] is True
    assert _download(client, result["download"], headers)[1].count(b"\n") == 8


def test_the_jobs_pages_link_the_file_for_its_requester_only(app, session):
    plant = _plant(session, app)
    browser = app.test_client()
    factories.login(browser, "root")
    started = browser.get("/apps/qms/ncr/export.xlsx?source=iqc")
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    page = browser.get(started.headers["Location"]).get_data(as_text=True)
    attachment = session.scalar(select(Attachment))
    link = f"/api/v1/attachments/{attachment.id}/content"
    assert "written in the background" in page and link in page
    assert "Download qms-ncr.xlsx" in page and "job_progress.js" not in page  # it has ended
    assert link in browser.get("/jobs").get_data(as_text=True)
    assert len(_sheet(_download(browser, link)[1])) == 9
    session.rollback()
    plant.person("mia", ("member",))
    member = app.test_client()
    factories.login(member, "mia")
    listing = member.get("/jobs").get_data(as_text=True)
    assert "platform.export_records" in listing and link not in listing


@pytest.mark.redis
def test_export_jobs_run_through_rq_on_the_low_queue_with_progress(app, session, client):
    from redis import Redis
    from rq import SimpleWorker

    from jizuo.platform import jobs

    plant = _plant(session, app, n=1200)
    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME="jizuo-test-exports")
    connection = Redis.from_url(REDIS_URL)
    low = jobs.rq_queues(app, connection, ("low",))[0]
    low.empty()
    headers = plant.person("quinn", ("member",))
    answer = client.get(f"{NCRS}.xlsx?order_by=lot_no", headers=headers)
    assert answer.status_code == 202 and answer.json["status"] == "queued"
    assert low.count == 1
    session.rollback()  # end the read before the worker writes (SQLite allows one writer)
    SimpleWorker([low], connection=connection).work(burst=True)
    row = session.get(Job, answer.json["id"])
    assert row.status == "finished" and row.progress == 100.0
    assert row.message == "1200 of 1200 records"
    rows = _sheet(_download(client, row.result["download"], headers)[1])
    assert [r[5] for r in rows[1:]] == sorted(f"LOT-{i:03d}" for i in range(1200))
