"""Settings: defaults in code, overridden by ``JIZUO_*`` environment variables, then by the
``config`` mapping given to ``create_app`` (tests use that)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    "REDIS_URL": None,  # default: jobs run in-process after commit
    "SECRET_KEY": None,  # default: generated once and kept in the instance folder
    "STORAGE_DIR": None,  # default: <instance>/storage
    "MAX_ATTACHMENT_BYTES": 25 * 1024 * 1024,
    "QUEUE_NAME": "jizuo",
    "DEFAULT_PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 500,
    # Sign-in rate limit: failed attempts allowed per account / per address within the window.
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
    "LOGIN_WINDOW_SECONDS": 60,
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    "PROXY_COUNT": 0,
    "SESSION_COOKIE_SECURE": False,  # also Secure whenever a request arrives over HTTPS
    # Record exports of more rows than this run as a job; no export holds more than the max.
    "EXPORT_INLINE_ROWS": 5_000,
    "EXPORT_MAX_ROWS": 1_000_000,
}


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, the environment and ``overrides``, in that order."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("JIZUO")
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'jizuo.sqlite'}"
    if not app.config["STORAGE_DIR"]:
        app.config["STORAGE_DIR"] = str(instance / "storage")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _persistent_secret(instance / "secret_key")


def _persistent_secret(path: Path) -> str:
    """Read the instance's secret key, creating it on first run so sessions survive restarts."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    # Created with owner-only permissions: the key signs session cookies.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
