"""``jizuo app …``: move an app between workspaces and installations as one JSON file."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from jizuo.cli import _app, _fail, main
from jizuo.cli_accounts import _transaction
from jizuo.designer.transfer import ON_CONFLICT, export_app, import_app
from jizuo.platform.auth import system_actor
from jizuo.platform.models import Workspace


def _workspace_actor(session, key: str):  # noqa: ANN001, ANN202
    workspace = session.scalar(select(Workspace).where(Workspace.key == key))
    if workspace is None:
        _fail(f"no workspace '{key}'")
    return system_actor(workspace)


@main.group("app")
def app_group() -> None:
    """Apps: export to a file, import from one."""


@app_group.command("export")
@click.argument("app_key")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), required=True)
@click.option("--workspace", "workspace_key", default="default", show_default=True)
@click.option("--records", is_flag=True, help="Include the app's records.")
@click.pass_context
def app_export(ctx: click.Context, app_key: str, output, workspace_key: str, records: bool) -> None:  # noqa: ANN001
    """Write APP_KEY (definitions, permissions, roles, optionally records) to a JSON file."""
    with _transaction(ctx) as session:
        document = export_app(
            session, _workspace_actor(session, workspace_key), app_key, records=records
        )
    json.dump(document, output, ensure_ascii=False, indent=1)
    click.echo(f"app '{app_key}' exported ({len(document['entities'])} entities)")


@app_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--workspace", "workspace_key", required=True)
@click.option("--on-conflict", type=click.Choice(ON_CONFLICT), default=None)
@click.option("--app-key", default=None, help="Import under this key.")
@click.option("--dry-run", is_flag=True, help="Only report the conflicts.")
@click.pass_context
def app_import(
    ctx: click.Context,
    file,  # noqa: ANN001
    workspace_key: str,
    on_conflict: str | None,
    app_key: str | None,
    dry_run: bool,
) -> None:
    """Import an app file into a workspace (all or nothing)."""
    _app(ctx)
    try:
        document = json.load(file)
    except ValueError as exc:
        _fail(f"the file is not JSON: {exc}")
    with _transaction(ctx) as session:
        report = import_app(
            session,
            _workspace_actor(session, workspace_key),
            document,
            on_conflict=on_conflict,
            app_key=app_key,
            dry_run=dry_run,
        )
        if dry_run:
            session.rollback()
    for conflict in report["conflicts"]:
        click.echo(f"conflict {conflict['code']}: {conflict['key']} ({conflict['path']})")
    verb = "would be imported" if dry_run else "imported"
    click.echo(f"app '{report['app']}' {verb} ({report['records']} records in the file)")
