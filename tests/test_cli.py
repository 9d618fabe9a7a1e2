"""The jizuo command."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from jizuo.cli import main

NCRS = "/api/v1/apps/qms/entities/ncr/records"


def test_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    for command in ("init", "serve", "demo", "worker", "db", "audit"):
        assert re.search(rf"^\s+{command}\s+\S", result.output, re.M), command


def test_init_then_demo_serves_records_through_the_api(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["init", "--password", "long enough pw"], obj={"app": app})
    assert first.exit_code == 0, first.output
    assert "admin user: admin" in first.output
    demo = runner.invoke(main, ["demo", "--no-serve"], obj={"app": app})
    assert demo.exit_code == 0, demo.output
    assert "sample apps installed (6 records)" in demo.output
    token = re.search(r"API token: (\S+)", demo.output).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    listing = client.get("/api/v1/apps/qms/entities/ncr/records", headers=headers).json
    assert len(listing["items"]) == 3
    assert {r["data"]["number"][-5:] for r in listing["items"]} == {"00001", "00002", "00003"}
    created = client.post(
        "/api/v1/apps/qms/entities/ncr/records",
        json={"lot_no": "L-9", "source": "iqc", "qty_rejected": 2, "unit_cost": 4.5},
        headers=headers,
    )
    assert created.status_code == 201 and created.json["data"]["cost"] == 9.0
    again = runner.invoke(main, ["demo", "--no-serve"], obj={"app": app})
    assert "sample apps already there" in again.output


def test_demo_inspector_signs_in_and_does_not_see_costs(app, client):
    from tests import factories

    demo = CliRunner().invoke(main, ["demo", "--no-serve"], obj={"app": app})
    password = re.search(r"sample user: inspector  password: (\S+)", demo.output).group(1)
    assert factories.login(client, "inspector", password).status_code == 302
    record = client.get("/api/v1/apps/qms/entities/ncr/records").json["items"][0]
    assert "unit_cost" not in record["data"] and "cost" not in record["data"]
    page = client.get(f"/apps/qms/ncr/{record['id']}").get_data(as_text=True)
    assert record["data"]["lot_no"] in page and "Unit cost" not in page and "unit_cost" not in page
    admin = app.test_client()
    admin_password = re.search(r"admin user: admin  password: (\S+)", demo.output).group(1)
    factories.login(admin, "admin", admin_password)
    assert "Unit cost" in admin.get(f"/apps/qms/ncr/{record['id']}").get_data(as_text=True)


def test_db_upgrade_is_idempotent(app):
    from jizuo.platform.schema import head_revision

    result = app.test_cli_runner().invoke(main, ["db", "upgrade"], obj={"app": app})
    assert result.exit_code == 0 and f"revision {head_revision()}" in result.output


def test_worker_without_redis_says_why(app):
    result = app.test_cli_runner().invoke(main, ["worker", "--burst"], obj={"app": app})
    assert result.exit_code == 1 and "JIZUO_REDIS_URL" in result.output


@pytest.mark.redis
def test_worker_runs_queued_jobs(app, session):
    from redis import Redis
    from rq import Queue

    from jizuo.platform.jobs import enqueue
    from jizuo.platform.models import Job
    from tests.conftest import REDIS_URL
    from tests.platform.test_jobs import CALLS  # registers test.count_workspaces

    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME="jizuo-cli-test")
    Queue("jizuo-cli-test", connection=Redis.from_url(REDIS_URL)).empty()
    job = enqueue(session, "test.count_workspaces", {"label": "worker"})
    session.commit()
    CALLS.clear()
    result = app.test_cli_runner().invoke(main, ["worker", "--burst"], obj={"app": app})
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(Job, job.id).status == "finished"


def _invoke(app, args, input=None):  # noqa: ANN001, ANN201, A002
    return app.test_cli_runner().invoke(main, args, obj={"app": app}, input=input)


def test_workspace_and_user_commands_create_working_accounts(app, session, client):
    from tests import factories

    assert _invoke(app, ["init", "--password", "first admin pw"]).exit_code == 0
    made = _invoke(app, ["workspace", "create", "plant2", "--title", "Plant 2", "--admin", "admin"])
    assert made.exit_code == 0, made.output
    created = _invoke(app, ["user", "create", "ann", "--workspace", "plant2", "--generate"])
    assert created.exit_code == 0, created.output
    temporary = created.output.split("temporary password: ")[1].split()[0]

    # The temporary password signs in, then insists on a new one.
    signed_in = factories.login(client, "ann", temporary)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/account/password"
    assert client.get("/").headers["Location"] == "/account/password"

    reset = _invoke(app, ["user", "set-password", "ann", "--password-stdin"], "a chosen password\n")
    assert reset.exit_code == 0, reset.output
    # The reset ended ann's session; the new password works and needs no change.
    assert client.get("/").status_code == 302
    assert factories.login(client, "ann", "a chosen password").headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_user_commands_refuse_bad_input_and_change_nothing(app, session):
    from jizuo.platform.models import User

    _invoke(app, ["init", "--password", "first admin pw"])
    unknown_ws = _invoke(app, ["user", "create", "bob", "--workspace", "nope", "--generate"])
    assert unknown_ws.exit_code == 1 and "no workspace 'nope'" in unknown_ws.output
    bad_role = _invoke(
        app, ["user", "create", "bob", "--workspace", "default", "--role", "boss", "--generate"]
    )
    assert bad_role.exit_code == 1 and "no role 'boss'" in bad_role.output
    short = _invoke(app, ["user", "set-password", "admin", "--password-stdin"], "short\n")
    assert short.exit_code == 1 and "10 to 1024 characters" in short.output
    missing = _invoke(
        app, ["user", "set-password", "ghost", "--password-stdin"], "long enough pw\n"
    )
    assert missing.exit_code == 1 and "no user 'ghost'" in missing.output
    taken = _invoke(app, ["workspace", "create", "default", "--title", "Again"])
    assert taken.exit_code == 1 and "exists already" in taken.output
    assert session.scalar(select(User).where(User.username == "bob")) is None


def test_demo_ncr_workflow_and_automation_run_end_to_end(app, client):
    from tests import factories

    demo = CliRunner().invoke(main, ["demo", "--no-serve"], obj={"app": app})
    inspector_pw = re.search(r"sample user: inspector  password: (\S+)", demo.output).group(1)
    admin_pw = re.search(r"admin user: admin  password: (\S+)", demo.output).group(1)
    token = re.search(r"API token: (\S+)", demo.output).group(1)
    admin = {"Authorization": f"Bearer {token}"}
    records = client.get(NCRS, headers=admin).json["items"]
    assert {r["state"] for r in records} == {"open"}
    ncr = records[0]

    factories.login(client, "inspector", inspector_pw)
    csrf = {"X-CSRFToken": factories.csrf_token(client, "/")}
    submitted = client.post(f"{NCRS}/{ncr['id']}/transitions/submit", json={}, headers=csrf)
    assert submitted.status_code == 200, submitted.json
    refused = client.post(f"{NCRS}/{ncr['id']}/transitions/close", json={}, headers=csrf)
    assert refused.status_code == 403  # inspectors may only submit

    closing = {
        "values": {"disposition": "return"},
        "comment": "supplier agreed to take the lot back",
        "signature": {"password": admin_pw, "meaning": "approved"},
    }
    wrong = {**closing, "signature": {"password": "not the password", "meaning": "approved"}}
    refused = client.post(f"{NCRS}/{ncr['id']}/transitions/close", json=wrong, headers=admin)
    assert refused.status_code == 422
    closed = client.post(f"{NCRS}/{ncr['id']}/transitions/close", json=closing, headers=admin)
    assert closed.status_code == 200 and closed.json["state"] == "closed"
    history = client.get(f"{NCRS}/{ncr['id']}/history", headers=admin).json["items"]
    assert history[-1]["diff"]["_signature"]["meaning"] == "approved"
    notes = client.get("/api/v1/notifications", headers=csrf).json["items"]
    assert any(ncr["data"]["number"] in n["text"] for n in notes)


def test_demo_ships_a_report_and_a_dashboard(app, client):
    from tests import factories

    demo = CliRunner().invoke(main, ["demo", "--no-serve"], obj={"app": app})
    password = re.search(r"sample user: inspector  password: (\S+)", demo.output).group(1)
    factories.login(client, "inspector", password)
    assert "/apps/qms/dashboards/quality" in client.get("/").get_data(as_text=True)
    assert "/apps/qms/reports/ncr_pareto" in client.get("/apps/qms/").get_data(as_text=True)
    report = client.get("/api/v1/apps/qms/reports/ncr_pareto").json
    assert report["totals"]["ncrs"] == 3 and report["chart"]["type"] == "pareto"
    page = client.get("/apps/qms/dashboards/quality").get_data(as_text=True)
    assert page.count('<p class="figure">') == 2 and "data-vega-spec" in page
    assert "Not available to you." not in page
