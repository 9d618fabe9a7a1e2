"""Workspace administration of accounts: members, their roles and attributes, sign-in state.

Every function is for workspace admins and acts inside the admin's workspace only: a user
of another workspace is answered exactly like a missing one. Each change is noted in the
admin log (``admin_log``), never with a password.

An account's ``is_active`` flag and password are the user's own, not the workspace's, so
this workspace's admins may change them only for users who belong to no other workspace:
otherwise an admin could lock a stranger out elsewhere, or reset their password and sign
in as them there. Such users are removed from the workspace instead.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jizuo.platform.actor import ADMIN, Actor
from jizuo.platform.admin_log import log_admin_event
from jizuo.platform.auth import add_member, create_user, role_errors, set_password
from jizuo.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, error
from jizuo.platform.models import ApiToken, Membership, Role, User, Workspace, utcnow

ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Names the ``user`` variable of expressions already has (``Actor.expression_user``).
RESERVED_ATTRIBUTES = frozenset({"id", "username", "roles", "has_role"})
MAX_ATTRIBUTES_JSON = 20_000
TEMPORARY_PASSWORD_BYTES = 12  # 16 characters of token_urlsafe


@dataclass(frozen=True)
class MemberInfo:
    """One member of the workspace as the admin pages show it."""

    user_id: int
    username: str
    display_name: str
    email: str | None
    roles: list[str]
    attributes: dict[str, Any]
    active: bool
    must_change_password: bool


def _require_admin(actor: Actor) -> None:
    if not actor.has_role(ADMIN) or actor.read_only:
        raise PermissionDenied("Only workspace admins may manage accounts.")


def _info(user: User, membership: Membership) -> MemberInfo:
    return MemberInfo(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        roles=list(membership.roles or []),
        attributes=dict(membership.attributes or {}),
        active=bool(user.is_active),
        must_change_password=bool(user.must_change_password),
    )


def _pointer(key: str) -> str:
    return key[:64].replace("~", "~0").replace("/", "~1")


def attribute_errors(attributes: Any) -> list[dict[str, str]]:
    """What is wrong with a membership's attributes (nothing: an empty list).

    Row scopes read them as ``user.<name>``, so the names must be identifiers and may not
    shadow what ``user`` already means.
    """
    if not isinstance(attributes, dict):
        return [error("/attributes", 'give a JSON object, like {"suppliers": [12, 15]}')]
    errors = []
    for key in attributes:
        if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
            errors.append(
                error(
                    f"/attributes/{_pointer(str(key))}",
                    "names use lower-case letters, digits and _, starting with a letter",
                )
            )
        elif key in RESERVED_ATTRIBUTES:
            errors.append(error(f"/attributes/{key}", f"'{key}' is reserved: user.{key} exists"))
    try:
        text = json.dumps(attributes, allow_nan=False)
    except (TypeError, ValueError):
        errors.append(error("/attributes", "values must be JSON (text, numbers, lists…)"))
    else:
        if len(text) > MAX_ATTRIBUTES_JSON:
            errors.append(error("/attributes", f"at most {MAX_ATTRIBUTES_JSON} characters"))
    return errors


def _check_roles_and_attributes(
    session: Session, actor: Actor, roles: Any, attributes: Any
) -> list[str]:
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        errors = [error("/roles", "give a list of role keys")]
    else:
        errors = role_errors(session, actor.workspace_id, list(roles))
    errors += attribute_errors(attributes)
    if errors:
        raise ValidationFailed("The roles or attributes are not valid.", errors=errors)
    return sorted(set(roles))


def _member(session: Session, actor: Actor, user_id: Any) -> tuple[User, Membership]:
    """A user of the actor's workspace and their membership; NotFound for anyone else."""
    row = None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        row = session.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(User.id == user_id, Membership.workspace_id == actor.workspace_id)
        ).first()
    if row is None:
        raise NotFound(f"No user {user_id} in this workspace.")
    return row[0], row[1]


def _keep_an_admin(session: Session, workspace_id: int, user: User, membership: Membership) -> None:
    """Conflict if ``user`` is the workspace's last active admin (call before changing them).

    The memberships are locked (PostgreSQL), so two admins demoting each other at once
    cannot both succeed; SQLite serialises writers anyway.
    """
    if not (user.is_active and ADMIN in (membership.roles or [])):
        return
    rows = session.execute(
        select(Membership.user_id, Membership.roles, User.is_active)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id)
        .with_for_update(of=Membership)
    )
    if not any(r.user_id != user.id and r.is_active and ADMIN in (r.roles or []) for r in rows):
        raise Conflict(
            "The workspace must keep at least one active admin.",
            errors=[error("/roles", "make another member an admin first")],
        )


def _only_here(session: Session, user: User, workspace_id: int) -> None:
    """Conflict unless the user belongs to this workspace only (see the module docstring)."""
    elsewhere = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == user.id, Membership.workspace_id != workspace_id)
    )
    if elsewhere:
        raise Conflict(
            f"'{user.username}' also belongs to another workspace, so only they may change "
            "their account; remove them from this workspace instead."
        )


def list_members(session: Session, actor: Actor) -> list[MemberInfo]:
    """The users of the actor's workspace by username, with roles, attributes and state."""
    _require_admin(actor)
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == actor.workspace_id)
        .order_by(func.lower(User.username))
    )
    return [_info(user, membership) for user, membership in rows]


def list_roles(session: Session, actor: Actor) -> list[Role]:
    """The roles the workspace defined (the built-in ones are not stored), by key."""
    _require_admin(actor)
    return list(
        session.scalars(
            select(Role).where(Role.workspace_id == actor.workspace_id).order_by(Role.key)
        )
    )


def get_member(session: Session, actor: Actor, user_id: int) -> MemberInfo:
    """One member of the actor's workspace; NotFound for a user of another workspace."""
    _require_admin(actor)
    return _info(*_member(session, actor, user_id))


def create_account(
    session: Session,
    actor: Actor,
    username: str,
    display_name: str | None,
    email: str | None,
    roles: list[str],
    attributes: dict[str, Any] | None = None,
) -> tuple[User, str]:
    """Create an account in the admin's workspace with a temporary password.

    Returns the user and the password, which is stored hashed only: show it once. The
    user must choose a new one at the first sign-in. A username taken anywhere gets the
    same Conflict, whichever workspace holds it.
    """
    _require_admin(actor)
    clean_roles = _check_roles_and_attributes(session, actor, roles, attributes or {})
    password = secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)
    user = create_user(
        session,
        username,
        password,
        display_name or None,
        email=email or None,
        must_change_password=True,
    )
    workspace = session.get(Workspace, actor.workspace_id)
    add_member(session, user, workspace, clean_roles, dict(attributes or {}))
    detail = {"roles": clean_roles, "attributes": attributes or {}}
    log_admin_event(session, actor, "user.create", f"user:{user.username}", detail)
    session.flush()
    return user, password


def update_membership(
    session: Session, actor: Actor, user_id: int, roles: list[str], attributes: dict[str, Any]
) -> MemberInfo:
    """Replace a member's roles and attributes (the workspace keeps an active admin)."""
    _require_admin(actor)
    user, membership = _member(session, actor, user_id)
    clean_roles = _check_roles_and_attributes(session, actor, roles, attributes)
    if ADMIN not in clean_roles:
        _keep_an_admin(session, actor.workspace_id, user, membership)
    detail = {
        "roles": [list(membership.roles or []), clean_roles],
        "attributes": [dict(membership.attributes or {}), attributes],
    }
    membership.roles = clean_roles
    membership.attributes = dict(attributes)
    log_admin_event(session, actor, "user.update", f"user:{user.username}", detail)
    session.flush()
    return _info(user, membership)


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> MemberInfo:
    """Let a member sign in (and use their tokens) or stop them; ends their sessions."""
    _require_admin(actor)
    user, membership = _member(session, actor, user_id)
    if bool(active) == bool(user.is_active):
        return _info(user, membership)
    _only_here(session, user, actor.workspace_id)
    if not active:
        _keep_an_admin(session, actor.workspace_id, user, membership)
    user.is_active = bool(active)
    action = "user.activate" if active else "user.deactivate"
    log_admin_event(session, actor, action, f"user:{user.username}", {"active": bool(active)})
    session.flush()
    return _info(user, membership)


def reset_password(session: Session, actor: Actor, user_id: int) -> tuple[MemberInfo, str]:
    """Give a member a new temporary password (shown once; to be changed at sign-in).

    Their other sessions end. Admins change their own password on the account page.
    """
    _require_admin(actor)
    user, membership = _member(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict("Change your own password on the account page.")
    _only_here(session, user, actor.workspace_id)
    password = secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)
    set_password(user, password)
    user.must_change_password = True
    log_admin_event(session, actor, "user.reset_password", f"user:{user.username}")
    session.flush()
    return _info(user, membership), password


def remove_member(session: Session, actor: Actor, user_id: int) -> None:
    """Take a user out of the workspace: their membership goes and their tokens here are
    revoked. An account left in no workspace is deactivated, as nobody manages it now."""
    _require_admin(actor)
    user, membership = _member(session, actor, user_id)
    _keep_an_admin(session, actor.workspace_id, user, membership)
    roles = list(membership.roles or [])
    session.delete(membership)
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.workspace_id == actor.workspace_id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.flush()
    if not session.scalar(select(Membership.id).where(Membership.user_id == user.id).limit(1)):
        user.is_active = False
    log_admin_event(session, actor, "user.remove", f"user:{user.username}", {"roles": roles})
    session.flush()
