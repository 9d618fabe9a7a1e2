"""Time-weighted control charts: EWMA and tabular CUSUM.

Part of :mod:`jizuo.qms_pack.spc`, which re-exports both charts; import them from there.
Both read individuals (1-D data, sigma = MR-bar/d2(2)) or subgroups (points are subgroup
means, sigma = R-bar/d2). Their plotted points are autocorrelated by construction, so only
"beyond the limits" (test 1) is run by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .constants import d2
from .errors import EmptyDataError, ParameterError, as_float_array, check_fraction, check_positive
from .nelson import Violation
from .spc_common import (
    Calibration,
    Params,
    Rules,
    _calibration_mask,
    _given_center,
    _given_sigma,
    _make_chart,
    _sigma_rbar,
    _xbar_common,
)
from .spc_results import Chart, CusumResult, EWMAResult

__all__ = ["ewma", "cusum"]


def _location_series(
    data: Any, subgroup: str, value: str, limits_from: Calibration, sigma: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Points (subgroup means or individuals), sizes, calibration mask and estimated sigma."""
    if isinstance(data, pd.Series | pd.DataFrame):
        is_1d = isinstance(data, pd.Series)
    else:
        try:
            is_1d = np.ndim(data) == 1
        except ValueError:  # ragged rows: subgroups of different sizes
            is_1d = False
    if is_1d:
        x = as_float_array(data, "values", ndim=1)
        n = np.ones(x.size)
        mask = _calibration_mask(limits_from, x.size)
        if sigma is None:
            xc = x[mask]
            if xc.size < 2:
                raise EmptyDataError("need at least 2 calibration values to estimate sigma")
            sigma = float(np.abs(np.diff(xc)).mean() / d2(2))
        return x, n, mask, sigma
    groups, mean, rng, _, mask = _xbar_common(data, subgroup, value, limits_from, "a range")
    if sigma is None:
        sigma = _sigma_rbar(rng[mask], groups.sizes[mask])
    return mean, groups.sizes.astype(float), mask, sigma


def ewma(
    data: Any,
    lam: float = 0.2,
    L: float = 3.0,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    start: float | None = None,
    rules: Rules = (1,),
    params: Params = None,
) -> EWMAResult:
    """EWMA chart z_i = lam x_i + (1-lam) z_(i-1), z_0 = start (default: center).

    ``data`` is 1-D (individuals; sigma = MR-bar/d2(2)) or subgroups as in :func:`xbar_r`
    (points are subgroup means; sigma = R-bar/d2). Limits are exact for every point:
    Var(z_i) = lam^2 sum_j (1-lam)^(2(i-j)) sigma^2/n_j, which for constant n is the textbook
    sigma^2/n lam/(2-lam) (1-(1-lam)^(2i)).
    """
    lam_f = check_fraction(lam, "lam")
    L_f = check_positive(L, "L")
    x, n, mask, sig = _location_series(data, subgroup, value, limits_from, sigma)
    if sigma is not None:
        sig = _given_sigma(sigma)
    assert sig is not None
    mu = float(np.sum(x[mask] * n[mask]) / np.sum(n[mask])) if center is None else center
    mu = _given_center(mu)
    z0 = mu if start is None else _given_center(start)
    a = 1.0 - lam_f
    # Both recursions are first-order linear filters, evaluated in C by lfilter.
    z = lfilter([lam_f], [1.0, -a], x, zi=[a * z0])[0]
    var = lfilter([lam_f**2], [1.0, -(a**2)], sig**2 / n, zi=[0.0])[0]
    chart = _make_chart("ewma", z, mu, np.sqrt(var), L_f, rules, (1,), params)
    return EWMAResult(chart, x, mu, sig, lam_f, L_f, n, int(mask.sum()))


def _lindley(y: np.ndarray, start: float) -> np.ndarray:
    """C_i = max(0, C_(i-1) + y_i), C_0 = start, in closed form S_i - min(-start, min S_j)."""
    s = np.cumsum(y)
    return s - np.minimum(np.minimum.accumulate(s), -start)


def cusum(
    data: Any,
    k: float = 0.5,
    h: float = 4.0,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    headstart: float = 0.0,
) -> CusumResult:
    """Tabular CUSUM of standardised points z_i = (x_i - center)/(sigma/sqrt(n_i)).

    Sums are in sigma units, as qcc reports them: C+_i = max(0, C+_(i-1) + z_i - k) and
    C-_i = max(0, C-_(i-1) - z_i - k), returned as ``upper`` = C+ and ``lower`` = -C- (below
    zero). ``k`` (reference value, half the shift to detect) and ``h`` (decision interval) are
    in sigma units; multiply the sums by sigma/sqrt(n) for original units. ``headstart`` is
    the fast-initial-response start value C_0 (also in sigma units). A violation (rule 1) is
    reported where C+ > h or C- > h. ``data`` is read as in :func:`ewma`.
    """
    k_f = check_positive(k, "k", allow_zero=True)
    h_f = check_positive(h, "h")
    h0 = check_positive(headstart, "headstart", allow_zero=True)
    x, n, mask, sig = _location_series(data, subgroup, value, limits_from, sigma)
    if sigma is not None:
        sig = _given_sigma(sigma)
    assert sig is not None
    if sig == 0:
        raise ParameterError("sigma is 0: the CUSUM cannot standardise the data")
    mu = float(np.sum(x[mask] * n[mask]) / np.sum(n[mask])) if center is None else center
    mu = _given_center(mu)
    z = (x - mu) / (sig / np.sqrt(n))
    upper = _lindley(z - k_f, h0)
    lower = 0.0 - _lindley(-z - k_f, h0)  # 0.0 - x avoids printing -0.0
    idx = np.arange(x.size)
    charts = []
    for name, pts, hit in (
        ("cusum_upper", upper, upper > h_f),
        ("cusum_lower", lower, lower < -h_f),
    ):
        text = f"CUSUM {name.split('_')[1]} sum beyond decision interval h={h_f:g}"
        viol = [Violation(1, int(i), text) for i in np.flatnonzero(hit).tolist()]
        ones = np.ones(x.size)
        charts.append(Chart(name, idx, pts, 0 * ones, h_f * ones, -h_f * ones, ones, (1,), viol))
    return CusumResult(charts[0], charts[1], mu, sig, k_f, h_f, h0, n, int(mask.sum()))
