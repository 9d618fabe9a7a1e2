"""Attribute control charts: p, np, c and u.

Part of :mod:`jizuo.qms_pack.spc`, which re-exports every chart; import them from there.
Limits are center +/- nsigmas * sd of the plotted statistic with the lower limit floored at
0; the p and u charts get one pair of limits per subgroup when sizes vary. By default tests
1-4 are run (:data:`jizuo.qms_pack.nelson.ATTRIBUTE_RULES`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import (
    DataShapeError,
    ParameterError,
    as_count_array,
    as_float_array,
    check_defectives,
    check_fraction,
    check_positive,
)
from .nelson import ATTRIBUTE_RULES
from .spc_common import Calibration, Params, Rules, _calibration_mask, _make_chart, _nsigmas
from .spc_results import AttributeResult

__all__ = ["p_chart", "np_chart", "c_chart", "u_chart"]


def _sizes(sizes: Any, count: int, name: str) -> np.ndarray:
    arr = as_count_array(sizes, name, ndim=None)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != count):
        raise DataShapeError(f"{name}: give one size or {count} sizes, got shape {arr.shape}")
    return np.broadcast_to(arr, (count,)).astype(float)


def _proportion_inputs(
    defectives: Any, sizes: Any, limits_from: Calibration, p: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    d = as_count_array(defectives, "defectives")
    n = _sizes(sizes, d.size, "sizes")
    check_defectives(d, n)
    mask = _calibration_mask(limits_from, d.size)
    if p is None:
        pbar = float(d[mask].sum() / n[mask].sum())
    else:
        pbar = check_fraction(p, "p") if p != 0 else 0.0
    return d, n, mask, pbar


def p_chart(
    defectives: Any,
    sizes: Any,
    *,
    limits_from: Calibration = None,
    p: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Fraction nonconforming chart: p-bar = sum(D)/sum(n); limits vary with n, LCL >= 0."""
    L = _nsigmas(nsigmas)
    d, n, mask, pbar = _proportion_inputs(defectives, sizes, limits_from, p)
    sd = np.sqrt(pbar * (1.0 - pbar) / n)
    chart = _make_chart("p", d / n, pbar, sd, L, rules, ATTRIBUTE_RULES, params, floor=0.0)
    return AttributeResult("p", chart, pbar, n, int(mask.sum()))


def np_chart(
    defectives: Any,
    size: Any,
    *,
    limits_from: Calibration = None,
    p: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Number nonconforming chart: center n p-bar, sd sqrt(n p-bar (1 - p-bar)), LCL >= 0."""
    L = _nsigmas(nsigmas)
    d, n, mask, pbar = _proportion_inputs(defectives, size, limits_from, p)
    sd = np.sqrt(n * pbar * (1.0 - pbar))
    chart = _make_chart("np", d, n * pbar, sd, L, rules, ATTRIBUTE_RULES, params, floor=0.0)
    return AttributeResult("np", chart, pbar, n, int(mask.sum()))


def c_chart(
    counts: Any,
    *,
    limits_from: Calibration = None,
    c: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Nonconformities chart (constant inspection unit): center c-bar, sd sqrt(c-bar)."""
    L = _nsigmas(nsigmas)
    x = as_count_array(counts, "counts")
    mask = _calibration_mask(limits_from, x.size)
    cbar = float(x[mask].mean()) if c is None else check_positive(c, "c", allow_zero=True)
    chart = _make_chart("c", x, cbar, math.sqrt(cbar), L, rules, ATTRIBUTE_RULES, params, floor=0)
    return AttributeResult("c", chart, cbar, np.ones(x.size), int(mask.sum()))


def u_chart(
    counts: Any,
    units: Any,
    *,
    limits_from: Calibration = None,
    u: float | None = None,
    nsigmas: float = 3.0,
    rules: Rules = None,
    params: Params = None,
) -> AttributeResult:
    """Nonconformities per unit: u-bar = sum(c)/sum(units), sd sqrt(u-bar/units), LCL >= 0."""
    L = _nsigmas(nsigmas)
    x = as_count_array(counts, "counts")
    n = as_float_array(units, "units", ndim=(0, 1))
    if n.ndim == 1 and n.size != x.size:
        raise DataShapeError(f"units: give one value or {x.size} values, got {n.size}")
    if (n <= 0).any():
        i = int(np.flatnonzero(np.atleast_1d(n) <= 0)[0])
        raise ParameterError(f"units must be > 0 (inspection units), got {np.atleast_1d(n)[i]:g}")
    n = np.broadcast_to(n, x.shape).astype(float)
    mask = _calibration_mask(limits_from, x.size)
    ubar = (
        float(x[mask].sum() / n[mask].sum())
        if u is None
        else check_positive(u, "u", allow_zero=True)
    )
    chart = _make_chart(
        "u", x / n, ubar, np.sqrt(ubar / n), L, rules, ATTRIBUTE_RULES, params, floor=0.0
    )
    return AttributeResult("u", chart, ubar, n, int(mask.sum()))
