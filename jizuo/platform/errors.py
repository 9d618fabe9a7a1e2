"""The one error contract of the platform.

Services raise these; the API maps each to an ``application/problem+json``
response in one place (``jizuo.platform.api.problems``), so every caller —
view, CLI, job or test — sees the same errors.
"""

from __future__ import annotations

from typing import Any


class JizuoError(Exception):
    """Base of all domain errors; ``status`` is the HTTP status it maps to."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        problem: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            problem["errors"] = self.errors
        problem.update(self.extra)
        return problem


class BadRequest(JizuoError):
    """The request itself is malformed (not JSON, unknown query parameter…)."""

    status = 400
    title = "Bad request"


class AuthenticationRequired(JizuoError):
    status = 401
    title = "Authentication required"


class PermissionDenied(JizuoError):
    status = 403
    title = "Permission denied"


class NotFound(JizuoError):
    """Missing — or in another workspace, which is answered exactly the same way."""

    status = 404
    title = "Not found"


class Conflict(JizuoError):
    """The request clashes with the current state (duplicate key, record still referenced…)."""

    status = 409
    title = "Conflict"


class StaleVersion(JizuoError):
    """An update named a version that is no longer the current one."""

    status = 412
    title = "Precondition failed"


class PreconditionRequired(JizuoError):
    """An update came without the version it was based on (``If-Match``)."""

    status = 428
    title = "Precondition required"


class ValidationFailed(JizuoError):
    """Input violates the schema or the rules; ``errors`` holds every ``{path, message}``."""

    status = 422
    title = "Validation failed"


class IncompatibleChange(JizuoError):
    """Publishing would break existing records; ``report`` lists what and how many."""

    status = 409
    title = "Incompatible change"


class TooManyAttempts(JizuoError):
    """Too many failed attempts in a short time; try again later."""

    status = 429
    title = "Too many attempts"


def error(path: str, message: str, code: str = "invalid") -> dict[str, str]:
    """One entry of an ``errors`` list: a JSON pointer, a message and a machine-readable code."""
    return {"path": path, "message": message, "code": code}
