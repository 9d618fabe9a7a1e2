"""Statistical process control charts: X-bar/R, X-bar/S, I-MR, p, np, c, u, EWMA and CUSUM.

All charts are computed with vectorised numpy (no Python loop per point) and return plain
dataclasses that serialise to JSON through ``to_dict()`` / ``to_json()``.

Phase I / phase II. Every chart takes ``limits_from`` (a slice, boolean mask or integer
positions of the points used to estimate the limits; default: all points) and explicit
process parameters (``center=``/``sigma=`` for variables charts, ``p=``, ``c=``, ``u=`` for
attribute charts). Estimated parameters are returned in ``result.limits`` as a dict that can
be passed back as keyword arguments to chart new data against stored limits::

    phase1 = xbar_r(df, subgroup="sample", value="diameter", limits_from=slice(0, 25))
    later = xbar_r(new_df, subgroup="sample", value="diameter", **phase1.limits)

Tests for special causes are run on every chart (see :mod:`jizuo.qms_pack.nelson`); each
chart function takes ``rules=`` (the tests to run, ``()`` for none) and ``params=`` (their K
values). Defaults are the set Minitab makes available per chart (Minitab Support, "Using
tests for special causes"): all eight tests on the X-bar and individuals charts, tests 1-4 on
R, S, MR and attribute charts, and only "beyond the limits" on EWMA and CUSUM, whose plotted
points are autocorrelated by construction. Minitab itself runs only test 1 until more are
selected ("By default, Minitab uses only Test 1"); ``rules=(1,)`` (with ``r_rules``,
``s_rules`` or ``mr_rules=(1,)`` for the second chart) reproduces that. Test 1 uses the
chart's own sigma multiple ``nsigmas`` unless ``params`` sets it, so it always agrees with the
drawn limits.

Layout. This module is the public face: it defines the variables charts (X-bar/R, X-bar/S,
I-MR) and re-exports the rest, so every chart and result type is imported from here. The
attribute charts live in :mod:`.spc_attributes`, EWMA and CUSUM in :mod:`.spc_time_weighted`,
the result dataclasses in :mod:`.spc_results` and the shared parsing/limits machinery in
:mod:`.spc_common`; the dependencies run one way (results <- common <- chart modules <- spc).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .constants import c4, d2, d3
from .errors import EmptyDataError, ParameterError, SubgroupSizeError, as_float_array
from .nelson import ALL_RULES, ATTRIBUTE_RULES, NelsonParams, Violation, nelson_rules
from .spc_attributes import c_chart, np_chart, p_chart, u_chart
from .spc_common import (
    Calibration,
    Params,
    Rules,
    _calibration_mask,
    _given_center,
    _given_sigma,
    _grand_mean,
    _make_chart,
    _moving_range,
    _nsigmas,
    _sigma_pooled,
    _sigma_rbar,
    _sigma_sbar,
    _xbar_common,
)
from .spc_results import (
    AttributeResult,
    Chart,
    CusumResult,
    EWMAResult,
    IMRResult,
    XbarRResult,
    XbarSResult,
)
from .spc_time_weighted import cusum, ewma

__all__ = [
    "Chart",
    "XbarRResult",
    "XbarSResult",
    "IMRResult",
    "AttributeResult",
    "EWMAResult",
    "CusumResult",
    "Violation",
    "NelsonParams",
    "nelson_rules",
    "xbar_r",
    "xbar_s",
    "imr",
    "p_chart",
    "np_chart",
    "c_chart",
    "u_chart",
    "ewma",
    "cusum",
]

DISPERSION_RULES = ATTRIBUTE_RULES


# --------------------------------------------------------------------------- variables charts


def xbar_r(
    subgroups: Any,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    sigma_method: str = "rbar",
    nsigmas: float = 3.0,
    rules: Rules = None,
    r_rules: Rules = None,
    params: Params = None,
) -> XbarRResult:
    """X-bar and R charts; sigma = R-bar/d2 over the calibration subgroups.

    ``subgroups``: a 2-D array-like (one row per subgroup), a list of rows of different
    lengths, or a DataFrame in long form with columns ``subgroup`` and ``value`` (wide
    DataFrames are read row by row). With unequal sizes, ``sigma_method="rbar"`` (default)
    is Minitab's "Rbar" estimator sum(f_i R_i/d2(n_i))/sum(f_i), f_i = d2^2/d3^2 (qcc calls
    it "MVLUE-R"); ``"uwave"`` is the plain mean of R_i/d2(n_i) (qcc's default "UWAVE-R").
    The R chart has center d2*sigma and limits d2*sigma +/- nsigmas*d3*sigma (lower floored
    at 0), i.e. D3*R-bar and D4*R-bar for equal n.
    """
    L = _nsigmas(nsigmas)
    if sigma_method not in ("rbar", "uwave"):
        raise ParameterError(f"sigma_method must be 'rbar' or 'uwave', got {sigma_method!r}")
    groups, mean, rng, _, mask = _xbar_common(subgroups, subgroup, value, limits_from, "a range")
    n = groups.sizes
    mu = _grand_mean(mean, n, mask) if center is None else _given_center(center)
    if sigma is None:
        sig, method = _sigma_rbar(rng[mask], n[mask], sigma_method), sigma_method
    else:
        sig, method = _given_sigma(sigma), "given"
    xbar = _make_chart("xbar", mean, mu, sig / np.sqrt(n), L, rules, ALL_RULES, params)
    r = _make_chart(
        "r", rng, d2(n) * sig, d3(n) * sig, L, r_rules, DISPERSION_RULES, params, floor=0.0
    )
    return XbarRResult(xbar, r, mu, sig, method, n, groups.labels, int(mask.sum()))


def xbar_s(
    subgroups: Any,
    *,
    subgroup: str = "subgroup",
    value: str = "value",
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    sigma_method: str = "sbar",
    nsigmas: float = 3.0,
    rules: Rules = None,
    s_rules: Rules = None,
    params: Params = None,
) -> XbarSResult:
    """X-bar and S charts; limits vary with subgroup size.

    All estimators equal S-bar/c4 when sizes are equal. With unequal sizes:
    ``sigma_method="sbar"`` (default) is Minitab's "Sbar" estimator, the c4-weighted
    sum(h_i s_i/c4(n_i))/sum(h_i) with h_i = c4^2/(1-c4^2) (qcc: "MVLUE-SD"); ``"uwave"`` is
    the plain mean of s_i/c4(n_i) (qcc: "UWAVE-SD"); ``"pooled"`` is
    sqrt(sum((n_i-1)s_i^2)/sum(n_i-1)) / c4(sum(n_i-1)+1), Minitab's "Pooled standard
    deviation" (qcc: "RMSDF"). The S chart has center c4*sigma and limits
    c4*sigma +/- nsigmas*sigma*sqrt(1-c4^2), lower floored at 0.
    """
    L = _nsigmas(nsigmas)
    if sigma_method not in ("sbar", "uwave", "pooled"):
        raise ParameterError(
            f"sigma_method must be 'sbar', 'uwave' or 'pooled', got {sigma_method!r}"
        )
    groups, mean, _, sd, mask = _xbar_common(subgroups, subgroup, value, limits_from, "an sd")
    n = groups.sizes
    mu = _grand_mean(mean, n, mask) if center is None else _given_center(center)
    if sigma is not None:
        sig, method = _given_sigma(sigma), "given"
    elif sigma_method != "pooled":
        sig, method = _sigma_sbar(sd[mask], n[mask], sigma_method), sigma_method
    else:
        sig, method = _sigma_pooled(sd[mask], n[mask]), "pooled"
    cc4 = c4(n)
    xbar = _make_chart("xbar", mean, mu, sig / np.sqrt(n), L, rules, ALL_RULES, params)
    s = _make_chart(
        "s",
        sd,
        cc4 * sig,
        sig * np.sqrt(1.0 - cc4**2),
        L,
        s_rules,
        DISPERSION_RULES,
        params,
        floor=0.0,
    )
    return XbarSResult(xbar, s, mu, sig, method, n, groups.labels, int(mask.sum()))


def imr(
    values: Any,
    *,
    limits_from: Calibration = None,
    center: float | None = None,
    sigma: float | None = None,
    mr_span: int = 2,
    nsigmas: float = 3.0,
    rules: Rules = None,
    mr_rules: Rules = None,
    params: Params = None,
) -> IMRResult:
    """Individuals and moving-range charts; sigma = MR-bar/d2(mr_span) over the calibration.

    Moving ranges for the estimate are taken between consecutive *calibration* points, so
    excluding a point (boolean ``limits_from``) joins its neighbours, as qcc does. The MR chart
    plots ranges of ``mr_span`` consecutive points, indexed from position ``mr_span - 1``.
    """
    L = _nsigmas(nsigmas)
    if isinstance(mr_span, bool) or not isinstance(mr_span, int) or mr_span < 2:
        raise SubgroupSizeError(f"mr_span must be a whole number >= 2, got {mr_span!r}")
    x = as_float_array(values, "values", ndim=1)
    if x.size < mr_span:
        raise EmptyDataError(f"need at least {mr_span} values for a moving range, got {x.size}")
    mask = _calibration_mask(limits_from, x.size)
    xc = x[mask]
    mu = float(xc.mean()) if center is None else _given_center(center)
    if sigma is None:
        if xc.size < mr_span:
            raise EmptyDataError(
                f"limits_from selects {xc.size} value(s); a moving range needs {mr_span}"
            )
        sig, method = float(_moving_range(xc, mr_span).mean() / d2(mr_span)), "mrbar"
    else:
        sig, method = _given_sigma(sigma), "given"
    i_chart = _make_chart("i", x, mu, sig, L, rules, ALL_RULES, params)
    mr = _moving_range(x, mr_span)
    mr_chart = _make_chart(
        "mr",
        mr,
        d2(mr_span) * sig,
        d3(mr_span) * sig,
        L,
        mr_rules,
        DISPERSION_RULES,
        params,
        floor=0.0,
        index=np.arange(mr_span - 1, x.size),
    )
    return IMRResult(i_chart, mr_chart, mu, sig, method, mr_span, int(mask.sum()))
