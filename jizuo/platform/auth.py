"""Users, memberships and API tokens, and turning a request's credentials into an ``Actor``.

Passwords are hashed with scrypt (werkzeug); tokens are random 256-bit strings of
which only the SHA-256 is stored, shown once when issued.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.errors import (
    AuthenticationRequired,
    Conflict,
    NotFound,
    ValidationFailed,
    error,
)
from jizuo.platform.models import ApiToken, Membership, User, Workspace, utcnow

TOKEN_PREFIX = "jz_"
MIN_PASSWORD = 10


def create_user(
    session: Session, username: str, password: str | None, display_name: str | None = None
) -> User:
    """A new user account (a password of at least 10 characters, or none for token-only users)."""
    if not username or len(username) > 150 or username != username.strip():
        raise ValidationFailed("Invalid username.", errors=[error("/username", "1–150 characters")])
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"User '{username}' exists already.")
    user = User(username=username, display_name=display_name or username)
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Hash and store a new password."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            "Password too short.",
            errors=[error("/password", f"at least {MIN_PASSWORD} characters")],
        )
    user.password_hash = generate_password_hash(password, method="scrypt")


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is the user's."""
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def add_member(session: Session, user: User, workspace: Workspace, roles: list[str]) -> Membership:
    """Give a user roles in a workspace (replacing earlier ones)."""
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace.id
        )
    )
    if membership is None:
        membership = Membership(user_id=user.id, workspace_id=workspace.id, roles=[])
        session.add(membership)
    membership.roles = sorted(set(roles))
    session.flush()
    return membership


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user: User, workspace: Workspace, name: str, *, read_only: bool = False
) -> str:
    """Create an API token for a member; the plain token is returned once and never stored."""
    if not session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace.id
        )
    ):
        raise NotFound(f"'{user.username}' is not a member of '{workspace.key}'.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            workspace_id=workspace.id,
            name=name,
            token_hash=_digest(token),
            read_only=read_only,
        )
    )
    session.flush()
    return token


# Columns only, built once: this runs on every API call.
_TOKEN_LOOKUP = (
    select(
        ApiToken.id,
        ApiToken.workspace_id,
        ApiToken.read_only,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        User.id.label("user_id"),
        User.username,
        User.is_active,
        Membership.roles,
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
    )


def system_actor(workspace: Workspace) -> Actor:
    """The platform itself acting in a workspace (CLI set-up, pack installs)."""
    return Actor(
        workspace_id=workspace.id, user_id=None, username="system", roles=frozenset({ADMIN})
    )
