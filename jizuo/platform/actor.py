"""Who is acting, in which workspace, with which roles — passed to every service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jizuo.platform.errors import PermissionDenied

#: Built-in roles; packs may add their own.
ADMIN, DESIGNER, MEMBER = "admin", "designer", "member"


@dataclass(frozen=True)
class Actor:
    """The authenticated user acting in one workspace (or the platform itself, user_id None)."""

    workspace_id: int
    user_id: int | None
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    read_only: bool = False
    #: Keys of the apps a token is limited to; None for every app of the workspace.
    app_keys: frozenset[str] | None = None
    #: The membership's attributes, read by row scopes as ``user.<name>``.
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: How many automations in a row led to what this actor does (bounds automation loops).
    depth: int = 0

    def may_use_app(self, key: str) -> bool:
        return self.app_keys is None or key in self.app_keys

    def has_role(self, role: str) -> bool:
        """Whether the actor holds ``role`` (admins hold every role)."""
        return role in self.roles or ADMIN in self.roles

    def require_design(self) -> None:
        """Only admins and designers change app definitions."""
        if self.read_only or not (self.has_role(DESIGNER)):
            raise PermissionDenied("Changing app definitions needs the designer or admin role.")

    def require_write(self) -> None:
        """Read-only tokens may not change data."""
        if self.read_only:
            raise PermissionDenied("This credential is read-only.")

    def expression_user(self) -> dict[str, Any]:
        """The ``user`` variable of expressions: the membership's attributes, then who it is."""
        return {
            **self.attributes,
            "id": self.user_id,
            "username": self.username,
            "roles": sorted(self.roles),
            "has_role": self.has_role,
        }
