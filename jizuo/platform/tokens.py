"""API tokens for integrations (ERP, MES and CRM connectors, scripts).

A token belongs to a user and one workspace, may be read-only and limited to some apps,
and acts with its user's roles there. It is a random 256-bit string shown once when
issued; only its SHA-256 is stored, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.admin_log import log_admin_event
from jizuo.platform.errors import AuthenticationRequired, NotFound, ValidationFailed, error
from jizuo.platform.models import ApiToken, App, Membership, User, Workspace, utcnow

TOKEN_PREFIX = "jz_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    user: User,
    workspace: Workspace,
    name: str,
    *,
    read_only: bool = False,
    app_keys: list[str] | None = None,
) -> str:
    """Create an API token for a member; the plain token is returned once and never stored."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationFailed("Name the token.", errors=[error("/name", "1–200 characters")])
    if not session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace.id
        )
    ):
        raise NotFound(f"'{user.username}' is not a member of '{workspace.key}'.")
    if app_keys is not None:
        known = set(session.scalars(select(App.key).where(App.workspace_id == workspace.id)))
        unknown = sorted(set(app_keys) - known)
        if unknown:
            raise ValidationFailed(
                "Unknown app.", errors=[error("/apps", f"no app '{k}'") for k in unknown]
            )
        app_keys = sorted(set(app_keys))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            workspace_id=workspace.id,
            name=name.strip(),
            token_hash=_digest(token),
            read_only=read_only,
            app_keys=app_keys,
        )
    )
    session.flush()
    return token


def list_tokens(session: Session, actor: Actor, *, every_user: bool = False) -> list[Any]:
    """The actor's tokens in its workspace (an admin may ask for every member's), newest first."""
    query = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.workspace_id == actor.workspace_id)
        .order_by(ApiToken.id.desc())
    )
    if not (every_user and actor.has_role(ADMIN)):
        query = query.where(ApiToken.user_id == actor.user_id)
    return list(session.execute(query))


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the actor's tokens (admins: any token of the workspace)."""
    token = session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if (
        token is None
        or token.workspace_id != actor.workspace_id
        or (token.user_id != actor.user_id and not actor.has_role(ADMIN))
    ):
        raise NotFound(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        log_admin_event(session, actor, "token.revoke", f"token:{token.id}", {"name": token.name})
    session.flush()
    return token


# Columns only, built once: this runs on every API call.
_TOKEN_LOOKUP = (
    select(
        ApiToken.id,
        ApiToken.workspace_id,
        ApiToken.read_only,
        ApiToken.app_keys,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        User.id.label("user_id"),
        User.username,
        User.is_active,
        Membership.roles,
        Membership.attributes,
    )
    .join(User, User.id == ApiToken.user_id)
    .join(
        Membership,
        (Membership.user_id == ApiToken.user_id)
        & (Membership.workspace_id == ApiToken.workspace_id),
    )
    .where(ApiToken.token_hash == bindparam("digest"))
)


def actor_from_token(session: Session, token: str) -> Actor:
    """The actor a bearer token stands for; one generic 401 for any bad token.

    A changed last-used time is flagged in ``session.info["token_used"]`` for the
    caller to commit.
    """
    row = session.execute(_TOKEN_LOOKUP, {"digest": _digest(token)}).first()
    if row is None or row.revoked_at is not None or not row.is_active:
        raise AuthenticationRequired("The token is not valid.")
    now = utcnow()
    last = row.last_used_at
    # Written at most once a minute: a write per API call would serialise readers on SQLite.
    if last is None or now - last.replace(tzinfo=now.tzinfo) > timedelta(minutes=1):
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        session.info["token_used"] = True
    return Actor(
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        username=row.username,
        roles=frozenset(row.roles),
        read_only=row.read_only,
        app_keys=None if row.app_keys is None else frozenset(row.app_keys),
        attributes=row.attributes or {},
    )
