"""Users, passwords, memberships and sign-in, and turning a signed-in user into an ``Actor``.

Passwords are hashed with scrypt (werkzeug). Sign-in is rate limited per account and per
address from a table of recent failures, so every web node sees the same counts; an
unknown name costs the same hashing time as a wrong password and gets the same message,
so neither the answer nor its timing tells which accounts exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.errors import Conflict, TooManyAttempts, ValidationFailed, error
from jizuo.platform.models import LoginFailure, Membership, Role, User, Workspace, utcnow
from jizuo.platform.permissions import BUILTIN_ROLES

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # hashing a megabyte-long "password" is a denial of service


def create_user(
    session: Session,
    username: str,
    password: str | None,
    display_name: str | None = None,
    *,
    email: str | None = None,
    must_change_password: bool = False,
) -> User:
    """A new user account (a password of at least 10 characters, or none for token-only users)."""
    if not isinstance(username, str) or not username or len(username) > 150:
        raise ValidationFailed("Invalid username.", errors=[error("/username", "1–150 characters")])
    if username != username.strip() or any(c.isspace() for c in username):
        raise ValidationFailed("Invalid username.", errors=[error("/username", "no spaces")])
    if session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"User '{username}' exists already.", errors=[error("/username", "taken")])
    if email is not None and (len(email) > 320 or "@" not in email):
        raise ValidationFailed("Invalid e-mail address.", errors=[error("/email", email[:50])])
    user = User(username=username, display_name=(display_name or username)[:200], email=email)
    if password is not None:
        set_password(user, password)
    user.must_change_password = must_change_password
    session.add(user)
    session.flush()
    return user


def password_errors(password: Any) -> list[dict[str, str]]:
    """What is wrong with a new password (nothing: an empty list)."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return [error("/password", f"use {MIN_PASSWORD} to {MAX_PASSWORD} characters")]
    return []


def set_password(user: User, password: str) -> None:
    """Hash and store a new password; the user's other login sessions end."""
    errors = password_errors(password)
    if errors:
        raise ValidationFailed("The password is too short or too long.", errors=errors)
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.must_change_password = False
    user.session_epoch = (user.session_epoch or 0) + 1


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is the user's."""
    if not user.password_hash or not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return False
    return check_password_hash(user.password_hash, password)


def change_password(user: User, current: str, new: str) -> None:
    """The user's own password change: the current password first."""
    if not check_password(user, current):
        raise ValidationFailed(
            "The current password is wrong.", errors=[error("/current", "wrong password")]
        )
    if current == new:
        raise ValidationFailed(
            "Choose a new password.", errors=[error("/password", "same as the current one")]
        )
    set_password(user, new)


# -- memberships ------------------------------------------------------------------------


def role_errors(session: Session, workspace_id: int, roles: list[str]) -> list[dict[str, str]]:
    """Roles the workspace does not have (built-in or defined)."""
    defined = set(session.scalars(select(Role.key).where(Role.workspace_id == workspace_id)))
    known = set(BUILTIN_ROLES) | defined
    return [error("/roles", f"no role '{r}'") for r in roles if r not in known]


def add_member(
    session: Session,
    user: User,
    workspace: Workspace,
    roles: list[str],
    attributes: dict[str, Any] | None = None,
) -> Membership:
    """Give a user roles (and optionally attributes) in a workspace, replacing earlier ones."""
    errors = role_errors(session, workspace.id, list(roles))
    if errors:
        raise ValidationFailed("Unknown role.", errors=errors)
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace.id
        )
    )
    if membership is None:
        membership = Membership(user_id=user.id, workspace_id=workspace.id, roles=[], attributes={})
        session.add(membership)
    membership.roles = sorted(set(roles))
    if attributes is not None:
        membership.attributes = attributes
    session.flush()
    return membership


def member_actor(session: Session, user_id: int, workspace_id: int) -> Actor | None:
    """The actor of a signed-in user in one workspace (None: not an active member there)."""
    row = session.execute(
        select(User.username, User.is_active, Membership.roles, Membership.attributes)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.workspace_id == workspace_id)
    ).first()
    if row is None or not row.is_active:
        return None
    return Actor(
        workspace_id=workspace_id,
        user_id=user_id,
        username=row.username,
        roles=frozenset(row.roles),
        attributes=row.attributes or {},
    )


def user_workspaces(session: Session, user_id: int) -> list[Workspace]:
    """The workspaces a user belongs to, by key."""
    return list(
        session.scalars(
            select(Workspace)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.key)
        )
    )


def system_actor(workspace: Workspace) -> Actor:
    """The platform itself acting in a workspace (CLI set-up, pack installs)."""
    return Actor(
        workspace_id=workspace.id, user_id=None, username="system", roles=frozenset({ADMIN})
    )


# -- sign-in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginLimits:
    """At most ``per_account`` / ``per_address`` failed sign-ins within ``window_seconds``."""

    per_account: int = 5
    per_address: int = 30
    window_seconds: int = 60


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    # Checked against when the account does not exist, so that costs the same time.
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def _failure_keys(username: str, address: str) -> tuple[str, str]:
    return f"account:{username.strip().lower()[:300]}", f"address:{address[:300]}"


def attempt_login(
    session: Session, username: str, password: str, address: str, limits: LoginLimits
) -> User | None:
    """The user if the credentials are right, else None (the failure is recorded: commit it).

    Raises TooManyAttempts, without looking at the password, when the account or the
    address has failed too often within the window.
    """
    now = utcnow()
    since = now - timedelta(seconds=limits.window_seconds)
    account_key, address_key = _failure_keys(username, address)
    counts = dict(
        session.execute(
            select(LoginFailure.key, func.count())
            .where(LoginFailure.key.in_([account_key, address_key]), LoginFailure.at >= since)
            .group_by(LoginFailure.key)
        ).all()
    )
    if (
        counts.get(account_key, 0) >= limits.per_account
        or counts.get(address_key, 0) >= limits.per_address
    ):
        raise TooManyAttempts(
            "Too many failed sign-ins. Wait a minute, then try again.",
            retry_after=limits.window_seconds,
        )
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None or not user.password_hash:
        check_password_hash(_decoy_hash(), password[:MAX_PASSWORD])
        ok = False
    else:
        ok = check_password(user, password) and user.is_active
    if ok:
        session.execute(delete(LoginFailure).where(LoginFailure.key == account_key))
        return user
    # Only the last window's failures matter, so the table stays as small as an attack is fast.
    session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    session.add_all([LoginFailure(key=account_key, at=now), LoginFailure(key=address_key, at=now)])
    session.flush()
    return None
