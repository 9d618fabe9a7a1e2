"""Which functions expressions may call: the curated ones, those registered, and the checks
on any other callable a caller passes in."""

from __future__ import annotations

import keyword
import threading
import types
from collections.abc import Callable
from typing import Any

from simpleeval import DISALLOW_FUNCTIONS, DISALLOW_METHODS

from .expression_functions import BUILTIN_FUNCTIONS

# The curated functions and those registered since; every evaluator reads this one dict.
functions: dict[str, Callable[..., Any]] = dict(BUILTIN_FUNCTIONS)
_registry_lock = threading.Lock()


def register_function(name: str, func: Callable[..., Any]) -> None:
    """Add a function to the language; built-in names and names starting with '_' are refused."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a valid function name")
    if name.startswith("_"):
        raise ValueError(f"function names may not start with '_': {name!r}")
    if name in BUILTIN_FUNCTIONS:
        raise ValueError(f"{name!r} is a built-in function of the expression language")
    problem = callable_problem(func)
    if problem:
        raise ValueError(f"cannot register {name!r}: {problem}")
    with _registry_lock:
        current = functions.get(name)
        if current is not None and current is not func:
            raise ValueError(f"a different function is already registered as {name!r}")
        functions[name] = func


def available_functions() -> frozenset[str]:
    """Names of the curated and registered functions (for editors and documentation)."""
    return frozenset(functions)


def callable_problem(func: Any) -> str | None:
    """Why a value may not be called from an expression, or None if it may."""
    if not callable(func):
        return "it is not callable"
    if isinstance(func, (type, types.ModuleType)):
        return "classes and modules cannot be called"
    try:
        forbidden = func in DISALLOW_FUNCTIONS
    except TypeError:  # unhashable callables cannot be in the set
        forbidden = False
    # C functions of a module (builtins.__import__, os.system, posix.*) are never meant for
    # expressions, whatever a caller put in names; nor is str.format, whose format strings
    # read attributes ('{0.__class__}').
    if (
        forbidden
        or isinstance(getattr(func, "__self__", None), types.ModuleType)
        or getattr(func, "__name__", None) in DISALLOW_METHODS
    ):
        return "this function is not allowed in expressions"
    return None


def method_hint(attr: str, owner: str, called: bool) -> str:
    """Message for reading or calling an attribute of a value that is not a mapping."""
    use = f"{attr}(value)" if attr in functions else None
    if called:
        advice = f": write {use} instead of value.{attr}()" if use else ""
        return f"{owner} have no methods{advice}"
    advice = f" (to compute it, write {use})" if use else ""
    return f"{owner} have no fields ('.{attr}'), only records (mappings) have{advice}"
