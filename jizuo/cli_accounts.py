"""``jizuo user …`` and ``jizuo workspace …``: accounts and tenants from the command line.

Passwords are never command-line arguments (other users of the machine can read those in
the process list): they are typed at a hidden prompt, read from stdin, or generated.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jizuo.cli import _app, _fail, main
from jizuo.platform import catalog
from jizuo.platform.auth import add_member, create_user, set_password
from jizuo.platform.db import new_session
from jizuo.platform.errors import JizuoError
from jizuo.platform.models import User, Workspace


def _password(from_stdin: bool, generate: bool) -> tuple[str, bool]:
    """The new password and whether it was generated (and so must be changed at sign-in)."""
    if generate:
        return secrets.token_urlsafe(12), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


@contextmanager
def _transaction(ctx: click.Context) -> Iterator[Session]:
    """A write session committed at the end; a refused input ends the command with its reason."""
    session = new_session(_app(ctx), write=True)
    try:
        yield session
        session.commit()
    except JizuoError as exc:
        session.rollback()
        details = "; ".join(f"{e['path']}: {e['message']}" for e in exc.errors)
        _fail(f"{exc.detail} {details}".strip())
    finally:
        session.close()


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("username")
@click.option("--workspace", "workspace_key", required=True, help="Workspace to join.")
@click.option("--role", "roles", multiple=True, default=("member",), show_default=True)
@click.option("--display-name", default=None)
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--generate", is_flag=True, help="Generate a temporary password, to change at first sign-in."
)
@click.pass_context
def user_create(
    ctx: click.Context,
    username: str,
    workspace_key: str,
    roles: tuple[str, ...],
    display_name: str | None,
    email: str | None,
    password_stdin: bool,
    generate: bool,
) -> None:
    """Create a user and make them a member of a workspace with the given roles."""
    with _transaction(ctx) as session:
        workspace = session.scalar(select(Workspace).where(Workspace.key == workspace_key))
        if workspace is None:
            _fail(f"no workspace '{workspace_key}'")
        password, temporary = _password(password_stdin, generate)
        account = create_user(
            session,
            username,
            password,
            display_name,
            email=email,
            must_change_password=temporary,
        )
        add_member(session, account, workspace, list(roles))
    click.echo(f"user '{username}' created in '{workspace_key}' with roles {', '.join(roles)}")
    if temporary:
        click.echo(f"temporary password: {password}  (shown once; to change at first sign-in)")


@user.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--generate", is_flag=True, help="Generate a temporary password, to change at first sign-in."
)
@click.pass_context
def user_set_password(
    ctx: click.Context, username: str, password_stdin: bool, generate: bool
) -> None:
    """Set a user's password (their open sessions end)."""
    with _transaction(ctx) as session:
        account = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if account is None:
            _fail(f"no user '{username}'")
        password, temporary = _password(password_stdin, generate)
        set_password(account, password)
        account.must_change_password = temporary
    click.echo(f"password of '{username}' set; their other sessions have ended")
    if temporary:
        click.echo(f"temporary password: {password}  (shown once; to change at first sign-in)")


@main.group()
def workspace() -> None:
    """Workspaces (tenants)."""


@workspace.command("create")
@click.argument("key")
@click.option("--title", required=True, help="English title.")
@click.option("--title-zh", default=None, help="Chinese title.")
@click.option("--admin", "admin_name", default=None, help="An existing user to make its admin.")
@click.pass_context
def workspace_create(
    ctx: click.Context, key: str, title: str, title_zh: str | None, admin_name: str | None
) -> None:
    """Create a workspace, optionally with an existing user as its admin."""
    with _transaction(ctx) as session:
        titles = {"en": title, **({"zh": title_zh} if title_zh else {})}
        created = catalog.create_workspace(session, key, titles)
        if admin_name:
            account = session.scalar(select(User).where(User.username == admin_name))
            if account is None:
                _fail(f"no user '{admin_name}'")
            add_member(session, account, created, ["admin"])
    click.echo(f"workspace '{key}' created" + (f" with admin '{admin_name}'" if admin_name else ""))
