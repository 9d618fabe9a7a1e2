"""Shewhart control chart constants and AIAG Gage R&R constants, computed from their definitions.

Nothing here is typed in from a table: d2 and d3 (mean and standard deviation of the range of
n independent standard normal values) are obtained by numerical integration with
:func:`scipy.integrate.quad`, c4 from the gamma function, and every other constant from those
three. The results agree with the published tables (Montgomery, *Introduction to Statistical
Quality Control*, Appendix VI; ASTM MNL-7; CRAN SixSigma "Shewhart Constants") to the
precision they print; see ``tests/qms_pack/test_constants.py``.

Definitions (n = subgroup size, 3-sigma limits)::

    A  = 3/sqrt(n)                 A2 = 3/(d2 sqrt(n))          A3 = 3/(c4 sqrt(n))
    D1 = max(0, d2 - 3 d3)         D2 = d2 + 3 d3               (R chart, sigma known)
    D3 = max(0, 1 - 3 d3/d2)       D4 = 1 + 3 d3/d2             (R chart, sigma from R-bar)
    B3 = max(0, 1 - 3 sqrt(1-c4^2)/c4)   B4 = 1 + 3 sqrt(1-c4^2)/c4   (S chart, from S-bar)
    B5 = max(0, c4 - 3 sqrt(1-c4^2))     B6 = c4 + 3 sqrt(1-c4^2)     (S chart, sigma known)
    E2 = 3/d2                      (individuals chart with a moving range of span n; n=2 -> 2.660)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, overload

import numpy as np
import pandas as pd
from scipy import integrate
from scipy.special import gammaln

from .errors import SubgroupSizeError, check_min_size

__all__ = [
    "ChartConstants",
    "d2",
    "d3",
    "c4",
    "d2_star",
    "control_chart_constants",
    "constants_table",
    "aiag_k1",
    "aiag_k2",
    "aiag_k3",
]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# The standard normal density is below 1e-31 beyond |x| = 12, so the tails contribute nothing
# at double precision; finite limits let quad place its points where the mass is.
_X_LIM = 12.0
_QUAD_OPTS: dict[str, Any] = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 200}


def _phi(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def _sf(x: float) -> float:
    # 1 - Phi(x) via erfc keeps full relative precision in the upper tail.
    return 0.5 * math.erfc(x / _SQRT2)


def _check_n(n: Any, what: str = "subgroup size n") -> int:
    return check_min_size(n, 2, what)


@cache
def _d2_scalar(n: int) -> float:
    # E[R] = integral of P(max > x) - P(min > x) = integral of 1 - Phi(x)^n - (1 - Phi(x))^n.
    def integrand(x: float) -> float:
        return 1.0 - (1.0 - _sf(x)) ** n - _sf(x) ** n

    value, _ = integrate.quad(integrand, -_X_LIM, _X_LIM, points=[0.0], **_QUAD_OPTS)
    return value


def _range_sf(r: float, n: int) -> float:
    """P(R > r), range of n iid N(0,1): n * int phi(x) [(1-Phi(x))^(n-1) - P(x<X<x+r)^(n-1)] dx."""

    def integrand(x: float) -> float:
        s = _sf(x)
        return _phi(x) * (s ** (n - 1) - (s - _sf(x + r)) ** (n - 1))

    value, _ = integrate.quad(integrand, -_X_LIM, _X_LIM, **_QUAD_OPTS)
    return n * value


@cache
def _d3_scalar(n: int) -> float:
    # E[R^2] = 2 * int_0^inf r P(R > r) dr; the range of n normals is below 20 with probability
    # 1 - 1e-80 for any practical n, so the outer integral can stop there.
    second, _ = integrate.quad(lambda r: r * _range_sf(r, n), 0.0, 20.0, **_QUAD_OPTS)
    var = 2.0 * second - _d2_scalar(n) ** 2
    return math.sqrt(var)


def _c4_array(n: np.ndarray) -> np.ndarray:
    # gammaln avoids overflow of Gamma(n/2) for large n.
    return np.sqrt(2.0 / (n - 1.0)) * np.exp(gammaln(n / 2.0) - gammaln((n - 1.0) / 2.0))


def _as_n_array(n: Any) -> np.ndarray:
    arr = np.asarray(n)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise SubgroupSizeError(f"subgroup sizes must be whole numbers, got dtype {arr.dtype}")
    if arr.size and arr.min() < 2:
        i = int(np.flatnonzero(arr.reshape(-1) < 2)[0])
        raise SubgroupSizeError(
            f"subgroup size must be at least 2, got {arr.reshape(-1)[i]} at position {i}"
        )
    return arr


def _map_cached(func: Any, n: np.ndarray) -> np.ndarray:
    # Each distinct n is integrated once (and cached), then broadcast back to the input shape.
    uniq, inverse = np.unique(n, return_inverse=True)
    values = np.array([func(int(k)) for k in uniq], dtype=float)
    return values[inverse].reshape(n.shape)


@overload
def d2(n: int) -> float: ...
@overload
def d2(n: np.ndarray) -> np.ndarray: ...
def d2(n: Any) -> Any:
    """Mean range of n iid standard normal values (scalar n -> float, array of n -> ndarray)."""
    if np.ndim(n) == 0:
        return _d2_scalar(_check_n(n))
    return _map_cached(_d2_scalar, _as_n_array(n))


@overload
def d3(n: int) -> float: ...
@overload
def d3(n: np.ndarray) -> np.ndarray: ...
def d3(n: Any) -> Any:
    """Standard deviation of the range of n iid standard normal values (scalar or array n)."""
    if np.ndim(n) == 0:
        return _d3_scalar(_check_n(n))
    return _map_cached(_d3_scalar, _as_n_array(n))


@cache
def _c4_scalar(n: int) -> float:
    return float(_c4_array(np.float64(n)))


@overload
def c4(n: int) -> float: ...
@overload
def c4(n: np.ndarray) -> np.ndarray: ...
def c4(n: Any) -> Any:
    """E[s]/sigma for a sample of n normal values (scalar n -> float, array of n -> ndarray)."""
    if np.ndim(n) == 0:
        return _c4_scalar(_check_n(n))
    return _c4_array(_as_n_array(n).astype(float))


def d2_star(m: int, g: float = math.inf) -> float:
    """Duncan's d2* for the average of g ranges of size m: sqrt(d2^2 + d3^2/g) -> d2 as g grows.

    This is the second-moment (Patnaik) matching used by Duncan and the AIAG MSA manual: the
    average range R-bar/sigma is treated as d2* chi_nu/sqrt(nu), whose mean square
    E[(R-bar/sigma)^2] = d2^2 + d3^2/g fixes d2*. AIAG MSA 4th ed. Appendix C tabulates it.
    """
    m = _check_n(m, "range size m")
    if isinstance(g, bool) or not (g == math.inf or float(g).is_integer()) or g < 1:
        raise SubgroupSizeError(f"number of ranges g must be a whole number >= 1, got {g!r}")
    return math.sqrt(_d2_scalar(m) ** 2 + _d3_scalar(m) ** 2 / g)


def aiag_k1(trials: int) -> float:
    """AIAG MSA 4th ed. K1 (repeatability, average-and-range method) = 1/d2*(trials, g large)."""
    # AIAG takes g = operators x parts, always > 15 in a real study, where d2* equals d2.
    return 1.0 / d2_star(_check_n(trials, "number of trials"))


def aiag_k2(operators: int) -> float:
    """AIAG MSA 4th ed. K2 (reproducibility) = 1/d2*(operators, g=1)."""
    return 1.0 / d2_star(_check_n(operators, "number of operators"), 1)


def aiag_k3(parts: int) -> float:
    """AIAG MSA 4th ed. K3 (part variation) = 1/d2*(parts, g=1)."""
    return 1.0 / d2_star(_check_n(parts, "number of parts"), 1)


@dataclass(frozen=True)
class ChartConstants:
    """All Shewhart chart constants for one subgroup size n (see the module docstring)."""

    n: int
    d2: float
    d3: float
    c4: float
    A: float
    A2: float
    A3: float
    D1: float
    D2: float
    D3: float
    D4: float
    B3: float
    B4: float
    B5: float
    B6: float
    E2: float

    def to_dict(self) -> dict[str, float]:
        """Plain dict of the constants (JSON-serialisable)."""
        return asdict(self)


@cache
def _constants(n: int) -> ChartConstants:
    dd2, dd3, cc4 = _d2_scalar(n), _d3_scalar(n), _c4_scalar(n)
    root_n = math.sqrt(n)
    s_spread = 3.0 * math.sqrt(1.0 - cc4 * cc4)
    return ChartConstants(
        n=n,
        d2=dd2,
        d3=dd3,
        c4=cc4,
        A=3.0 / root_n,
        A2=3.0 / (dd2 * root_n),
        A3=3.0 / (cc4 * root_n),
        D1=max(0.0, dd2 - 3.0 * dd3),
        D2=dd2 + 3.0 * dd3,
        D3=max(0.0, 1.0 - 3.0 * dd3 / dd2),
        D4=1.0 + 3.0 * dd3 / dd2,
        B3=max(0.0, 1.0 - s_spread / cc4),
        B4=1.0 + s_spread / cc4,
        B5=max(0.0, cc4 - s_spread),
        B6=cc4 + s_spread,
        E2=3.0 / dd2,
    )


def control_chart_constants(n: int) -> ChartConstants:
    """Return every Shewhart constant for subgroup size n >= 2."""
    return _constants(_check_n(n))


def constants_table(n_max: int = 25, n_min: int = 2) -> pd.DataFrame:
    """Table of the constants for n = n_min..n_max, one row per n (column 'n' plus constants)."""
    n_min = _check_n(n_min, "n_min")
    n_max = check_min_size(n_max, n_min, "n_max")
    rows = [_constants(k).to_dict() for k in range(n_min, n_max + 1)]
    return pd.DataFrame(rows)
