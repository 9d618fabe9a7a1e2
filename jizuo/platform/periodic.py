"""Periodic work: functions run every so many seconds by the ``platform.tick`` job.

Modules register a function once, at import::

    register_periodic("automations.schedules", check_schedules, every_seconds=60)

``run_due_periodic(app, now)`` runs every registered function whose interval has passed
since its last run and returns their names. With Redis, each ``jizuo worker`` enqueues a
tick every ``TICK_SECONDS`` (one per interval however many workers run); without Redis,
``jizuo tick`` (from cron, or ``--every N`` to loop) calls it in-process. When each
function last ran is kept in Redis when there is one, so several workers agree, else in
a small locked file in the instance folder.

A function gets the app and the tick's time; it opens its own sessions and should be
quick and idempotent: a tick may run twice (two workers, a retried delivery).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask

log = logging.getLogger(__name__)

PeriodicFunction = Callable[[Flask, datetime], None]


@dataclass
class _Periodic:
    name: str
    fn: PeriodicFunction
    every_seconds: int


_PERIODIC: dict[str, _Periodic] = {}
_REDIS_PREFIX = "jizuo:periodic:last:"
_STATE_FILE = "periodic-state.json"


def register_periodic(name: str, fn: PeriodicFunction, every_seconds: int = 60) -> None:
    """Run ``fn(app, now)`` at most every ``every_seconds`` from the ``platform.tick`` job."""
    if every_seconds < 1:
        raise ValueError("every_seconds must be at least 1")
    if name in _PERIODIC and _PERIODIC[name].fn is not fn:
        raise ValueError(f"periodic function '{name}' is registered already")
    _PERIODIC[name] = _Periodic(name, fn, every_seconds)


def periodic_names() -> list[str]:
    """The registered periodic functions' names."""
    return sorted(_PERIODIC)


def run_due_periodic(app: Flask, now: datetime | None = None) -> list[str]:
    """Run every periodic function that is due at ``now``; return the names that ran.

    A function that raises is logged and tried again at the next tick; the others run
    regardless.
    """
    now = now or datetime.now(UTC)
    stamp = now.timestamp()
    redis = _redis(app)
    ran = []
    for item in sorted(_PERIODIC.values(), key=lambda p: p.name):
        if not _claim(app, redis, item, stamp):
            continue
        try:
            item.fn(app, now)
        except Exception:  # noqa: BLE001 - one failing function must not stop the others
            log.exception("periodic function %s failed", item.name)
            _release(app, redis, item)
            continue
        ran.append(item.name)
    return ran


def reset_periodic_state(app: Flask) -> None:
    """Forget when the functions last ran (tests, or to force a run at the next tick)."""
    redis = _redis(app)
    if redis is not None:
        for key in redis.scan_iter(f"{_REDIS_PREFIX}*"):
            redis.delete(key)
    path = os.path.join(app.instance_path, _STATE_FILE)
    if os.path.exists(path):
        os.remove(path)


def _redis(app: Flask):  # noqa: ANN202 - redis is an optional import
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url)


def _claim(app: Flask, redis, item: _Periodic, stamp: float) -> bool:  # noqa: ANN001
    """Take this interval's run of ``item``: True for exactly one caller per interval."""
    if redis is None:
        with _state_file(app) as state:
            last = state.get(item.name)
            # A clock set back (or a test's earlier ``now``) makes it due rather than stuck.
            if last is not None and 0 <= stamp - last < item.every_seconds:
                return False
            state[item.name] = stamp
            return True
    # SET NX with an expiry of the interval: the key exists while the function is not due.
    # Shave a little off so a tick every N seconds runs an N-second function every time.
    ttl_ms = max(1, int(item.every_seconds * 1000) - 500)
    return bool(redis.set(_REDIS_PREFIX + item.name, str(stamp), nx=True, px=ttl_ms))


def _release(app: Flask, redis, item: _Periodic) -> None:  # noqa: ANN001
    if redis is None:
        with _state_file(app) as state:
            state.pop(item.name, None)
    else:
        redis.delete(_REDIS_PREFIX + item.name)


class _state_file:  # noqa: N801 - used as a context manager
    """The last runs, read and written under an exclusive lock of the state file."""

    def __init__(self, app: Flask):
        os.makedirs(app.instance_path, exist_ok=True)
        self.path = os.path.join(app.instance_path, _STATE_FILE)

    def __enter__(self) -> dict[str, float]:
        self.handle = open(self.path, "a+")  # noqa: SIM115 - closed in __exit__
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        self.handle.seek(0)
        text = self.handle.read()
        try:
            self.state = json.loads(text) if text else {}
        except ValueError:
            self.state = {}
        return self.state

    def __exit__(self, *exc: object) -> None:
        try:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.write(json.dumps(self.state))
            self.handle.flush()
        finally:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
