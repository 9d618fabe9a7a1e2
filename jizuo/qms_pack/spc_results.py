"""Result types shared by every control chart in :mod:`jizuo.qms_pack.spc`.

Each chart function returns one of these dataclasses; all of them serialise to plain JSON
(lists, floats, ``None`` for NaN) through ``to_dict()`` / ``to_json()``, and those holding
estimated process parameters expose them as ``limits`` for phase II charting.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from .nelson import Violation

__all__ = [
    "Chart",
    "XbarRResult",
    "XbarSResult",
    "IMRResult",
    "AttributeResult",
    "EWMAResult",
    "CusumResult",
]


def _jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy values and NaN into plain JSON types."""
    if isinstance(obj, Violation):
        return obj.to_dict()
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f" and not np.isfinite(obj).all():
            return [_jsonable(v) for v in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


class _Serialisable:
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (lists, floats, None for NaN) for JSON."""
        return _jsonable(self)

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


class _ProcessLimits:
    """Results whose phase-II limits come from a process center and sigma."""

    center: float
    sigma: float

    @property
    def limits(self) -> dict[str, float]:
        """Process parameters to pass back (``center=``, ``sigma=``) for phase II."""
        return {"center": self.center, "sigma": self.sigma}


@dataclass
class Chart(_Serialisable):
    """One plotted chart: per-point statistic, center line, limits and sd of the statistic."""

    name: str
    index: np.ndarray
    points: np.ndarray
    center: np.ndarray
    ucl: np.ndarray
    lcl: np.ndarray
    sigma: np.ndarray
    rules: tuple[int, ...] = ()
    violations: list[Violation] = field(default_factory=list)

    @property
    def beyond_limits(self) -> np.ndarray:
        """Positions (``index`` values) of points strictly outside the control limits."""
        return self.index[(self.points > self.ucl) | (self.points < self.lcl)]

    @property
    def flagged(self) -> np.ndarray:
        """Sorted unique positions failing any requested test."""
        return np.unique(np.array([v.index for v in self.violations], dtype=np.int64))


@dataclass
class XbarRResult(_ProcessLimits, _Serialisable):
    """X-bar and R charts; ``sigma`` is the within-subgroup process sd."""

    xbar: Chart
    r: Chart
    center: float
    sigma: float
    sigma_method: str
    sizes: np.ndarray
    labels: list[Any] | None
    n_calibration: int


@dataclass
class XbarSResult(_ProcessLimits, _Serialisable):
    """X-bar and S charts; ``sigma`` is the within-subgroup process sd."""

    xbar: Chart
    s: Chart
    center: float
    sigma: float
    sigma_method: str
    sizes: np.ndarray
    labels: list[Any] | None
    n_calibration: int


@dataclass
class IMRResult(_ProcessLimits, _Serialisable):
    """Individuals and moving-range charts."""

    i: Chart
    mr: Chart
    center: float
    sigma: float
    sigma_method: str
    mr_span: int
    n_calibration: int


@dataclass
class AttributeResult(_Serialisable):
    """A p, np, c or u chart; ``parameter`` is p-bar, c-bar or u-bar."""

    kind: str
    chart: Chart
    parameter: float
    sizes: np.ndarray
    n_calibration: int

    @property
    def limits(self) -> dict[str, float]:
        """Parameter to pass back (``p=``, ``c=`` or ``u=``) for phase II."""
        key = {"p": "p", "np": "p", "c": "c", "u": "u"}[self.kind]
        return {key: self.parameter}


@dataclass
class EWMAResult(_ProcessLimits, _Serialisable):
    """EWMA chart with exact time-varying limits."""

    chart: Chart
    statistic: np.ndarray
    center: float
    sigma: float
    lam: float
    L: float
    sizes: np.ndarray
    n_calibration: int


@dataclass
class CusumResult(_ProcessLimits, _Serialisable):
    """Tabular CUSUM in sigma units: ``upper`` >= 0, ``lower`` <= 0 (plotted below zero)."""

    upper: Chart
    lower: Chart
    center: float
    sigma: float
    k: float
    h: float
    headstart: float
    sizes: np.ndarray
    n_calibration: int

    @property
    def violations(self) -> list[Violation]:
        """Points where either sum crosses the decision interval, sorted by position."""
        return sorted(self.upper.violations + self.lower.violations, key=lambda v: v.index)
