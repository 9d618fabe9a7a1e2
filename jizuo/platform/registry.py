"""Extension points: named functions that metadata and the job queue may call.

Packs register their callables here (``register_pack_function``), so the platform
never imports a pack; jobs run only functions registered with ``job`` — a job row
can never name an arbitrary import path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_JOBS: dict[str, Callable[..., Any]] = {}
_PACK_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a background job function under ``name`` (decorator)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in _JOBS and _JOBS[name] is not func:
            raise ValueError(f"job '{name}' is registered already")
        _JOBS[name] = func
        return func

    return register


def job_function(name: str) -> Callable[..., Any]:
    """The job function registered under ``name``; KeyError names it if unknown."""
    try:
        return _JOBS[name]
    except KeyError:
        raise KeyError(f"no job function '{name}' is registered") from None


def register_pack_function(name: str, func: Callable[..., Any]) -> None:
    """Let metadata call ``func`` by ``name`` (``pack.function`` naming keeps packs apart)."""
    if "." not in name:
        raise ValueError(f"pack function '{name}' must be named 'pack.function'")
    if name in _PACK_FUNCTIONS and _PACK_FUNCTIONS[name] is not func:
        raise ValueError(f"pack function '{name}' is registered already")
    _PACK_FUNCTIONS[name] = func


def pack_function(name: str) -> Callable[..., Any]:
    """The pack function registered under ``name``; KeyError names it if unknown."""
    try:
        return _PACK_FUNCTIONS[name]
    except KeyError:
        raise KeyError(f"no pack function '{name}' is registered") from None


def pack_functions() -> list[str]:
    """The names of the registered pack functions, sorted (for the designer's choices)."""
    return sorted(_PACK_FUNCTIONS)
