"""The ``jizuo`` command: set up, serve, run workers, upgrade and verify the database."""

from __future__ import annotations

import importlib
import json
import secrets
import sys
import time
from importlib import resources
from typing import Any

import click
from flask import Flask
from sqlalchemy import select

from jizuo import create_app
from jizuo.platform import catalog, jobs, publishing
from jizuo.platform.actor import ADMIN
from jizuo.platform.audit import verify_chain
from jizuo.platform.auth import add_member, create_user, system_actor
from jizuo.platform.db import engine_of, new_session
from jizuo.platform.definitions import publish_definition, save_draft_definition
from jizuo.platform.errors import JizuoError, NotFound
from jizuo.platform.models import Job, User, Workspace
from jizuo.platform.periodic import run_due_periodic
from jizuo.platform.permissions import define_role, save_app_permissions
from jizuo.platform.records import RecordStore
from jizuo.platform.schema import current_revision, upgrade_database
from jizuo.platform.tokens import issue_token

DEFAULT_WORKSPACE = "default"


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Jizuo (基座): a no-code platform for manufacturers.

    Settings come from JIZUO_* environment variables (JIZUO_DATABASE_URL, JIZUO_REDIS_URL,
    JIZUO_SECRET_KEY, JIZUO_STORAGE_DIR, JIZUO_INSTANCE_PATH).
    """
    ctx.obj = ctx.obj or {}


def _app(ctx: click.Context) -> Flask:
    if "app" not in ctx.obj:
        ctx.obj["app"] = create_app()
    return ctx.obj["app"]


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the database migrations shipped with this version."""
    engine = engine_of(_app(ctx))
    upgrade_database(engine)
    click.echo(f"database at revision {current_revision(engine)}")


def initialise(app: Flask, admin: str, password: str | None, workspace_key: str) -> dict[str, Any]:
    """Create or upgrade the database, the first workspace and its admin; return how to log in."""
    upgrade_database(engine_of(app))
    session = new_session(app, write=True)
    try:
        workspace = session.scalar(select(Workspace).where(Workspace.key == workspace_key))
        if workspace is None:
            workspace = catalog.create_workspace(
                session, workspace_key, {"en": "Default", "zh": "默认"}
            )
        user = session.scalar(select(User).where(User.username == admin))
        created_password = None
        if user is None:
            created_password = password or secrets.token_urlsafe(12)
            user = create_user(session, admin, created_password, "Administrator")
            add_member(session, user, workspace, [ADMIN])
        token = issue_token(session, user, workspace, "jizuo init")
        session.commit()
        return {
            "workspace": workspace.key,
            "user": admin,
            "password": created_password,
            "token": token,
        }
    finally:
        session.close()


def _print_login(info: dict[str, Any], url: str) -> None:
    click.echo(f"workspace: {info['workspace']}")
    if info["password"]:
        click.echo(f"admin user: {info['user']}  password: {info['password']}  (shown once)")
    else:
        click.echo(f"admin user: {info['user']} (exists; password unchanged)")
    click.echo(f"API token: {info['token']}  (shown once; stored hashed)")
    click.echo(f"try:  curl -H 'Authorization: Bearer {info['token']}' {url}/api/v1/apps")


@main.command()
@click.option("--admin", default="admin", show_default=True, help="Username of the first admin.")
@click.option("--password", default=None, help="Their password (default: generated, printed).")
@click.option("--workspace", default=DEFAULT_WORKSPACE, show_default=True)
@click.pass_context
def init(ctx: click.Context, admin: str, password: str | None, workspace: str) -> None:
    """Create/upgrade the database and the first admin, and print how to log in."""
    try:
        info = initialise(_app(ctx), admin, password, workspace)
    except JizuoError as exc:
        _fail(f"{exc.detail} {exc.errors or ''}")
    _print_login(info, "http://127.0.0.1:5000")


def install_demo(app: Flask, workspace_key: str) -> tuple[int, dict[str, str]]:
    """Install the sample apps, roles, permissions, users and records (once); return how many
    records were made and the sample users' passwords."""
    demo = json.loads(
        resources.files("jizuo.templates_library").joinpath("demo_app.json").read_text()
    )
    session = new_session(app)
    try:
        workspace = session.scalar(select(Workspace).where(Workspace.key == workspace_key))
        actor = system_actor(workspace)
        try:
            catalog.get_app(session, actor, demo["apps"][0]["key"])
            return 0, {}
        except NotFound:
            pass
        for app_def in demo["apps"]:
            catalog.create_app_definition(session, actor, app_def["key"], app_def["title"])
            for entity in app_def["entities"]:
                catalog.create_entity(session, actor, app_def["key"], entity)
                publishing.publish_entity(session, actor, app_def["key"], entity["key"])
        for role in demo["roles"]:
            define_role(session, actor, role["key"], role["title"], role["description"])
        for app_key, policy in demo["permissions"].items():
            save_app_permissions(session, actor, catalog.get_app(session, actor, app_key), policy)
        for kind in ("workflow", "automation", "report", "dashboard"):
            for item in demo[f"{kind}s"]:
                save_draft_definition(
                    session, actor, item["app"], kind, item["key"], item["definition"]
                )
                publish_definition(session, actor, item["app"], kind, item["key"])
        passwords = {}
        for person in demo["users"]:
            passwords[person["username"]] = secrets.token_urlsafe(12)
            user = create_user(
                session, person["username"], passwords[person["username"]], person["display_name"]
            )
            add_member(session, user, workspace, person["roles"])
        store = RecordStore(session, actor)
        made: dict[str, list[int]] = {}
        for row in demo["records"]:
            data = {k: _resolve(v, made) for k, v in row["data"].items()}
            app_key, entity_key = row["entity"].split(".")
            record = store.entity(app_key, entity_key).create(data, reason="demo data")
            made.setdefault(row["entity"], []).append(record.id)
        session.commit()
        return sum(len(ids) for ids in made.values()), passwords
    finally:
        session.close()


def _resolve(value: Any, made: dict[str, list[int]]) -> Any:
    """``"@erp.supplier#0"`` → the id of the first demo supplier."""
    if isinstance(value, str) and value.startswith("@"):
        ref, _, index = value[1:].partition("#")
        return made[ref][int(index)]
    return value


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web app (for production run it under gunicorn: 'jizuo:create_app()')."""
    _app(ctx).run(host=host, port=port, debug=False, use_reloader=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up only, do not start the server.")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, no_serve: bool) -> None:
    """Initialise the database, install the sample apps with data, and serve."""
    app = _app(ctx)
    info = initialise(app, "admin", None, DEFAULT_WORKSPACE)
    made, passwords = install_demo(app, DEFAULT_WORKSPACE)
    click.echo(f"sample apps installed ({made} records)" if made else "sample apps already there")
    _print_login(info, f"http://{host}:{port}")
    for username, password in passwords.items():
        click.echo(f"sample user: {username}  password: {password}  (shown once; hidden costs)")
    click.echo(f"records: {f'http://{host}:{port}'}/api/v1/apps/qms/entities/ncr/records")
    if not no_serve:
        app.run(host=host, port=port, debug=False, use_reloader=False)


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(jobs.QUEUES),
    help="Listen to this queue only (repeatable; default: high, default, low in that order).",
)
@click.option(
    "--import",
    "modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE first, for the jobs and periodic functions it registers (repeatable).",
)
@click.pass_context
def worker(
    ctx: click.Context, burst: bool, queues: tuple[str, ...], modules: tuple[str, ...]
) -> None:
    """Run an rq worker (with the scheduler, and the periodic tick) for the background jobs.

    At start it re-queues the jobs of workers on this machine that died mid-job.
    """
    app = _app(ctx)
    if not app.config.get("REDIS_URL"):
        _fail("JIZUO_REDIS_URL is not set: without Redis, jobs run in the web process.")
    for module in modules:
        importlib.import_module(module)
    from rq import Worker

    ordered = tuple(q for q in jobs.QUEUES if q in queues) or jobs.QUEUES
    with app.app_context():
        swept = jobs.sweep_jobs(app)
        if swept["requeued"]:
            click.echo(f"re-queued jobs of dead workers: {', '.join(swept['requeued'])}")
        connection = jobs._redis(app)
        stop = None if burst else jobs.start_ticker(app)
        try:
            Worker(jobs.rq_queues(app, connection, ordered), connection=connection).work(
                with_scheduler=True, burst=burst
            )
        finally:
            if stop is not None:
                stop.set()


@main.command()
@click.option("--every", type=int, default=None, help="Keep ticking every N seconds.")
@click.pass_context
def tick(ctx: click.Context, every: int | None) -> None:
    """Run the periodic functions that are due (without Redis: call it from cron, or --every)."""
    app = _app(ctx)
    with app.app_context():
        while True:
            ran = run_due_periodic(app)
            click.echo(f"ran: {', '.join(ran) if ran else 'nothing due'}")
            if not every:
                return
            time.sleep(every)


@main.group("jobs")
def jobs_group() -> None:
    """Background job commands."""


@jobs_group.command("retry")
@click.argument("job_id")
@click.pass_context
def jobs_retry(ctx: click.Context, job_id: str) -> None:
    """Run a failed job again from its first attempt."""
    app = _app(ctx)
    with app.app_context():
        session = new_session(app, write=True)
        try:
            row = session.get(Job, job_id)
            if row is None:
                _fail(f"no job {job_id}")
            try:
                jobs.requeue_failed(session, row)
            except JizuoError as exc:
                _fail(exc.detail)
            session.commit()
            session.expire_all()
            click.echo(f"job {job_id}: {session.get(Job, job_id).status}")
        finally:
            session.close()


@main.group()
def audit() -> None:
    """Audit trail commands."""


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Walk every workspace's hash chain and report the first broken entry."""
    session = new_session(_app(ctx))
    try:
        breaks = verify_chain(session)
    finally:
        session.close()
    if breaks:
        for b in breaks:
            click.echo(
                f"BROKEN: workspace {b.workspace_id}, entry {b.seq} (history id {b.history_id}): "
                f"{b.reason}",
                err=True,
            )
        sys.exit(1)
    click.echo("audit trail verified: every chain is intact")


# Registers ``jizuo user``, ``jizuo workspace`` and ``jizuo app`` on ``main``.
from jizuo import cli_accounts, cli_apps  # noqa: E402, F401
